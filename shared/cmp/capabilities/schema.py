"""`capability_json_schema`: the JSON Schema of a seller's draft, served at `GET /v1/capabilities/schema`."""

from __future__ import annotations

import copy
import functools
from typing import Any, get_args

from cmp.capabilities.enums import CATEGORIES, Category
from cmp.capabilities.models import ProductCapabilities


@functools.cache
def _schema() -> dict[str, Any]:
    schema = ProductCapabilities.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        "A product's capability draft. Every field except category and subcategory is optional: omitted "
        "fields take the category's defaults, then the platform defaults. The subcategory object has one "
        "key, the category: " + "; ".join(f"{c}: {', '.join(subs)}" for c, subs in CATEGORIES.items()) + "."
    )
    schema["properties"]["category"] = {
        "title": "Category",
        "type": "string",
        "enum": list(get_args(Category)),
    }
    schema["required"] = ["category", "subcategory"]
    return schema


def capability_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12, camelCase names) of the draft a seller submits."""
    return copy.deepcopy(_schema())
