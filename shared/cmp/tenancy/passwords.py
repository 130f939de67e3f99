"""Password hashing with Argon2id (memory-hard), and the rules a new password must meet.

`argon2` is imported on the first hash or verify: the authorizer and most API functions never hash."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from cmp.errors import FieldError

if TYPE_CHECKING:
    from argon2 import PasswordHasher as _Argon2

MIN_LENGTH = 10
MAX_LENGTH = 256


class PasswordHasher:
    def __init__(self, time_cost: int = 2, memory_cost_kib: int = 19_456, parallelism: int = 1) -> None:
        # OWASP's Argon2id baseline: 19 MiB, 2 iterations, 1 lane.
        self._time_cost = time_cost
        self._memory_cost_kib = memory_cost_kib
        self._parallelism = parallelism

    @cached_property
    def _argon(self) -> _Argon2:
        from argon2 import PasswordHasher as Argon2

        return Argon2(
            time_cost=self._time_cost, memory_cost=self._memory_cost_kib, parallelism=self._parallelism
        )

    def hash(self, password: str) -> str:
        return self._argon.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return self._argon.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._argon.check_needs_rehash(stored_hash)


def password_problems(password: str, email: str) -> list[FieldError]:
    """Length and variety rules; the password is never echoed back."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    classes = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if classes < 3:
        problems.append("must mix at least three of: lower case, upper case, digits, symbols")
    if email and email.split("@")[0].lower() in password.lower() and len(email.split("@")[0]) >= 3:
        problems.append("must not contain your e-mail name")
    return [FieldError("password", p) for p in problems]
