"""`cmp.aws.clients`: where each client points, per `CMP_AWS` (no request is sent: endpoints and presigned
URLs are computed locally)."""

from __future__ import annotations

import pytest

from cmp.aws.clients import aws_mode, localstack_edge, new_client
from cmp_dev.local.stack import LocalStack, Moto

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CMP_AWS", "AWS_ENDPOINT_URL", "LOCALSTACK_HOST", "USE_SSL", "USE_LEGACY_PORTS"):
        monkeypatch.delenv(name, raising=False)


def test_moto_is_the_default_and_reads_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert aws_mode() == "moto"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # else boto3 asks the instance metadata service
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")
    sqs = new_client("sqs", region="eu-west-1")
    assert sqs.meta.endpoint_url == "http://127.0.0.1:5999"
    assert sqs.meta.region_name == "eu-west-1"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert new_client("sqs", region="eu-west-1").meta.endpoint_url == "https://sqs.eu-west-1.amazonaws.com"


def test_an_unknown_mode_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMP_AWS", "aws-cloud")
    with pytest.raises(ValueError, match="CMP_AWS='aws-cloud'"):
        new_client("sqs")


def test_localstack_clients_come_from_localstack_client_at_its_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMP_AWS", "localstack")
    assert localstack_edge() == "http://localhost:4566"
    monkeypatch.setenv("LOCALSTACK_HOST", "ls.example:4510")
    for service in ("sqs", "s3", "secretsmanager", "stepfunctions", "scheduler", "events", "iam"):
        assert new_client(service).meta.endpoint_url == "http://ls.example:4510", service
    # A service localstack-client has no entry for still goes to the edge, which serves them all.
    assert new_client("bedrock-runtime").meta.endpoint_url == "http://ls.example:4510"
    # An explicit endpoint (the stack's) replaces LOCALSTACK_HOST; USE_SSL switches to https.
    assert new_client("sqs", "http://127.0.0.1:4600").meta.endpoint_url == "http://127.0.0.1:4600"
    monkeypatch.setenv("USE_SSL", "true")
    assert new_client("sqs").meta.endpoint_url == "https://ls.example:4510"


def test_localstack_s3_is_path_style(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMP_AWS", "localstack")
    monkeypatch.setenv("LOCALSTACK_HOST", "127.0.0.1:4566")
    s3 = new_client("s3")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "cmp-local-assets", "Key": "a/b.txt"})
    assert url.startswith("http://127.0.0.1:4566/cmp-local-assets/a/b.txt?")
    post = s3.generate_presigned_post("cmp-local-assets", "k")
    assert post["url"] == "http://127.0.0.1:4566/cmp-local-assets"


def test_localstack_credentials_come_from_the_environment_or_default_to_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CMP_AWS", "localstack")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    assert new_client("sqs")._request_signer._credentials.access_key == "test"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "123456789012")
    assert new_client("sqs")._request_signer._credentials.access_key == "123456789012"
    given = new_client("sqs", credentials=("000000000042", "x"))
    assert given._request_signer._credentials.access_key == "000000000042"


def test_the_function_variables_of_each_mode() -> None:
    assert Moto("http://127.0.0.1:5000").environment() == {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}
    assert LocalStack("http://127.0.0.1:4566").environment() == {
        "CMP_AWS": "localstack",
        "LOCALSTACK_HOST": "127.0.0.1:4566",
    }
    assert LocalStack("https://ls.example:443").environment()["USE_SSL"] == "true"
