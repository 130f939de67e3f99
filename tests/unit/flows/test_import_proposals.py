"""A proposal always passes the platform's own validation: fixed at the source, repaired as a last resort.

Issue 7: 9 of 26 real exports lost their proposal because the importer proposed something
`validate_capabilities` rejects. Every fixture, the three smallest known cases and the safety net's own
repairs are checked against the real validator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cmp.capabilities import plan_defaults, validate_capabilities, validate_plans
from cmp.flows import ImportResult, import_flow
from cmp.flows.proposal import CODE_DEPLOYMENT, PROPOSAL_PATH, valid_proposal

pytestmark = pytest.mark.unit

BASE = "n8n-nodes-base"
LANGCHAIN = "@n8n/n8n-nodes-langchain"


def assert_valid(result: ImportResult) -> None:
    outcome = validate_capabilities(result.proposed_capabilities)
    assert outcome.valid, [error.to_dict() for error in outcome.errors]


def n8n(*nodes: tuple[str, str]) -> ImportResult:
    document = {
        "name": "Minimal",
        "nodes": [
            {"id": f"id{index}", "name": name, "type": node_type, "typeVersion": 1, "parameters": {}}
            for index, (name, node_type) in enumerate(nodes)
        ],
        "connections": {},
    }
    return import_flow(json.dumps(document))


def langflow(*components: tuple[str, str]) -> ImportResult:
    document = {
        "name": "Minimal",
        "last_tested_version": "1.4.1",
        "data": {
            "nodes": [
                {"id": node_id, "type": "genericNode", "data": {"id": node_id, "type": component, "node": {}}}
                for node_id, component in components
            ],
            "edges": [],
        },
    }
    return import_flow(json.dumps(document))


def warnings_of(result: ImportResult) -> dict[str, str]:
    return {warning.path: warning.message for warning in result.warnings}


def test_every_fixture_proposal_validates(fixture_file: str, import_fixtures_dir: Path) -> None:
    path = import_fixtures_dir / fixture_file
    result = import_flow(path.read_bytes(), filename=path.name)
    assert_valid(result)
    assert not any(w.path.startswith(PROPOSAL_PATH) for w in result.warnings), "fixed at the source"


def test_a_manual_trigger_and_one_code_node_propose_code_with_an_enterprise_capable_runtime() -> None:
    result = n8n(("Start", f"{BASE}.manualTrigger"), ("Script", f"{BASE}.code"))
    assert_valid(result)
    proposal = result.proposed_capabilities
    assert proposal["configuration"]["workflowAdvanced"]["actions"] == {"code": True}
    assert proposal["runtime"]["deployment"] == CODE_DEPLOYMENT
    assert f"runtime.deployment '{CODE_DEPLOYMENT}'" in warnings_of(result)["nodes[1].type"]


def test_the_runtime_proposed_for_code_still_serves_the_default_plans() -> None:
    result = n8n(("Start", f"{BASE}.manualTrigger"), ("Script", f"{BASE}.code"))
    capabilities = validate_capabilities(result.proposed_capabilities).capabilities
    plans = [
        {**plan_defaults(tier), "name": tier.title(), "tier": tier, "priceMonthly": price}
        for tier, price in (("starter", 0), ("pro", 49), ("enterprise", 499))
    ]
    assert validate_plans(plans, capabilities)[1] == []


def test_an_n8n_workflow_whose_only_trigger_is_an_mcp_trigger_is_triggered_by_its_api() -> None:
    result = n8n(("MCP", f"{LANGCHAIN}.mcpTrigger"), ("Fetch", f"{BASE}.httpRequest"))
    assert_valid(result)
    advanced = result.proposed_capabilities["configuration"]["workflowAdvanced"]
    assert advanced["triggers"] == {"api": True}
    assert result.proposed_capabilities["interfaces"]["api"]["protocols"] == ["mcp"]


def test_a_langflow_flow_with_only_an_agent_runs_through_the_api() -> None:
    result = langflow(("Agent-aaaaa", "Agent"))
    assert_valid(result)
    proposal = result.proposed_capabilities
    assert (proposal["category"], proposal["subcategory"]) == ("agent", {"agent": "single"})
    assert proposal["interfaces"]["api"] == {"enabled": True, "protocols": ["rest"]}
    advanced = proposal["configuration"]["workflowAdvanced"]
    assert (advanced["enabled"], advanced["triggers"], advanced["actions"]) == (
        True,
        {"api": True},
        {"ai": True},
    )


def test_a_langflow_flow_with_only_a_memory_node_does_not_propose_multi_turn() -> None:
    result = langflow(("Memory-aaaaa", "Memory"))
    assert_valid(result)
    proposal = result.proposed_capabilities
    assert "chat" not in proposal.get("interfaces", {})
    assert proposal["configuration"]["workflowAdvanced"]["data"] == {"statePersistence": True}
    assert "multiTurn is not proposed" in warnings_of(result)["data.nodes[0]"]
    assert "actions.transform is proposed" in warnings_of(result)["data.nodes"]


def test_a_chat_flow_with_a_loop_enables_the_workflow_it_needs() -> None:
    result = langflow(("ChatInput-aaaaa", "ChatInput"), ("LoopComponent-bbbbb", "LoopComponent"))
    assert_valid(result)
    advanced = result.proposed_capabilities["configuration"]["workflowAdvanced"]
    assert advanced["enabled"] is True and advanced["flow"] == {"loops": True}


def test_an_n8n_workflow_without_a_trigger_gets_a_manual_one_with_a_warning() -> None:
    result = n8n(("Sub", f"{BASE}.executeWorkflowTrigger"), ("Fetch", f"{BASE}.httpRequest"))
    assert_valid(result)
    assert result.proposed_capabilities["configuration"]["workflowAdvanced"]["triggers"] == {"manual": True}
    assert "manual trigger is proposed" in warnings_of(result)["nodes"]


# --- the safety net ---------------------------------------------------------------------------------


def automation(**extra: Any) -> dict[str, Any]:
    return {"category": "automation", "subcategory": {"automation": "workflow"}, **extra}


def test_a_valid_proposal_is_left_alone() -> None:
    proposal = automation()
    assert valid_proposal(proposal) == (proposal, [])


def test_an_offending_path_the_proposal_sets_is_dropped_with_the_validators_reason() -> None:
    proposal = automation(
        configuration={
            "workflowAdvanced": {
                "enabled": True,
                "triggers": {"manual": True},
                "actions": {"code": True, "http": True},
            }
        }
    )
    repaired, notes = valid_proposal(proposal)
    assert validate_capabilities(repaired).valid
    assert repaired["configuration"]["workflowAdvanced"]["actions"] == {"http": True}
    assert [(n.path, n.message) for n in notes] == [
        (
            "proposedCapabilities.configuration.workflowAdvanced.actions.code",
            "not proposed: code actions are enterprise only: set runtime.deployment to 'dedicated' or 'hybrid'",
        )
    ]
    assert proposal["configuration"]["workflowAdvanced"]["actions"]["code"] is True, "input not mutated"


def test_a_switched_on_block_missing_a_required_part_loses_its_switch() -> None:
    proposal = {
        "category": "agent",
        "subcategory": {"agent": "single"},
        "configuration": {"workflowAdvanced": {"enabled": True, "actions": {"ai": True}}},
    }
    repaired, notes = valid_proposal(proposal)
    assert validate_capabilities(repaired).valid
    assert notes[0].path == "proposedCapabilities.configuration.workflowAdvanced.enabled"
    assert "configuration.workflowAdvanced.triggers" in notes[0].message


def test_an_unsatisfiable_subcategory_falls_back_to_the_categorys_first() -> None:
    no_schedule = {
        "workflow": {"options": {"schedule": False}},
        "workflowAdvanced": {"triggers": {"schedule": False}},
    }
    proposal = {
        "category": "automation",
        "subcategory": {"automation": "scheduled"},
        "configuration": no_schedule,
    }
    repaired, notes = valid_proposal(proposal)
    assert validate_capabilities(repaired).valid
    assert repaired["subcategory"] == {"automation": "workflow"}
    assert notes[0].path == "proposedCapabilities.subcategory.automation"
    assert notes[0].message.startswith("changed from 'scheduled' to 'workflow': a scheduled automation needs")


def test_duplicate_list_items_are_dropped_one_at_a_time() -> None:
    proposal = automation(runtime={"dependencies": {"models": ["a", "b", "a", "b"]}})
    repaired, notes = valid_proposal(proposal)
    assert validate_capabilities(repaired).valid
    assert repaired["runtime"]["dependencies"]["models"] == ["a", "b"]
    assert len(notes) == 2


def test_a_proposal_that_cannot_be_repaired_keeps_only_its_category() -> None:
    repaired, notes = valid_proposal(
        {"category": "agent", "subcategory": {"agent": "single"}, "interfaces": "x"}
    )
    assert validate_capabilities(repaired).valid
    assert set(repaired) <= {"category", "subcategory"}
    assert notes
