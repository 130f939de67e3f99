from __future__ import annotations

import jwt
import pytest

from cmp.errors import Unauthorized
from cmp.tenancy.passwords import PasswordHasher, password_problems
from cmp.tenancy.tokens import TokenService

SECRET = "s" * 48


def _service(now: float = 1_000_000.0) -> TokenService:
    return TokenService(lambda: SECRET, "https://issuer", "portal", ttl_seconds=60, clock=lambda: now)


def test_token_claims_match_cognito_access_tokens() -> None:
    token, claims = _service().issue(user_id="u1", tenant_id="t1", roles=["owner", "seller"], email="a@b.co")
    decoded = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert decoded["token_use"] == "access" and decoded["client_id"] == "portal"
    assert decoded["cognito:groups"] == ["owner", "seller"] and decoded["custom:tenant_id"] == "t1"
    assert decoded["jti"] == claims.session_id and decoded["exp"] - decoded["iat"] == 60


def test_verify_rejects_expired_tampered_and_foreign_tokens() -> None:
    token, _ = _service(now=0).issue(user_id="u", tenant_id="t", roles=[], email="e")
    with pytest.raises(Unauthorized, match="expired"):
        _service().verify(token)
    fresh, _ = _service().issue(user_id="u", tenant_id="t", roles=[], email="e")
    with pytest.raises(Unauthorized):
        _service().verify(fresh[:-2] + ("AA" if fresh[-2:] != "AA" else "BB"))
    other = TokenService(lambda: SECRET, "https://issuer", "another-client", clock=lambda: 1_000_000.0)
    with pytest.raises(Unauthorized):
        other.verify(fresh)
    assert _service().verify(fresh).tenant_id == "t"


def test_passwords_are_hashed_with_argon2id_and_verified() -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost_kib=1024)
    stored = hasher.hash("Correct-Horse-42")
    assert stored.startswith("$argon2id$") and "Correct-Horse-42" not in stored
    assert hasher.verify(stored, "Correct-Horse-42")
    assert not hasher.verify(stored, "correct-horse-42")
    assert not hasher.verify("not-a-hash", "x")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt!", "at least 10"),
        ("alllowercaseletters", "three of"),
        ("Ada-Lovelace-1815", "e-mail name"),
    ],
)
def test_weak_passwords_say_why(password: str, problem: str) -> None:
    messages = [p.message for p in password_problems(password, "lovelace@example.com")]
    assert any(problem in m for m in messages), messages


def test_a_good_password_has_no_problems() -> None:
    assert password_problems("Correct-Horse-42", "ada@example.com") == []
