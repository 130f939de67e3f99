-- Two columns (defect report #12, #7).
-- `request_fingerprint` (SHA-256 hex of the chat request: message, session, language, image; set with
-- `idempotency_key` on the user's message) tells a retry of a turn from another message sent under the same
-- Idempotency-Key: the retry replays the first answer, the other message is a 422. Turns stored before this
-- migration have none and are replayed as before.
alter table conversation_messages
    add column request_fingerprint char(64) check (request_fingerprint ~ '^[0-9a-f]{64}$');

-- `last_used_at`: the last call the gateway authorized with the widget token, written at most once a minute
-- (as api_keys.last_used_at, migration 0011) and shown in the token list.
alter table widget_tokens add column last_used_at timestamptz;
