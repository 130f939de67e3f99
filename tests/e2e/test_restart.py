"""`make run` keeps its data (stop every process, start again, and what was created is still there), and
`cmp dev` stops cleanly: on SIGTERM, SIGHUP or SIGINT even as a background job, and by itself, naming the
culprit, when moto or PostgreSQL dies under it."""

from __future__ import annotations

import os
import shutil
import signal
import time

import httpx
import psutil
import pytest

from cmp_dev.local.dev import start_stack
from cmp_dev.local.stack import Moto

from .conftest import PASSWORD, READY, REPO, CmpDevProcess, sign_up


def test_data_survives_a_full_restart() -> None:
    local = REPO / ".local" / "e2e-restart"
    shutil.rmtree(local, ignore_errors=True)
    first = start_stack(REPO, local)
    try:
        with httpx.Client(base_url=first.runner.base_url, timeout=30) as api:
            account = sign_up(api, "Persistent Ltd")
            email = account.me["user"]["email"]
            product = account.post(
                "/v1/provider/products", json={"category": "automation", "subcategory": "workflow"}
            ).json()
    finally:
        first.stop()
    assert (
        isinstance(first.aws, Moto) and first.aws.process is not None and first.aws.process.poll() is not None
    )
    second = start_stack(REPO, local)
    try:
        with httpx.Client(base_url=second.runner.base_url, timeout=30) as api:
            login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert login.status_code == 200
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            kept = api.get(f"/v1/provider/products/{product['id']}", headers=headers)
            assert kept.status_code == 200 and kept.json()["category"] == "automation"
            old_token = api.get("/v1/me", headers=account.headers)
            assert old_token.status_code == 200, "the signing key is kept across restarts"
    finally:
        second.stop()


# ---------------------------------------------------------------- `cmp dev` stops cleanly

SIGNALS_DIR = REPO / ".local" / "e2e-signals"


class Running(CmpDevProcess):
    """`cmp dev` in its own process group, started as a shell starts a background job (SIGINT ignored)
    or, with `background=False`, as a terminal's foreground job (SIGINT at its default)."""

    def __init__(self, background: bool = True) -> None:
        super().__init__(SIGNALS_DIR, ignore_sigint=background)
        self.started = self._everything_started()

    def _everything_started(self) -> list[psutil.Process]:
        """Its descendants (function workers, moto, pg_ctl leftovers) and the PostgreSQL server."""
        started = psutil.Process(self.process.pid).children(recursive=True)
        postmaster = int((SIGNALS_DIR / "pgdata" / "postmaster.pid").read_text().split()[0])
        started.append(psutil.Process(postmaster))
        assert any("moto.server" in " ".join(p.cmdline()) for p in started)
        assert sum("multiprocessing" in " ".join(p.cmdline()) for p in started) >= 8
        return started

    def child(self, marker: str) -> psutil.Process:
        return next(p for p in self.started if marker in " ".join(p.cmdline()))

    def assert_all_gone(self) -> None:
        deadline = time.monotonic() + 15
        alive = self.started
        while alive and time.monotonic() < deadline:
            alive = [p for p in alive if _running(p)]
            time.sleep(0.2)
        assert not alive, [p.cmdline() for p in alive]


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_cmp_dev_stops_everything_it_started_on_a_signal(signum: signal.Signals) -> None:
    running = Running()
    running.process.send_signal(signum)
    assert running.wait() == 0, running.output
    running.assert_all_gone()
    stopping = running.output.split(READY, 1)[1]
    assert f"Stopping ({signum.name})..." in stopping and "Stopped." in stopping
    assert "Traceback" not in running.output and "KeyboardInterrupt" not in running.output
    assert "polling" not in stopping, stopping


def test_ctrl_c_in_a_terminal_stops_the_stack_without_a_traceback_per_worker() -> None:
    """A terminal sends SIGINT to the whole foreground process group: `cmp dev` and its workers."""
    running = Running(background=False)
    os.killpg(running.process.pid, signal.SIGINT)
    assert running.wait() == 0, running.output
    running.assert_all_gone()
    assert "Stopping (SIGINT)..." in running.output
    assert "Traceback" not in running.output and "KeyboardInterrupt" not in running.output


@pytest.mark.parametrize(
    ("marker", "kill", "expected"),
    [
        ("moto.server", signal.SIGKILL, "cmp: moto (the AWS APIs at http://127.0.0.1:"),
        ("pgdata", signal.SIGQUIT, "cmp: PostgreSQL (embedded, data in "),
    ],
)
def test_cmp_dev_names_a_dependency_that_died_and_stops(
    marker: str, kill: signal.Signals, expected: str
) -> None:
    running = Running()
    victim = next(
        p
        for p in running.started
        if marker in " ".join(p.cmdline()) and (marker != "pgdata" or p.name() == "postgres")
    )
    victim.send_signal(kill)
    assert running.wait() == 1, running.output
    running.assert_all_gone()
    after = running.output.split(READY, 1)[1]
    assert expected in after and "stopping the stack" in after and "Stopped." in after
    assert "Traceback" not in running.output
