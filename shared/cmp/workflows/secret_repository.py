"""The `workflow_secrets` SQL of the unit of work's (buyer) tenant (`uow.workflow_secrets`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from cmp.db.session import Session
from cmp.workflows.secrets import WorkflowSecret

_COLUMNS = (
    "id, tenant_id, subscription_id, name, wrapped_key, nonce, ciphertext, rotations, last_used_at, "
    "created_at, updated_at"
)


def _secret(row: dict[str, Any]) -> WorkflowSecret:
    return WorkflowSecret(
        row["id"],
        row["tenant_id"],
        row["subscription_id"],
        row["name"],
        bytes(row["wrapped_key"]),
        bytes(row["nonce"]),
        bytes(row["ciphertext"]),
        list(row["rotations"]),
        row["last_used_at"],
        row["created_at"],
        row["updated_at"],
    )


class SecretRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def for_subscription(self, subscription_id: uuid.UUID) -> list[WorkflowSecret]:
        """The subscription's secrets, by name."""
        rows = self._session.fetch_all(
            f"select {_COLUMNS} from workflow_secrets where subscription_id = %s order by name",
            (subscription_id,),
        )
        return [_secret(r) for r in rows]

    def names(self, subscription_id: uuid.UUID) -> list[str]:
        """The names of the subscription's secrets, sorted; reads no sealed value or key."""
        rows = self._session.fetch_all(
            "select name from workflow_secrets where subscription_id = %s order by name", (subscription_id,)
        )
        return [row["name"] for row in rows]

    def named(
        self, subscription_id: uuid.UUID, names: Iterable[str], for_update: bool = False
    ) -> list[WorkflowSecret]:
        """The subscription's secrets among `names` (absent ones are left out), by name."""
        rows = self._session.fetch_all(
            f"select {_COLUMNS} from workflow_secrets where subscription_id = %s and name = any(%s) "
            "order by name" + (" for update" if for_update else ""),
            (subscription_id, list(names)),
        )
        return [_secret(r) for r in rows]

    def save(self, secret: WorkflowSecret) -> None:
        """Insert the secret, or replace its sealed value and rotations (same subscription and name)."""
        self._session.execute(
            "insert into workflow_secrets (id, tenant_id, subscription_id, name, wrapped_key, nonce, ciphertext,"
            " rotations) values (%(id)s, %(tenant_id)s, %(subscription_id)s, %(name)s, %(wrapped_key)s,"
            " %(nonce)s, %(ciphertext)s, %(rotations)s)"
            " on conflict (subscription_id, name) do update set wrapped_key = excluded.wrapped_key,"
            " nonce = excluded.nonce, ciphertext = excluded.ciphertext, rotations = excluded.rotations,"
            " updated_at = now()",
            {
                "id": secret.id,
                "tenant_id": secret.tenant_id,
                "subscription_id": secret.subscription_id,
                "name": secret.name,
                "wrapped_key": secret.wrapped_key,
                "nonce": secret.nonce,
                "ciphertext": secret.ciphertext,
                "rotations": Jsonb(secret.rotations),
            },
        )

    def delete(self, secret_id: uuid.UUID) -> None:
        self._session.execute("delete from workflow_secrets where id = %s", (secret_id,))

    def mark_used(self, secret_ids: list[uuid.UUID], at: datetime) -> None:
        self._session.execute(
            "update workflow_secrets set last_used_at = %s where id = any(%s)", (at, secret_ids)
        )
