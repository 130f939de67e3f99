"""OpenAPI: operations become tools, security schemes become CMP authentication kinds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cmp.flows import ImportResult, import_flow

pytestmark = pytest.mark.unit


def spec(paths: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"openapi": "3.0.3", "info": {"title": "Weather", "description": "Forecasts."}}
    document["paths"] = paths if paths is not None else {"/forecast": {"get": {"operationId": "getForecast"}}}
    document.update(top)
    return document


def imported(document: dict[str, Any]) -> ImportResult:
    return import_flow(json.dumps(document))


def schemes(**security_schemes: Any) -> dict[str, Any]:
    return {"components": {"securitySchemes": security_schemes}}


def warnings_of(result: ImportResult) -> dict[str, str]:
    return {warning.path: warning.message for warning in result.warnings}


def test_a_small_api_is_a_tool_app_with_rest() -> None:
    result = imported(spec())
    proposal = result.proposed_capabilities
    assert (proposal["category"], proposal["subcategory"]) == ("app", {"app": "tool"})
    assert proposal["interfaces"]["api"] == {"enabled": True, "protocols": ["rest"]}
    assert result.components == [
        {
            "id": "getForecast",
            "type": "operation",
            "name": "getForecast",
            "method": "GET",
            "path": "/forecast",
        }
    ]
    assert (result.name, result.description, result.format_version) == ("Weather", "Forecasts.", "3.0.3")
    assert result.warnings == []


def test_a_large_api_is_a_connector() -> None:
    paths = {f"/things/{i}": {"get": {"operationId": f"getThing{i}"}} for i in range(6)}
    assert imported(spec(paths)).proposed_capabilities["subcategory"] == {"app": "connector"}


def test_every_method_of_every_path_is_a_tool_with_its_summary_and_tags() -> None:
    paths = {
        "/pets": {
            "parameters": [],
            "get": {"operationId": "listPets", "summary": "List pets", "tags": ["pets"]},
            "post": {"operationId": "addPet", "deprecated": True},
        }
    }
    components = imported(spec(paths)).components
    assert components == [
        {
            "id": "listPets",
            "type": "operation",
            "name": "List pets",
            "method": "GET",
            "path": "/pets",
            "tags": ["pets"],
        },
        {
            "id": "addPet",
            "type": "operation",
            "name": "addPet",
            "method": "POST",
            "path": "/pets",
            "deprecated": True,
        },
    ]


@pytest.mark.parametrize(
    ("scheme", "kind"),
    [
        ({"type": "apiKey", "name": "X-Key", "in": "header"}, "api_key"),
        ({"type": "oauth2", "flows": {}}, "oauth2"),
        ({"type": "openIdConnect", "openIdConnectUrl": "https://id.example.com"}, "oauth2"),
        ({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}, "jwt"),
        ({"type": "http", "scheme": "Bearer"}, "jwt"),
    ],
)
def test_security_schemes_map_to_cmp_authentication(scheme: dict[str, Any], kind: str) -> None:
    result = imported(spec(**schemes(main=scheme)))
    assert result.proposed_capabilities["interfaces"]["api"]["authentication"] == [kind]


@pytest.mark.parametrize(
    ("scheme", "path"),
    [
        ({"type": "http", "scheme": "basic"}, "components.securitySchemes.main.scheme"),
        ({"type": "http", "scheme": "digest"}, "components.securitySchemes.main.scheme"),
        ({"type": "mutualTLS"}, "components.securitySchemes.main.type"),
        ({"$ref": "#/components/securitySchemes/other"}, "components.securitySchemes.main.$ref"),
    ],
)
def test_schemes_without_a_cmp_equivalent_are_warned_about(scheme: dict[str, Any], path: str) -> None:
    result = imported(spec(**schemes(main=scheme)))
    assert path in warnings_of(result)
    assert "authentication" not in result.proposed_capabilities["interfaces"]["api"]


def test_missing_operation_ids_are_derived_with_a_warning() -> None:
    result = imported(spec({"/pets/{petId}/photos": {"get": {"summary": "Photos"}}}))
    assert result.components[0]["id"] == "get_pets_petId_photos"
    assert warnings_of(result) == {
        'paths["/pets/{petId}/photos"].get.operationId': "missing; tool id derived as 'get_pets_petId_photos'"
    }


def test_duplicate_operation_ids_are_warned_about() -> None:
    paths = {"/a": {"get": {"operationId": "same"}}, "/b": {"get": {"operationId": "same"}}}
    assert 'paths["/b"].get.operationId' in warnings_of(imported(spec(paths)))


def test_unreadable_path_items_and_operations_are_skipped_with_warnings() -> None:
    paths = {
        "/ref": {"$ref": "#/components/pathItems/shared"},
        "/broken": ["get"],
        "/odd": {"get": "nope", "fetch": {}, "x-internal": True},
        "/ok": {"get": {"operationId": "ok"}},
    }
    result = imported(spec(paths))
    assert [c["id"] for c in result.components] == ["ok"]
    assert set(warnings_of(result)) == {
        'paths["/ref"].$ref',
        'paths["/broken"]',
        'paths["/odd"].get',
        'paths["/odd"].fetch',
    }


def test_webhooks_callbacks_and_batch_operations_are_api_features() -> None:
    paths = {
        "/jobs/batch": {"post": {"operationId": "submitBatch"}},
        "/jobs": {"post": {"operationId": "submitJob", "callbacks": {"done": {}}}},
    }
    webhooks = {"jobFinished": {"post": {"summary": "Job finished"}}}
    result = imported(spec(paths, openapi="3.1.0", webhooks=webhooks))
    assert result.proposed_capabilities["interfaces"]["api"]["features"] == {
        "webhooks": True,
        "callbacks": True,
        "batch": True,
    }
    assert result.components[-1] == {
        "id": "jobFinished",
        "type": "webhook",
        "name": "Job finished",
        "method": "POST",
        "event": "jobFinished",
    }


def test_server_hosts_are_service_dependencies() -> None:
    servers = [{"url": "https://api.example.com/v1"}, {"url": "/relative"}, {"description": "no url"}]
    result = imported(spec(servers=servers))
    assert result.proposed_capabilities["runtime"]["dependencies"]["services"] == ["api.example.com"]
    assert "servers[2]" in warnings_of(result)


def test_a_spec_without_paths_imports_with_a_warning() -> None:
    document = spec()
    del document["paths"]
    result = imported(document)
    assert result.components == []
    assert "paths" in warnings_of(result)


def test_a_missing_title_falls_back_to_the_file_name() -> None:
    document = spec(info={"version": "1"})
    result = import_flow(json.dumps(document), filename="billing_api.openapi.json")
    assert result.name == "Billing api"
    assert warnings_of(result)["info.title"] == "missing; named 'Billing api' after the file name"


def test_an_unquoted_yaml_version_is_read_as_text() -> None:
    result = import_flow("openapi: 3.0\ninfo: {title: Old}\npaths: {}\n", filename="old.yaml")
    assert result.format_version == "3.0"


def test_swagger_2_is_imported_on_a_best_effort_basis() -> None:
    document = {
        "swagger": "2.0",
        "info": {"title": "Legacy"},
        "host": "legacy.example.com",
        "paths": {"/items": {"get": {"operationId": "listItems"}}},
        "securityDefinitions": {
            "key": {"type": "apiKey", "name": "key", "in": "query"},
            "b": {"type": "basic"},
        },
    }
    result = imported(document)
    assert result.format_version == "2.0"
    assert result.proposed_capabilities["interfaces"]["api"]["authentication"] == ["api_key"]
    assert result.proposed_capabilities["runtime"]["dependencies"]["services"] == ["legacy.example.com"]
    assert {"swagger", "securityDefinitions.b.type"} <= set(warnings_of(result))


def test_a_future_major_version_is_imported_with_a_warning() -> None:
    result = imported(spec(openapi="4.0.0"))
    assert result.format_version == "4.0.0"
    assert "openapi" in warnings_of(result)
