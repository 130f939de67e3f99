"""Workflow secrets without I/O: envelope sealing bound to its context (a fake KMS that wraps by XOR and
checks the context), redaction of secret values from step output, and the names a node references."""

from __future__ import annotations

import uuid

import pytest
from cryptography.exceptions import InvalidTag

from cmp.aws.kms import KeyRefused
from cmp.workflows.masking import redact
from cmp.workflows.secrets import WorkflowSecret, seal, unseal
from cmp.workflows.worker import secret_names

MASTER = bytes(range(32))


class FakeKms:
    """Wraps a random data key by XOR with MASTER, prefixed with the context it was made for."""

    def __init__(self) -> None:
        self.generated = 0

    def generate(self, key_id: str, context: dict[str, str]) -> tuple[bytes, bytes]:
        import os

        self.generated += 1
        key = os.urandom(32)
        return key, repr(sorted(context.items())).encode() + b"|" + bytes(
            a ^ b for a, b in zip(key, MASTER, strict=True)
        )

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        bound, body = wrapped[:-32], wrapped[-32:]
        if bound != repr(sorted(context.items())).encode() + b"|":
            raise KeyRefused("InvalidCiphertextException")
        return bytes(a ^ b for a, b in zip(body, MASTER, strict=True))


def _secret(name: str, value: str, kms: FakeKms) -> WorkflowSecret:
    secret = WorkflowSecret(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), name, b"", b"", b"")
    secret.wrapped_key, secret.nonce, secret.ciphertext = seal(kms, "key", secret.context, value)
    return secret


def test_a_sealed_value_opens_and_is_not_stored_in_clear() -> None:
    kms = FakeKms()
    secret = _secret("SHOP_KEY", "s3cr3t-value", kms)
    assert b"s3cr3t-value" not in secret.ciphertext + secret.wrapped_key
    assert unseal(kms, secret) == "s3cr3t-value"
    assert _secret("SHOP_KEY", "s3cr3t-value", kms).ciphertext != secret.ciphertext


def test_a_sealed_value_moved_to_another_name_does_not_open() -> None:
    kms = FakeKms()
    secret = _secret("SHOP_KEY", "s3cr3t-value", kms)
    secret.name = "OTHER"
    with pytest.raises(KeyRefused):
        unseal(kms, secret)


def test_tampered_ciphertext_does_not_open() -> None:
    kms = FakeKms()
    secret = _secret("SHOP_KEY", "s3cr3t-value", kms)
    secret.ciphertext = bytes([secret.ciphertext[0] ^ 1]) + secret.ciphertext[1:]
    with pytest.raises(InvalidTag):
        unseal(kms, secret)


def test_redact_hides_secret_values_in_strings_and_keys_only() -> None:
    output = {"echo": "Bearer tok-123 ok", "tok-123": [1, "x tok-123"], "n": 5, "a": "ab"}
    assert redact(output, ["tok-123", "ab"]) == {
        "echo": "Bearer *** ok",
        "***": [1, "x ***"],
        "n": 5,
        "a": "ab",
    }
    assert redact(output, []) is output


def test_secret_names_are_the_secrets_references_of_a_config() -> None:
    config = {
        "url": "https://x.test/?k={{ secrets.SHOP_KEY }}",
        "auth": {"type": "bearer", "token": "{{secrets.TOKEN}}"},
        "body": ["{{ input.a }}", "{{ secrets.SHOP_KEY }}"],
    }
    assert secret_names(config) == ["SHOP_KEY", "TOKEN"]
