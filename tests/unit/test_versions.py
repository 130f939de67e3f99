from __future__ import annotations

from typing import Any

from cmp.catalog.versions import next_version, takes_something_away


def _snapshot(
    chat: bool = True, modes: list[str] | None = None, top_k: int = 5, price: str = "29", name: str = "Agent"
) -> dict[str, Any]:
    caps = {
        "interfaces": {"chat": {"enabled": chat, "modes": modes or ["text", "voice"]}},
        "configuration": {"rag": {"retrieval": {"topK": top_k}}},
    }
    return {
        "capabilities": caps,
        "plans": [{"name": "Starter", "priceMonthly": price}],
        "listing": {"name": name},
    }


def test_first_publication_is_1_0_0() -> None:
    assert next_version(None, None, _snapshot()) == "1.0.0"


def test_listing_only_changes_are_a_patch() -> None:
    assert next_version("1.2.3", _snapshot(), _snapshot(name="Better name")) == "1.2.4"


def test_plan_changes_and_added_capabilities_are_minor() -> None:
    assert next_version("1.2.3", _snapshot(), _snapshot(price="39")) == "1.3.0"
    assert next_version("1.2.3", _snapshot(), _snapshot(modes=["text", "voice", "video"])) == "1.3.0"
    assert next_version("1.2.3", _snapshot(), _snapshot(top_k=8)) == "1.3.0"


def test_taking_something_away_is_major() -> None:
    assert next_version("1.2.3", _snapshot(), _snapshot(chat=False)) == "2.0.0"
    assert next_version("1.2.3", _snapshot(), _snapshot(modes=["text"])) == "2.0.0"
    assert next_version("1.2.3", _snapshot(), _snapshot(top_k=3)) == "2.0.0"


def test_takes_something_away_ignores_additions() -> None:
    assert not takes_something_away({"a": {"b": False}}, {"a": {"b": True}})
    assert takes_something_away({"a": {"b": True}}, {"a": {}})
