"""The transactional outbox on real PostgreSQL and moto: a message commits with the change that causes it,
is relayed after the commit, survives a crash between the two, stays pending with its error when a send
fails, is harmless when relayed twice, and is as tenant-private as the rows beside it."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import psycopg
import pytest

from cmp.aws.adapters import AwsUnavailable
from cmp.aws.clients import client
from cmp.bootstrap import Services, bootstrap
from cmp.config import Settings
from cmp.db import Database
from cmp.db.outbox import OutboxMessage

from .conftest import FAST_HASHER, Platform, Postgres, unique_email

PASSWORD = "Correct-Horse-42"


def _outbox_rows(owner_conn: psycopg.Connection[Any], tenant_id: str) -> list[dict[str, Any]]:
    cursor = owner_conn.cursor(row_factory=psycopg.rows.dict_row)
    return cursor.execute(
        "select * from outbox where tenant_id = %s order by created_at", (tenant_id,)
    ).fetchall()


def _tenant_of(owner_conn: psycopg.Connection[Any], email: str) -> str:
    row = owner_conn.execute(
        "select m.tenant_id from users u join memberships m on m.user_id = u.id where u.email = %s limit 1",
        (email,),
    ).fetchone()
    assert row is not None, f"no account for {email}"
    return str(row[0])


def _executions(platform: Platform, name: str) -> list[dict[str, Any]]:
    executions = client("stepfunctions").list_executions(
        stateMachineArn=platform.ref("TenantOnboardingStateMachine")
    )["executions"]
    return [e for e in executions if e["name"] == name]


def _finish_onboarding(platform: Platform, execution_arn: str, timeout: float = 20) -> str:
    sfn = client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        platform.drain("OnboardingQueue", "OnboardingWorkerFunction")
        status: str = sfn.describe_execution(executionArn=execution_arn)["status"]
        if status != "RUNNING":
            return status
        time.sleep(0.1)
    raise AssertionError("the onboarding execution did not finish")


def test_relaying_the_same_message_twice_starts_one_execution_and_onboards_once(
    platform: Platform, owner_conn: psycopg.Connection[Any]
) -> None:
    auth = platform.function("AuthApiFunction")
    claims = auth.services.tenancy.authenticate(
        auth.services.tenancy.signup(unique_email("twice"), PASSWORD, "Twice Ltd").access_token
    )
    [row] = _outbox_rows(owner_conn, claims.tenant_id)
    assert row["sent_at"] is not None and row["attempts"] == 1  # relayed right after the commit
    message = OutboxMessage(
        row["kind"], row["target"], row["payload"], row["name"], row["attributes"], row["id"]
    )
    report = auth.services.outbox_relay.deliver([message, message])
    assert (report.sent, report.failed) == (2, 0)

    [execution] = _executions(platform, f"onboard-{claims.tenant_id}")
    assert _finish_onboarding(platform, execution["executionArn"]) == "SUCCEEDED"
    assert len(_executions(platform, f"onboard-{claims.tenant_id}")) == 1
    projects = owner_conn.execute("select count(*) from projects where tenant_id = %s", (claims.tenant_id,))
    assert projects.fetchone()[0] == 1  # type: ignore[index]
    steps = owner_conn.execute(
        "select step from onboarding_steps where tenant_id = %s order by updated_at", (claims.tenant_id,)
    ).fetchall()
    assert [s[0] for s in steps] == ["provision_workspace", "assign_runtime_tier", "complete"]


class _CrashBeforeSending:
    """A state machine client whose process dies the moment the relay tries to send (after the commit)."""

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        os._exit(1)


def test_a_crash_between_commit_and_relay_loses_nothing(
    platform: Platform, postgres: Postgres, owner_conn: psycopg.Connection[Any]
) -> None:
    arn = platform.ref("TenantOnboardingStateMachine")
    email = unique_email("crash")
    pid = os.fork()
    if pid == 0:  # the child: a sign-up whose process dies between the commit and the relay
        try:
            child = bootstrap(
                Settings(onboarding_state_machine_arn=arn, jwt_issuer="https://auth.test", jwt_audience="t"),
                db=Database(postgres.app_url),
                hasher=FAST_HASHER,
                jwt_secret=lambda: "test-signing-secret-" + "x" * 32,
                machines=_CrashBeforeSending(),
            )
            child.tenancy.signup(email, PASSWORD, "Crashed Ltd")
        finally:
            os._exit(3)  # only reached when the relay did not crash the process
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1

    tenant_id = _tenant_of(owner_conn, email)
    [row] = _outbox_rows(owner_conn, tenant_id)
    assert (row["sent_at"], row["attempts"], row["name"]) == (None, 0, f"onboard-{tenant_id}")
    assert _executions(platform, f"onboard-{tenant_id}") == []

    report = platform.function("HousekeepingFunction").services.outbox_relay.sweep(older_than_seconds=0)
    assert report.sent >= 1
    assert len(_executions(platform, f"onboard-{tenant_id}")) == 1
    [row] = _outbox_rows(owner_conn, tenant_id)
    assert row["sent_at"] is not None and row["attempts"] == 1


def test_a_failed_send_stays_pending_with_its_error_and_the_next_sweep_delivers_it(
    platform: Platform, owner_conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = platform.function("AuthApiFunction")

    def unreachable(*args: object, **kwargs: object) -> str:
        raise AwsUnavailable("could not start state machine")

    with monkeypatch.context() as patch:
        patch.setattr(auth.services.machines, "start", unreachable)
        token = auth.services.tenancy.signup(unique_email("down"), PASSWORD, "Down Ltd").access_token
    tenant_id = auth.services.tenancy.authenticate(token).tenant_id
    [row] = _outbox_rows(owner_conn, tenant_id)
    assert row["sent_at"] is None and row["attempts"] == 1
    assert row["last_error"] == "AwsUnavailable: could not start state machine"
    assert _executions(platform, f"onboard-{tenant_id}") == []

    assert auth.services.outbox_relay.sweep(older_than_seconds=0).sent >= 1
    [row] = _outbox_rows(owner_conn, tenant_id)
    assert row["sent_at"] is not None and row["attempts"] == 2 and row["last_error"] is None
    assert len(_executions(platform, f"onboard-{tenant_id}")) == 1


def test_nothing_is_written_or_delivered_when_the_unit_of_work_is_not_committed(
    services: Services, owner_conn: psycopg.Connection[Any]
) -> None:
    queue_url = client("sqs").create_queue(QueueName=f"outbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    claims = services.tenancy.authenticate(
        services.tenancy.signup(unique_email(), PASSWORD, "Org").access_token
    )
    before = len(_outbox_rows(owner_conn, claims.tenant_id))

    with pytest.raises(RuntimeError, match="changed my mind"), services.unit_of_work(claims.tenant_id) as uow:
        uow.outbox.add(OutboxMessage.to_queue(queue_url, {"n": 1}))
        raise RuntimeError("changed my mind")
    with services.unit_of_work(claims.tenant_id) as uow:
        uow.outbox.add(OutboxMessage.to_queue(queue_url, {"n": 2}))
        uow.rollback()
    with services.unit_of_work(claims.tenant_id) as uow:
        uow.outbox.add(OutboxMessage.to_queue(queue_url, {"n": 2.5}))  # left without commit()

    assert len(_outbox_rows(owner_conn, claims.tenant_id)) == before
    services.outbox_relay.sweep(older_than_seconds=0)
    assert client("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", []) == []

    with services.unit_of_work(claims.tenant_id) as uow:
        uow.outbox.add(OutboxMessage.to_queue(queue_url, {"n": 3}))
        uow.commit()
    [received] = client("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)["Messages"]
    assert received["Body"] == '{"n": 3}'


def test_the_outbox_is_row_level_secured(services: Services, db: Database) -> None:
    queue_url = client("sqs").create_queue(QueueName=f"outbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    a, b = (
        services.tenancy.authenticate(services.tenancy.signup(unique_email(), PASSWORD, name).access_token)
        for name in ("A", "B")
    )
    for tenant in (a, b):
        with services.unit_of_work(tenant.tenant_id) as uow:
            uow.outbox.add(OutboxMessage.to_queue(queue_url, {"tenant": tenant.tenant_id}))
            uow.commit()

    with db.session(a.tenant_id) as session:
        rows = session.fetch_all("select tenant_id, payload from outbox")
        assert {str(r["tenant_id"]) for r in rows} == {a.tenant_id}
        assert {"tenant": a.tenant_id} in [r["payload"] for r in rows]
        assert (
            session.execute("update outbox set target = 'hijacked' where tenant_id = %s", (b.tenant_id,)) == 0
        )
        assert session.execute("delete from outbox where tenant_id = %s", (b.tenant_id,)) == 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.session(a.tenant_id) as session:
        session.execute(
            "insert into outbox (id, tenant_id, kind, target, payload) values (%s, %s, 'sqs', %s, '{}')",
            (uuid.uuid4(), b.tenant_id, queue_url),
        )
    with db.session() as session:
        assert session.fetch_all("select id from outbox") == []
    with db.session(b.tenant_id) as session:
        assert {"tenant": b.tenant_id} in [
            r["payload"] for r in session.fetch_all("select payload from outbox")
        ]
