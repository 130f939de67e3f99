"""Files holding several flows: `n8n export:workflow` arrays and Langflow `{"flows": [...]}` bundles."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cmp.errors import ValidationFailed
from cmp.flows import import_flow

pytestmark = pytest.mark.unit


def n8n_workflow(name: str, *node_types: str) -> dict[str, Any]:
    nodes = [
        {
            "id": f"{name}-{index}",
            "name": f"Node {index}",
            "type": node_type,
            "typeVersion": 1,
            "parameters": {},
        }
        for index, node_type in enumerate(("n8n-nodes-base.manualTrigger", *node_types))
    ]
    return {"name": name, "nodes": nodes, "connections": {}}


def langflow_flow(name: str) -> dict[str, Any]:
    chat = [
        {"id": f"{kind}-{name[:5]:a<5}", "type": "genericNode", "data": {"type": kind, "node": {}}}
        for kind in ("ChatInput", "ChatOutput")
    ]
    return {"name": name, "last_tested_version": "1.4.1", "data": {"nodes": chat, "edges": []}}


def test_an_n8n_cli_export_of_one_workflow_imports_it() -> None:
    workflow = n8n_workflow("Only one", "n8n-nodes-base.httpRequest")
    result = import_flow(json.dumps([workflow]))
    assert (result.format, result.name) == ("n8n", "Only one")
    assert result.flow_definition == workflow
    assert result.warnings == []


def test_an_n8n_cli_export_of_several_workflows_asks_which_one() -> None:
    export = [n8n_workflow("Alpha"), n8n_workflow("Beta"), n8n_workflow("Gamma")]
    with pytest.raises(ValidationFailed) as caught:
        import_flow(json.dumps(export))
    assert caught.value.message == "The file holds 3 n8n workflows; choose one by name"
    assert [(e.path, e.message) for e in caught.value.errors] == [
        (
            "flow_name",
            "the file holds 3 n8n workflows ('Alpha', 'Beta', 'Gamma'); give flow_name to import one of them",
        )
    ]


def test_flow_name_picks_one_workflow_and_warnings_point_into_the_array() -> None:
    export = [n8n_workflow("Alpha"), n8n_workflow("Beta", "n8n-nodes-acme.custom")]
    result = import_flow(json.dumps(export), flow_name="Beta")
    assert result.name == "Beta"
    assert result.flow_definition == export[1]
    assert [(w.path, w.message) for w in result.warnings] == [
        ("[1]", "the file holds 2 n8n workflows; imported 'Beta' as flow_name asked"),
        ("[1].nodes[1].type", "unknown node type 'n8n-nodes-acme.custom' imported as opaque step"),
    ]


def test_errors_inside_the_picked_workflow_point_into_the_array() -> None:
    export = [n8n_workflow("Alpha"), {"name": "Broken", "nodes": [], "connections": {}}]
    with pytest.raises(ValidationFailed) as caught:
        import_flow(json.dumps(export), flow_name="Broken")
    assert [e.path for e in caught.value.errors] == ["[1].nodes"]


def test_a_flow_name_that_names_nothing_lists_what_there_is() -> None:
    with pytest.raises(ValidationFailed) as caught:
        import_flow(json.dumps([n8n_workflow("Alpha"), n8n_workflow("Beta")]), flow_name="Delta")
    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("flow_name", "no n8n workflow is named 'Delta'; the file holds 'Alpha', 'Beta'")
    ]


def test_duplicate_names_take_the_first_and_say_so() -> None:
    export = [n8n_workflow("Same", "n8n-nodes-base.httpRequest"), n8n_workflow("Same")]
    result = import_flow(json.dumps(export), flow_name="Same")
    assert result.flow_definition == export[0]
    assert "2 are named so, the first was taken" in result.warnings[0].message


def test_a_langflow_bundle_says_how_many_flows_it_holds_and_names_them() -> None:
    bundle = {"flows": [langflow_flow("Support bot"), langflow_flow("Sales bot")]}
    with pytest.raises(ValidationFailed) as caught:
        import_flow(json.dumps(bundle))
    assert caught.value.errors[0].message == (
        "the file holds 2 Langflow flows ('Support bot', 'Sales bot'); give flow_name to import one of them"
    )
    result = import_flow(json.dumps(bundle), flow_name="Sales bot")
    assert (result.format, result.name) == ("langflow", "Sales bot")
    assert result.warnings[0].path == "flows[1]"


def test_a_langflow_bundle_of_one_flow_imports_it() -> None:
    result = import_flow(json.dumps({"flows": [langflow_flow("Solo")]}))
    assert result.name == "Solo"


def test_flow_name_is_ignored_for_a_file_holding_one_flow() -> None:
    result = import_flow(json.dumps(n8n_workflow("Alpha")), flow_name="Something else")
    assert result.name == "Alpha"


def test_a_chosen_format_is_still_checked_against_the_picked_flow() -> None:
    with pytest.raises(ValidationFailed) as caught:
        import_flow(json.dumps([n8n_workflow("Alpha")]), "langflow")
    assert [e.path for e in caught.value.errors] == ["format"]


def test_huge_bundles_list_only_the_first_names() -> None:
    export = [n8n_workflow(f"W{index}") for index in range(30)]
    with pytest.raises(ValidationFailed) as caught:
        import_flow(json.dumps(export))
    assert caught.value.errors[0].message.endswith("'W19' and 10 more); give flow_name to import one of them")
