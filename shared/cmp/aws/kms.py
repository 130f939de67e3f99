"""KMS data keys for envelope encryption (`cmp.workflows.secrets`): a fresh 256-bit key per value, returned
in clear (to encrypt locally, then forgotten) and wrapped by the environment's KMS key (to store)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cmp.aws.adapters import AwsUnavailable
from cmp.aws.clients import client as default_client


class KeyRefused(RuntimeError):
    """KMS would not unwrap a data key: wrong encryption context, another key, or tampered bytes."""


class DataKeys:
    """`GenerateDataKey` / `Decrypt` with an encryption context (AWS KMS, or moto locally)."""

    def __init__(self, kms: Any = None) -> None:
        self._kms = kms

    @property
    def _client(self) -> Any:
        return self._kms or default_client("kms")

    def generate(self, key_id: str, context: dict[str, str]) -> tuple[bytes, bytes]:
        """A new AES-256 data key as (plaintext, wrapped by `key_id`); raises AwsUnavailable."""
        try:
            out = self._client.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
        except (ClientError, BotoCoreError) as e:
            raise AwsUnavailable("KMS could not generate a data key") from e
        return bytes(out["Plaintext"]), bytes(out["CiphertextBlob"])

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        """The plaintext of a wrapped data key; raises KeyRefused when KMS refuses it (context or bytes do
        not match), AwsUnavailable when KMS cannot be reached."""
        try:
            out = self._client.decrypt(CiphertextBlob=wrapped, EncryptionContext=context)
        except ClientError as e:
            if e.response["Error"]["Code"] in ("InvalidCiphertextException", "IncorrectKeyException"):
                raise KeyRefused(e.response["Error"]["Code"]) from e
            raise AwsUnavailable("KMS could not decrypt a data key") from e
        except BotoCoreError as e:
            raise AwsUnavailable("KMS could not decrypt a data key") from e
        return bytes(out["Plaintext"])
