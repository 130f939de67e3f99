"""Sign-up, sign-in, authentication and sign-out against in-memory repositories (no database)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import pytest

from cmp.errors import Conflict, Forbidden, Unauthorized, ValidationFailed
from cmp.tenancy.model import Tenant
from cmp.tenancy.passwords import PasswordHasher
from cmp.tenancy.services import TenancyService
from cmp.tenancy.tokens import TokenService
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, SequentialIds

from .memory import InMemoryAccounts, InMemorySessions

PASSWORD = "Correct-Horse-42"
ONBOARDING_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:onboarding"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost_kib=1024)


@dataclass
class World:
    service: TenancyService
    uow: FakeUnitOfWorkFactory
    accounts: InMemoryAccounts
    sessions: InMemorySessions
    clock: FixedClock


def make_world(hasher: PasswordHasher = FAST_HASHER, accounts: InMemoryAccounts | None = None) -> World:
    accounts, sessions, clock = accounts or InMemoryAccounts(), InMemorySessions(), FixedClock()
    uow = FakeUnitOfWorkFactory(accounts=accounts, auth_sessions=sessions)
    tokens = TokenService(
        lambda: "unit-test-signing-secret-" + "x" * 32,
        "https://auth.test",
        "cmp-test",
        3600,
        clock=lambda: clock.now().timestamp(),
    )
    service = TenancyService(uow, hasher, tokens, lambda: ONBOARDING_ARN, clock, SequentialIds())
    return World(service, uow, accounts, sessions, clock)


@pytest.fixture
def world() -> World:
    return make_world()


def test_signup_opens_the_organization_and_starts_onboarding_in_the_same_commit(world: World) -> None:
    issued = world.service.signup("  Ada@Example.COM ", PASSWORD, " Analytical Engines ", "both")
    claims = world.service.authenticate(issued.access_token)
    assert issued.expires_in == 3600 and issued.token_type == "bearer"
    assert claims.email == "ada@example.com" and set(claims.roles) == {"owner", "seller", "buyer"}
    tenant = world.accounts.tenants[UUID(claims.tenant_id)]
    assert tenant.name == "Analytical Engines"
    assert tenant.slug == f"analytical-engines-{claims.tenant_id[:8]}"
    assert tenant.onboarding_state == "pending"
    assert world.sessions.sessions[UUID(claims.session_id)].user_id == UUID(claims.user_id)
    [start] = world.uow.delivered
    assert (start.kind, start.target, start.name, start.payload) == (
        "stepfunctions",
        ONBOARDING_ARN,
        f"onboard-{claims.tenant_id}",
        {"tenant_id": claims.tenant_id},
    )


@pytest.mark.parametrize(
    ("account_type", "roles"),
    [("seller", {"owner", "seller"}), ("buyer", {"owner", "buyer"}), ("both", {"owner", "seller", "buyer"})],
)
def test_the_account_type_decides_the_roles_and_never_admin(
    world: World, account_type: str, roles: set[str]
) -> None:
    issued = world.service.signup("grace@example.com", PASSWORD, "Org", account_type)
    assert set(world.service.authenticate(issued.access_token).roles) == roles
    assert not any(u.is_platform_admin for u in world.accounts.users.values())


def test_invalid_sign_up_lists_every_problem_and_stores_nothing(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        world.service.signup("not-an-email", "short", "  ", "reseller")
    assert {e.path for e in caught.value.errors} == {"email", "password", "organization_name", "account_type"}
    assert world.accounts.users == {} and world.uow.delivered == []


def test_a_duplicate_email_is_a_conflict_and_starts_no_onboarding(world: World) -> None:
    world.service.signup("dup@example.com", PASSWORD, "First")
    with pytest.raises(Conflict) as caught:
        world.service.signup("DUP@example.com", PASSWORD, "Second")
    assert caught.value.errors[0].path == "email"
    assert len(world.uow.delivered) == 1


def test_a_platform_admin_gets_the_admin_role_and_an_onboarded_organization(world: World) -> None:
    user_id = world.service.create_platform_admin("root@example.com", PASSWORD)
    assert world.accounts.users[UUID(user_id)].is_platform_admin is True
    claims = world.service.authenticate(world.service.login("root@example.com", PASSWORD).access_token)
    assert set(claims.roles) == {"owner", "admin"}
    assert world.uow.delivered[0].name == f"onboard-{claims.tenant_id}"
    assert world.service.find_account("ROOT@example.com") == {
        "user_id": user_id,
        "tenant_id": claims.tenant_id,
    }
    assert world.service.find_account("nobody@example.com") is None


def test_create_account_refuses_an_unknown_role(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        world.service.create_account("op@example.com", PASSWORD, "Org", ["owner", "superuser"])
    assert [e.path for e in caught.value.errors] == ["roles"]


def test_login_accepts_the_right_password_only(world: World) -> None:
    world.service.signup("lin@example.com", PASSWORD, "Org")
    issued = world.service.login("LIN@example.com", PASSWORD)
    assert world.service.authenticate(issued.access_token).email == "lin@example.com"
    assert len(world.sessions.sessions) == 2
    for email, password in [("lin@example.com", PASSWORD + "x"), ("nobody@example.com", PASSWORD)]:
        with pytest.raises(Unauthorized, match="e-mail or password is incorrect"):
            world.service.login(email, password)


def test_login_to_an_organization_the_user_is_not_in_is_forbidden(world: World) -> None:
    world.service.signup("a@example.com", PASSWORD, "A")
    other = world.service.authenticate(world.service.signup("b@example.com", PASSWORD, "B").access_token)
    with pytest.raises(Forbidden):
        world.service.login("a@example.com", PASSWORD, organization_id=other.tenant_id)


def test_login_with_memberships_in_no_organization_is_forbidden(world: World) -> None:
    world.service.signup("orphan@example.com", PASSWORD, "Org")
    world.accounts.memberships.clear()
    with pytest.raises(Forbidden, match="no organization"):
        world.service.login("orphan@example.com", PASSWORD)


def test_login_rehashes_a_password_hashed_with_weaker_parameters() -> None:
    weak = make_world(FAST_HASHER)
    weak.service.signup("old@example.com", PASSWORD, "Org")
    [user] = weak.accounts.users.values()
    old_hash = user.password_hash
    stronger = PasswordHasher(time_cost=2, memory_cost_kib=2048)
    make_world(stronger, weak.accounts).service.login("old@example.com", PASSWORD)
    assert user.password_hash != old_hash and not stronger.needs_rehash(user.password_hash)


def test_logout_ends_the_session_and_is_harmless_twice(world: World) -> None:
    issued = world.service.signup("bye@example.com", PASSWORD, "Org")
    claims = world.service.authenticate(issued.access_token)
    world.service.logout(claims.tenant_id, claims.session_id)
    world.service.logout(claims.tenant_id, claims.session_id)
    assert world.sessions.sessions[UUID(claims.session_id)].revoked_at == world.clock.now()
    with pytest.raises(Unauthorized, match="session has ended"):
        world.service.authenticate(issued.access_token)


def test_a_token_is_refused_when_its_session_is_unknown_expired_or_forged(world: World) -> None:
    issued = world.service.signup("tok@example.com", PASSWORD, "Org")
    claims = world.service.authenticate(issued.access_token)
    session = world.sessions.sessions.pop(UUID(claims.session_id))
    with pytest.raises(Unauthorized):
        world.service.authenticate(issued.access_token)
    world.sessions.add(session)
    with pytest.raises(Unauthorized):
        world.service.authenticate(issued.access_token.rsplit(".", 1)[0] + ".forged")
    world.clock.advance(hours=2)
    with pytest.raises(Unauthorized, match="expired"):
        world.service.authenticate(issued.access_token)


def test_sessions_that_ended_before_the_retention_window_are_purged(world: World) -> None:
    issued = world.service.signup("old-session@example.com", PASSWORD, "Org")
    claims = world.service.authenticate(issued.access_token)
    world.clock.advance(days=3)
    assert world.service.purge_expired_sessions(retention_days=7) == 0
    world.clock.advance(days=5)
    assert world.service.purge_expired_sessions(retention_days=7) == 1
    assert UUID(claims.session_id) not in world.sessions.sessions


def test_a_new_tenant_slug_is_ascii_and_unique_per_id() -> None:
    tenant = Tenant.new(UUID(int=7), "  Zürich Æther & Co  ")
    assert tenant.name == "Zürich Æther & Co"
    assert tenant.slug == "zurich-ther-co-00000000"
    assert Tenant.new(UUID(int=8), "!!!").slug == "org-00000000"
