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


def swagger(**top: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "swagger": "2.0",
        "info": {"title": "Pets"},
        "host": "petstore.example.com",
        "basePath": "/v2/",
        "paths": {
            "/pets": {"get": {"operationId": "listPets"}},
            "/pets/{id}": {"delete": {"operationId": "del"}},
        },
    }
    document.update(top)
    return document


def test_swagger_2_is_converted_with_its_server_and_full_paths() -> None:
    result = imported(swagger(schemes=["http", "https"]))
    assert [(c["method"], c["path"]) for c in result.components] == [
        ("GET", "/v2/pets"),
        ("DELETE", "/v2/pets/{id}"),
    ]
    assert warnings_of(result)["swagger"] == (
        "Swagger 2.0, converted to OpenAPI 3 terms: the server is 'https://petstore.example.com/v2' "
        "(schemes + host + basePath); tool paths are given from the host root (starting with basePath '/v2')"
    )
    assert result.proposed_capabilities["runtime"]["dependencies"]["services"] == ["petstore.example.com"]


def test_swagger_2_with_only_http_and_no_base_path() -> None:
    result = imported(swagger(schemes=["http"], basePath=None))
    assert result.components[0]["path"] == "/pets"
    assert "'http://petstore.example.com'" in warnings_of(result)["swagger"]


def test_swagger_2_without_a_host_says_so() -> None:
    document = swagger()
    del document["host"]
    result = imported(document)
    assert "host is missing" in warnings_of(result)["swagger"]
    assert "services" not in result.proposed_capabilities.get("runtime", {}).get("dependencies", {})


@pytest.mark.parametrize(
    ("reference", "scope"),
    [("ops/a.yml", "an external reference"), ("#/x-operations/a", "a reference inside this document")],
)
def test_an_operation_that_is_only_a_reference_is_reported_and_not_made_a_tool(
    reference: str, scope: str
) -> None:
    result = imported(spec({"/a": {"get": {"$ref": reference}, "post": {"operationId": "createA"}}}))
    assert [c["id"] for c in result.components] == ["createA"]
    assert warnings_of(result) == {
        'paths["/a"].get.$ref': f"unresolved operation: '{reference}' is {scope}, and references are not "
        "followed; no tool is made from it (inline it to import it)"
    }


def test_a_path_item_reference_is_reported_as_unresolved() -> None:
    result = imported(spec({"/a": {"$ref": "paths/a.yml"}, "/b": {"get": {"operationId": "getB"}}}))
    assert [c["id"] for c in result.components] == ["getB"]
    assert warnings_of(result)['paths["/a"].$ref'].startswith("unresolved path item: 'paths/a.yml'")


def test_repeated_warnings_do_not_hide_a_rare_one() -> None:
    paths = {f"/r{index}": {"get": {"summary": "no id"}} for index in range(800)}
    paths["/ref"] = {"get": {"$ref": "ops/a.yml"}}
    result = imported(spec(paths))
    messages = [w.message for w in result.warnings]
    assert len(messages) < 10
    assert any(
        m.startswith("795 more warnings like this (800 in all): missing; tool id derived as")
        for m in messages
    )
    assert any(m.startswith("unresolved operation") for m in messages)
