"""Sign-up, sign-in, sessions and the profile, on real PostgreSQL with RLS and moto."""

from __future__ import annotations

import pytest

from cmp.bootstrap import Services
from cmp.errors import Conflict, Forbidden, Unauthorized, ValidationFailed

from .conftest import unique_email

PASSWORD = "Correct-Horse-42"


def test_signup_issues_a_token_whose_claims_name_the_new_organization(services: Services) -> None:
    email = unique_email()
    issued = services.tenancy.signup(email, PASSWORD, "Analytical Engines")
    claims = services.tenancy.authenticate(issued.access_token)
    profile = services.profiles.profile(claims.tenant_id, claims.user_id)
    assert profile["user"]["email"] == email
    assert profile["organization"]["name"] == "Analytical Engines"
    assert set(profile["roles"]) == {"owner", "seller", "buyer"}
    assert profile["user"]["is_platform_admin"] is False


def test_login_with_the_right_password_and_not_the_wrong_one(services: Services) -> None:
    email = unique_email()
    services.tenancy.signup(email, PASSWORD, "Org")
    assert services.tenancy.login(email.upper(), PASSWORD).access_token
    with pytest.raises(Unauthorized):
        services.tenancy.login(email, PASSWORD + "x")
    with pytest.raises(Unauthorized):
        services.tenancy.login(unique_email(), PASSWORD)


def test_duplicate_email_is_a_conflict_naming_the_field(services: Services) -> None:
    email = unique_email()
    services.tenancy.signup(email, PASSWORD, "Org")
    with pytest.raises(Conflict) as caught:
        services.tenancy.signup(email, PASSWORD, "Other Org")
    assert caught.value.errors[0].path == "email"


def test_weak_password_and_bad_email_are_listed_together(services: Services) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.tenancy.signup("not-an-email", "short", "Org")
    paths = [e.path for e in caught.value.errors]
    assert "email" in paths and "password" in paths


def test_logout_ends_the_session(services: Services) -> None:
    issued = services.tenancy.signup(unique_email(), PASSWORD, "Org")
    claims = services.tenancy.authenticate(issued.access_token)
    services.tenancy.logout(claims.tenant_id, claims.session_id)
    with pytest.raises(Unauthorized):
        services.tenancy.authenticate(issued.access_token)


def test_login_to_an_organization_the_user_is_not_in_is_forbidden(services: Services) -> None:
    email = unique_email()
    services.tenancy.signup(email, PASSWORD, "Org")
    other = services.tenancy.authenticate(
        services.tenancy.signup(unique_email(), PASSWORD, "Other").access_token
    )
    with pytest.raises(Forbidden):
        services.tenancy.login(email, PASSWORD, organization_id=other.tenant_id)


def test_signup_never_grants_platform_admin(services: Services) -> None:
    issued = services.tenancy.signup(unique_email(), PASSWORD, "Org", "both")
    assert "admin" not in services.tenancy.authenticate(issued.access_token).roles
