"""Workflow secrets: named values a subscription's steps reference as `{{ secrets.NAME }}` (spec Part 7
`data.secrets`), kept with KMS envelope encryption and never shown again.

Sealing (`seal`/`unseal`): KMS `GenerateDataKey` (AES-256) under the environment's key
(`Settings.workflow_secrets_key_id`) with the encryption context `{"tenant_id", "subscription_id", "name"}`;
the value is encrypted locally with AES-256-GCM under that data key (a random 96-bit nonce, the same context
as associated data); only the wrapped data key, the nonce and the ciphertext are stored. Opening needs KMS
`Decrypt` with the same context, so a row moved to another name, subscription or tenant does not open.

The API (`GET /v1/subscriptions/{id}/secrets`, `PUT`/`DELETE …/secrets/{name}`) shows a secret's name,
creation, rotation times and last use, never its value. `PUT` on an existing name replaces the value (a
rotation: a new data key, the time appended to `rotations`). The subscription's capability
`workflowAdvanced.detail.data.secrets` bounds them: `enabled: false` refuses them, `maxSecrets` caps the count.
The step worker reads the values a step references (`resolve`), stamping `last_used_at`.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from cmp.capabilities.models import ProductCapabilities
from cmp.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from cmp.ports import Clock, IdGenerator

if TYPE_CHECKING:
    from cmp.workflows.ports import WorkflowUnitOfWorkFactory

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
MAX_VALUE_BYTES = 8192


class KeyService(Protocol):
    """KMS data keys (`cmp.aws.kms.DataKeys`)."""

    def generate(self, key_id: str, context: dict[str, str]) -> tuple[bytes, bytes]: ...

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes: ...


@dataclass
class WorkflowSecret:
    """One sealed secret (a `workflow_secrets` row); `rotations` holds ISO times of each replacement."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    name: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes
    rotations: list[str] = field(default_factory=list)
    last_used_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def context(self) -> dict[str, str]:
        return {
            "tenant_id": str(self.tenant_id),
            "subscription_id": str(self.subscription_id),
            "name": self.name,
        }


def _aad(context: dict[str, str]) -> bytes:
    return "\n".join(f"{k}={context[k]}" for k in sorted(context)).encode()


def seal(keys: KeyService, key_id: str, context: dict[str, str], value: str) -> tuple[bytes, bytes, bytes]:
    """`value` sealed as (wrapped data key, nonce, ciphertext) under `key_id`, bound to `context`."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    plaintext_key, wrapped = keys.generate(key_id, context)
    nonce = os.urandom(12)
    return wrapped, nonce, AESGCM(plaintext_key).encrypt(nonce, value.encode(), _aad(context))


def unseal(keys: KeyService, secret: WorkflowSecret) -> str:
    """The value of `secret`; raises `cmp.aws.kms.KeyRefused` or `cryptography.exceptions.InvalidTag` when
    the stored bytes or their context were changed."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = keys.unwrap(secret.wrapped_key, secret.context)
    return AESGCM(key).decrypt(secret.nonce, secret.ciphertext, _aad(secret.context)).decode()


def secret_view(secret: WorkflowSecret) -> dict[str, Any]:
    """What the API shows of a secret: never the value."""
    return {
        "name": secret.name,
        "created_at": secret.created_at,
        "rotated_at": secret.rotations[-1] if secret.rotations else None,
        "rotations": list(secret.rotations),
        "last_used_at": secret.last_used_at,
    }


