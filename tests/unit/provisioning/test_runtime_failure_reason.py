"""The reason a failed runtime provisioning shows: Step Functions' error and cause, or what the refused step
recorded when the cause did not come through."""

from __future__ import annotations

from cmp.provisioning.runtime import failure_reason, namespace_of


def test_the_reason_names_the_error_and_its_cause() -> None:
    assert failure_reason({"Error": "States.Timeout", "Cause": "no answer"}, {}) == (
        "runtime provisioning failed (States.Timeout): no answer"
    )
    assert failure_reason({"Error": "X", "Cause": "c" * 900}, {}).endswith("c" * 500 + "")
    assert (
        len(failure_reason({"Error": "X", "Cause": "c" * 900}, {}))
        == len("runtime provisioning failed (X): ") + 500
    )
    assert failure_reason(None, {}) == "runtime provisioning failed (unknown error)"


def test_a_missing_cause_is_read_from_the_refused_step() -> None:
    provisioning = {
        "steps": {
            "request_namespace": {
                "status": "failed",
                "detail": {"error": "ProvisioningRefused", "cause": "no room"},
            }
        }
    }
    assert failure_reason({"Error": "ProvisioningRefused", "Cause": None}, provisioning) == (
        "runtime provisioning failed (ProvisioningRefused): no room"
    )


def test_a_tenant_runs_in_its_own_namespace() -> None:
    import uuid

    tenant = uuid.UUID(int=7)
    assert namespace_of(tenant) == f"tenant-{tenant}"
