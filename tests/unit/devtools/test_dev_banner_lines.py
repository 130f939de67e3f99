"""`make run`'s banner prints every URL at the runner's address (`API:`), the Data Sync sink included: the
workflow's own step reaches that same server as `localhost` (the one private host steps may call
locally), which the banner has no reason to show."""

from __future__ import annotations

import re

import pytest

from cmp_dev.cli import data_sync_lines

pytestmark = pytest.mark.unit
API = "http://127.0.0.1:8000"


def test_the_data_sync_lines_print_the_sink_at_the_api_address_as_every_other_line() -> None:
    lines = data_sync_lines(API, {"subscription_id": "s-1", "workflow_id": "w-1"})
    assert set(re.findall(r"https?://[^/\s]+", "\n".join(lines))) == {API}
    assert lines[-1] == f"  curl -s {API}/demo/slack"
