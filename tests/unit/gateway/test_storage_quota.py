"""The plan's storage quota without I/O: bytes held against `limits.storageMB`, refused with the quota error
(no period reset), and no quota for a plan that leaves storage to the product's limits."""

from __future__ import annotations

import pytest

from cmp.gateway.errors import QuotaExceeded
from cmp.gateway.model import MIB, check_storage

PLAN = {"tier": "starter", "limits": {"storageMB": 10}}


def test_up_to_the_limit_is_allowed_and_one_byte_more_is_refused_naming_use_and_limit() -> None:
    check_storage(PLAN, 9 * MIB, MIB)
    with pytest.raises(QuotaExceeded) as refused:
        check_storage(PLAN, 9 * MIB, MIB + 1)
    error = refused.value
    assert (error.quota, error.used, error.limit, error.resets_at) == ("storage", 9 * MIB, 10 * MIB, None)
    assert error.status == 429 and error.headers == {}  # waiting does not help: no Retry-After
    assert error.errors[0].path == "quota.storage"
    assert error.errors[0].message == f"used {9 * MIB} of {10 * MIB}; frees as stored files are deleted"


@pytest.mark.parametrize(
    "plan", [{"limits": {"storageMB": None}}, {"limits": {}}, {}, {"limits": {"storageMB": True}}]
)
def test_a_plan_without_a_storage_limit_sets_no_quota(plan: dict[str, object]) -> None:
    check_storage(plan, 10**12, 10**12)


def test_a_period_quota_still_names_its_reset_and_retry_after() -> None:
    error = QuotaExceeded("messages", 10, 10, "2026-12-01T00:00:00+00:00", 3600)
    assert "resets at 2026-12-01T00:00:00+00:00" in error.message
    assert error.headers == {"Retry-After": "3600"}
