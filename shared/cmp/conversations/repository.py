"""Sessions, transcripts and feedback in PostgreSQL (migration 0015); the only writer of those tables.

Every statement runs in the unit of work's tenant (row-level security), and every read also names the
subscription, so one subscription's session id never opens another's conversation.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb

from cmp.conversations.model import ChatAnswer, Rating
from cmp.db.session import Session
from cmp.errors import NotFound
from cmp.knowledge.grounding import Citation


def _answer(row: dict[str, Any]) -> ChatAnswer:
    return ChatAnswer(
        session_id=row["session_id"],
        message_id=row["id"],
        answer=row["content"],
        language=row["language"] or "en",
        grounded=bool(row["grounded"]),
        confidence=float(row["confidence"] or 0.0),
        fallback=row["fallback"],
        mode=row["mode"],
        citations=[Citation(**c) for c in row["citations"]],
        tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"],
    )


class ConversationRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def session_language(self, session_id: uuid.UUID, subscription_id: uuid.UUID) -> str | None:
        """The language the session last answered in (None: none yet); raises NotFound for a session that
        is not one of the subscription's."""
        row = self._session.fetch_one(
            "select language from conversation_sessions where id = %s and subscription_id = %s",
            (session_id, subscription_id),
        )
        if row is None:
            raise NotFound(f"no session {session_id} in this agent's conversations")
        return row["language"]

    def history(self, session_id: uuid.UUID, turns: int) -> list[tuple[Literal["user", "assistant"], str]]:
        if turns <= 0:
            return []
        rows = self._session.fetch_all(
            "select role, content from (select role, content, created_at, id from conversation_messages"
            " where session_id = %s order by created_at desc, role limit %s) last"
            " order by created_at, role desc",
            (session_id, turns * 2),
        )
        return [(row["role"], row["content"]) for row in rows]

    def answered(
        self, subscription_id: uuid.UUID, idempotency_key: str
    ) -> tuple[ChatAnswer, str | None] | None:
        """The answer to the turn sent with `idempotency_key` and that turn's request fingerprint (None for
        turns stored before migration 0027), or None when the key is new."""
        row = self._session.fetch_one(
            "select a.*, u.request_fingerprint as asked from conversation_messages u"
            " join conversation_messages a on a.reply_to = u.id"
            " where u.subscription_id = %s and u.idempotency_key = %s",
            (subscription_id, idempotency_key),
        )
        return (_answer(row), row["asked"]) if row else None

    def record_turn(
        self,
        caller_principal: str,
        api_key_id: uuid.UUID | None,
        subscription_id: uuid.UUID,
        user_message_id: uuid.UUID,
        message: str,
        image_media_type: str | None,
        idempotency_key: str | None,
        request_fingerprint: str | None,
        answer: ChatAnswer,
        new_session: bool,
    ) -> bool:
        tenant = self._session.fetch_one("select app_current_tenant() as t")
        assert tenant is not None
        tenant_id = tenant["t"]
        try:
            with self._session.savepoint():
                if new_session:
                    self._session.insert("conversation_sessions", {
                        "id": answer.session_id, "tenant_id": tenant_id, "subscription_id": subscription_id,
                        "channel": caller_principal, "api_key_id": api_key_id, "language": answer.language,
                    })  # fmt: skip
                common = {
                    "tenant_id": tenant_id,
                    "subscription_id": subscription_id,
                    "session_id": answer.session_id,
                }
                self._session.insert("conversation_messages", {
                    **common, "id": user_message_id, "role": "user", "content": message,
                    "image_media_type": image_media_type, "idempotency_key": idempotency_key,
                    "request_fingerprint": request_fingerprint if idempotency_key else None,
                })  # fmt: skip
                self._session.insert("conversation_messages", {
                    **common, "id": answer.message_id, "role": "assistant", "content": answer.answer,
                    "language": answer.language, "reply_to": user_message_id,
                    "citations": Jsonb([c.as_dict() for c in answer.citations]), "grounded": answer.grounded,
                    "confidence": answer.confidence, "fallback": answer.fallback, "mode": answer.mode,
                    "tokens_in": answer.tokens_in, "tokens_out": answer.tokens_out,
                })  # fmt: skip
        except psycopg.errors.UniqueViolation:
            if idempotency_key is None:
                raise
            return False
        self._session.execute(
            "update conversation_sessions set message_count = message_count + 2, last_message_at = now(),"
            " language = %s where id = %s",
            (answer.language, answer.session_id),
        )
        return True

    def rate(
        self, message_id: uuid.UUID, subscription_id: uuid.UUID, rating: Rating, comment: str | None
    ) -> None:
        written = self._session.execute(
            "insert into message_feedback (message_id, tenant_id, subscription_id, rating, comment)"
            " select id, tenant_id, subscription_id, %s, %s from conversation_messages"
            " where id = %s and subscription_id = %s and role = 'assistant'"
            " on conflict (message_id) do update set rating = excluded.rating, comment = excluded.comment,"
            " updated_at = now()",
            (rating, comment, message_id, subscription_id),
        )
        if not written:
            raise NotFound(f"no answer {message_id} in this agent's conversations")
