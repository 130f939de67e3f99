"""Portal access tokens: locally signed JWTs whose claims match Cognito access tokens, so production can
swap the issuer (a Cognito user pool with a pre-token-generation trigger adding `custom:tenant_id`).

PyJWT (and the `cryptography` it loads) is imported on the first issue or verify, not at cold start."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cmp.errors import Unauthorized

ALGORITHM = "HS256"
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class PortalClaims:
    user_id: str
    tenant_id: str
    roles: tuple[str, ...]
    email: str
    session_id: str
    expires_at: int


class TokenService:
    def __init__(
        self,
        secret: Callable[[], str],
        issuer: str,
        client_id: str,
        ttl_seconds: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._issuer = issuer
        self._client_id = client_id
        self._ttl = ttl_seconds
        self._clock = clock

    def issue(
        self, *, user_id: str, tenant_id: str, roles: list[str], email: str
    ) -> tuple[str, PortalClaims]:
        now = int(self._clock())
        session_id = str(uuid.uuid4())
        claims = {
            "sub": user_id,
            "iss": self._issuer,
            "client_id": self._client_id,
            "token_use": "access",
            "scope": "cmp/portal",
            "auth_time": now,
            "iat": now,
            "exp": now + self._ttl,
            "jti": session_id,
            "username": email,
            "cognito:groups": roles,
            "custom:tenant_id": tenant_id,
        }
        import jwt

        token = jwt.encode(claims, self._secret(), algorithm=ALGORITHM)
        return token, PortalClaims(user_id, tenant_id, tuple(roles), email, session_id, now + self._ttl)

    def verify(self, token: str) -> PortalClaims:
        import jwt

        try:
            claims = jwt.decode(
                token,
                self._secret(),
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                # Expiry is checked below against the injected clock, not the wall clock.
                options={
                    "require": ["exp", "iat", "sub", "jti", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as e:
            raise Unauthorized("invalid token") from e
        if int(claims["exp"]) + LEEWAY_SECONDS < self._clock():
            raise Unauthorized("token expired")
        if claims.get("token_use") != "access" or claims.get("client_id") != self._client_id:
            raise Unauthorized("invalid token")
        tenant_id = claims.get("custom:tenant_id")
        if not isinstance(tenant_id, str):
            raise Unauthorized("invalid token")
        return PortalClaims(
            user_id=claims["sub"],
            tenant_id=tenant_id,
            roles=tuple(claims.get("cognito:groups") or ()),
            email=str(claims.get("username", "")),
            session_id=claims["jti"],
            expires_at=int(claims["exp"]),
        )
