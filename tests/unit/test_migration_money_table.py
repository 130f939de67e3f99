"""Migration 0009 carries its own copy of the ISO 4217 exponents (a migration is fixed once applied): every
code in it must have the exponent `cmp.money` uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cmp.money import exponent

pytestmark = pytest.mark.unit

MIGRATION = Path(__file__).resolve().parents[2] / "shared/cmp/db/migrations/0009_money_and_plan_ids.sql"


def test_the_migration_exponents_are_iso_4217_as_cmp_money_reads_it() -> None:
    table = dict(re.findall(r"\('([A-Z]{3})', ([0-9])\)", MIGRATION.read_text()))

    assert len(table) >= 160
    assert {code: exponent(code) for code in table} == {code: int(places) for code, places in table.items()}
    assert (table["JPY"], table["USD"], table["KWD"], table["CLF"]) == ("0", "2", "3", "4")
