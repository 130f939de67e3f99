"""Reading untrusted input: junk never raises, type errors get document paths and plain messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cmp.capabilities import CapabilityValidation, ensure_valid, validate_capabilities
from cmp.errors import FieldError, ValidationFailed

pytestmark = pytest.mark.unit

Draft = Callable[..., dict[str, Any]]
ErrorCheck = Callable[[CapabilityValidation, str, str], None]


def _deeply_nested(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["x"] = {}
        node = node["x"]
    return root


def _self_referencing() -> dict[str, Any]:
    chat: dict[str, Any] = {"enabled": True}
    chat["features"] = chat
    return {"category": "agent", "subcategory": {"agent": "single"}, "interfaces": {"chat": chat}}


@pytest.mark.parametrize(
    "junk",
    [
        None,
        [],
        "x",
        5,
        3.5,
        True,
        {"category": 5},
        {"category": None},
        {"interfaces": "x"},
        {"interfaces": {"chat": []}},
        {"configuration": {"rag": {"detail": "full"}}},
        {1: 2},
        _deeply_nested(5000),
        {"category": "agent", "interfaces": {"chat": {"features": _deeply_nested(5000)}}},
        {"category": "agent", "tags": [[[["sales"]]]]},
        _self_referencing(),
        {"category": "agent", "runtime": {"limits": {"timeout": float("nan")}}},
    ],
    ids=lambda junk: type(junk).__name__,
)
def test_junk_comes_back_as_errors_never_as_an_exception(junk: object) -> None:
    result = validate_capabilities(junk)

    assert not result.valid
    assert result.capabilities is None
    assert result.errors
    assert all(isinstance(error, FieldError) and error.message for error in result.errors)


@pytest.mark.parametrize(("junk", "got"), [(None, "null"), ([], "a list"), ("x", "'x'"), (7, "7")])
def test_a_document_that_is_not_an_object_is_reported_at_the_root(junk: object, got: str) -> None:
    result = validate_capabilities(junk)

    assert [error.path for error in result.errors] == [""]
    assert "must be a JSON object" in result.errors[0].message
    assert got in result.errors[0].message


def test_a_category_of_the_wrong_type_lists_the_allowed_values(expect_error: ErrorCheck) -> None:
    result = validate_capabilities({"category": 5})

    expect_error(result, "category", "must be one of 'agent', 'app', 'assistant' or 'automation' (got 5)")
    assert [error.path for error in result.errors].count("category") == 1


def test_unknown_field_is_rejected_with_its_path(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(draft("agent", interfaces={"chat": {"foo": True}}))

    expect_error(result, "interfaces.chat.foo", "unknown field 'foo'")
    expect_error(result, "interfaces.chat.foo", "expected one of: enabled, modes, features")


def test_unknown_field_close_to_a_real_one_suggests_it(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(draft("agent", configuration={"rag": {"limits": {"maxSizeMb": 10}}}))

    expect_error(result, "configuration.rag.limits.maxSizeMb", "did you mean 'maxSizeMB'?")


def test_unknown_top_level_field_is_rejected(draft: Draft, expect_error: ErrorCheck) -> None:
    expect_error(validate_capabilities(draft("agent", pricing={})), "pricing", "unknown field 'pricing'")


def test_a_bad_list_item_is_reported_at_its_index(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(draft("agent", interfaces={"chat": {"modes": ["text", "smell"]}}))

    expect_error(
        result, "interfaces.chat.modes[1]", "must be one of 'text', 'voice' or 'video' (got 'smell')"
    )


def test_strings_and_numbers_are_not_read_as_booleans(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        draft("agent", interfaces={"chat": {"enabled": "yes", "features": {"streaming": 1}}})
    )

    expect_error(result, "interfaces.chat.enabled", "must be true or false (got 'yes')")
    expect_error(result, "interfaces.chat.features.streaming", "must be true or false (got 1)")


def test_limits_must_be_whole_numbers(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(draft("agent", runtime={"limits": {"rateLimit": "60", "timeout": 1.5}}))

    expect_error(result, "runtime.limits.rateLimit", "must be a whole number (got '60')")
    expect_error(result, "runtime.limits.timeout", "must be a whole number (got 1.5)")


def test_an_object_given_as_a_scalar_is_reported(draft: Draft, expect_error: ErrorCheck) -> None:
    expect_error(
        validate_capabilities(draft("agent", interfaces={"widget": 5})),
        "interfaces.widget",
        "must be an object (got 5)",
    )


def test_a_non_text_key_is_reported_by_name(draft: Draft, expect_error: ErrorCheck) -> None:
    expect_error(
        validate_capabilities(draft("agent", interfaces={7: True})),
        "interfaces.7",
        "field names must be text",
    )


def test_snake_case_names_are_accepted_and_stored_in_camel_case(draft: Draft) -> None:
    result = validate_capabilities(
        draft(
            "agent",
            interfaces={"chat": {"features": {"file_upload": True, "suggested_replies": True}}},
            configuration={
                "rag": {"limits": {"max_size_mb": 100}},
                "branding": {"enabled": True, "options": {"custom_css": True}},
            },
        )
    )

    assert result.valid, result.errors
    assert result.capabilities is not None
    features = result.capabilities.to_document()["interfaces"]["chat"]["features"]
    assert features["fileUpload"] is True and features["suggestedReplies"] is True
    assert "file_upload" not in features
    assert result.capabilities.to_document()["configuration"]["rag"]["limits"]["maxSizeMB"] == 100
    assert result.capabilities.to_document()["configuration"]["branding"]["options"]["customCSS"] is True


def test_a_field_given_in_both_spellings_is_reported(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        draft("agent", interfaces={"chat": {"features": {"multi_turn": True, "multiTurn": False}}})
    )

    expect_error(result, "interfaces.chat.features.multi_turn", "given twice, also as 'multiTurn'")


def test_camel_case_round_trip_is_lossless(draft: Draft) -> None:
    first = validate_capabilities(
        draft(
            "automation",
            configuration={"workflowAdvanced": {"detail": {"triggers": {"api": {"async": True}}}}},
            runtime={"dependencies": {"mcpServers": ["github"]}},
        )
    )
    assert first.capabilities is not None
    assert (
        first.capabilities.to_document()["configuration"]["workflowAdvanced"]["detail"]["triggers"]["api"][
            "async"
        ]
        is True
    )
    assert first.capabilities.to_document()["runtime"]["dependencies"]["mcpServers"] == ["github"]

    second = validate_capabilities(first.capabilities.to_document())

    assert second.capabilities is not None
    assert second.capabilities.to_document() == first.capabilities.to_document()


def test_type_and_semantic_errors_are_all_reported_together(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        {
            "category": "agent",
            "subcategory": {"app": "tool"},
            "tags": ["sales", "astrology"],
            "interfaces": {"chat": {"enabled": False, "features": {"voiceClone": True, "fileUpload": True}}},
            "configuration": {"rag": {"retrieval": {"topK": 99}, "grounding": {"strictMode": True}}},
            "runtime": {"limits": {"timeout": 5000, "concurrency": "lots"}},
        }
    )

    expect_error(result, "subcategory.app", "does not match category 'agent'")
    expect_error(result, "tags[1]", "got 'astrology'")
    expect_error(result, "interfaces.chat.features.voiceClone", "unknown field")
    expect_error(result, "interfaces.chat.features.fileUpload", "interfaces.chat is disabled")
    expect_error(result, "configuration.rag.retrieval.topK", "at most 50")
    expect_error(result, "configuration.rag.grounding.fallback", "contradicts")
    expect_error(result, "runtime.limits.timeout", "at most 900")
    expect_error(result, "runtime.limits.concurrency", "whole number")
    assert len(result.errors) == 8


def test_ensure_valid_returns_the_stored_document(draft: Draft) -> None:
    stored = ensure_valid(draft("assistant")).to_document()

    assert stored["category"] == "assistant"
    assert stored["configuration"]["output"]["enabled"] is True


def test_ensure_valid_raises_validation_failed_with_every_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        ensure_valid({"category": "robot", "interfaces": {"chat": {"modes": ["smell"]}}})

    assert caught.value.message == "capabilities are invalid"
    assert caught.value.status == 422
    paths = {error.path for error in caught.value.errors}
    assert {"category", "interfaces.chat.modes[0]"} <= paths