class WorkflowSecrets:
    """A subscription's workflow secrets (see the module docstring)."""

    def __init__(
        self,
        uow: WorkflowUnitOfWorkFactory,
        keys: KeyService,
        key_id: Callable[[], str],
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._keys = keys
        self._key_id = key_id
        self._clock = clock
        self._ids = ids

    def list(self, tenant_id: str, subscription_id: uuid.UUID) -> list[dict[str, Any]]:
        """The subscription's secrets by name (`secret_view`); raises NotFound for a subscription the tenant
        does not hold."""
        with self._uow(tenant_id) as uow:
            uow.subscriptions.get(subscription_id)
            return [secret_view(s) for s in uow.workflow_secrets.for_subscription(subscription_id)]

    def put(
        self, tenant_id: str, subscription_id: uuid.UUID, name: str, value: object
    ) -> tuple[dict[str, Any], bool]:
        """Create the secret `name` or replace its value (a rotation); returns (`secret_view`, created).
        Raises ValidationFailed (bad name or value), Forbidden (secrets disabled for the product), Conflict
        (the product's `maxSecrets` reached), NotFound."""
        if not NAME.fullmatch(name):
            raise ValidationFailed(
                "The secret is not valid",
                errors=[FieldError("path.name", "expected a letter then letters, digits or _ (at most 64)")],
            )
        if not isinstance(value, str) or not 0 < len(value.encode()) <= MAX_VALUE_BYTES:
            raise ValidationFailed(
                "The secret is not valid",
                errors=[FieldError("value", f"expected text of 1 to {MAX_VALUE_BYTES} bytes")],
            )
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(subscription_id)
            limits = _limits(subscription.capabilities)
            existing = uow.workflow_secrets.named(subscription_id, [name], for_update=True)
            now = self._clock.now()
            if existing:
                secret = existing[0]
                secret.rotations = [*secret.rotations, now.isoformat()]
            else:
                if limits is None:
                    raise Forbidden("workflow secrets are disabled for this product (data.secrets.enabled)")
                if len(uow.workflow_secrets.for_subscription(subscription_id)) >= limits:
                    raise Conflict(f"this product allows at most {limits} secrets (data.secrets.maxSecrets)")
                secret = WorkflowSecret(
                    self._ids.new_id(), uuid.UUID(tenant_id), subscription_id, name, b"", b"", b""
                )
            secret.wrapped_key, secret.nonce, secret.ciphertext = seal(
                self._keys, self._key_id(), secret.context, value
            )
            uow.workflow_secrets.save(secret)
            [saved] = uow.workflow_secrets.named(subscription_id, [name])
            uow.commit()
            return secret_view(saved), not existing

    def delete(self, tenant_id: str, subscription_id: uuid.UUID, name: str) -> None:
        """Forget the secret; raises NotFound (no such secret or subscription)."""
        with self._uow(tenant_id) as uow:
            uow.subscriptions.get(subscription_id)
            found = uow.workflow_secrets.named(subscription_id, [name], for_update=True)
            if not found:
                raise NotFound(f"no secret {name!r}")
            uow.workflow_secrets.delete(found[0].id)
            uow.commit()

    def resolve(self, tenant_id: str, subscription_id: uuid.UUID, names: Iterable[str]) -> dict[str, str]:
        """The values of `names` (each stamped as used now); raises NotFound naming the first missing one."""
        wanted = sorted(set(names))
        if not wanted:
            return {}
        with self._uow(tenant_id) as uow:
            found = {s.name: s for s in uow.workflow_secrets.named(subscription_id, wanted)}
            missing = [n for n in wanted if n not in found]
            if missing:
                raise NotFound(f"no workflow secret {missing[0]!r} on this subscription")
            values = {name: self._open(secret) for name, secret in found.items()}
            uow.workflow_secrets.mark_used([s.id for s in found.values()], self._clock.now())
            uow.commit()
            return values

    def _open(self, secret: WorkflowSecret) -> str:
        from cryptography.exceptions import InvalidTag

        from cmp.aws.kms import KeyRefused

        try:
            return unseal(self._keys, secret)
        except (KeyRefused, InvalidTag) as e:
            raise NotFound(f"workflow secret {secret.name!r} cannot be opened any more; set it again") from e


def _limits(capabilities: dict[str, Any]) -> int | None:
    """How many secrets the product allows; None when secrets are disabled."""
    detail = ProductCapabilities.from_document(capabilities).configuration.workflow_advanced.detail
    if detail is None:
        return 20
    secrets = detail.data.secrets
    return None if secrets.enabled is False else secrets.max_secrets
