"""`GET /v1/widget/chat.js`: the widget script, public, as JavaScript that browsers will not sniff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from cmp.gateway.errors import Refused, SubscriptionNotCallable
from cmp.web.api import make_resolver
from cmp.web.routes.integrate import WIDGET_SCRIPT_PATH
from cmp.web.routes.widget import SCRIPT_PATH, router, widget_script

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]


class _Context:
    function_name = "widget-script"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:widget-script"
    aws_request_id = "req-1"


def _handle(event: dict[str, Any]) -> dict[str, Any]:
    """What functions/widget_script/app.py answers: the same resolver, the same router."""
    app = make_resolver(Logger(service="widget-script"), validated=False)
    app.include_router(router)
    answer: dict[str, Any] = app.resolve(event, _Context())  # type: ignore[arg-type]
    return answer


def test_the_embed_snippet_points_at_the_served_script() -> None:
    assert WIDGET_SCRIPT_PATH == SCRIPT_PATH == "/v1/widget/chat.js"


def test_the_sample_event_gets_the_script_as_javascript() -> None:
    event = json.loads((REPO / "events" / "widget_script.json").read_text())
    answer = _handle(event)
    assert answer["statusCode"] == 200
    headers = {k.lower(): v for k, v in answer["multiValueHeaders"].items()}
    assert headers["content-type"] == ["text/javascript; charset=utf-8"]
    assert headers["x-content-type-options"] == ["nosniff"]
    assert headers["cache-control"] == ["public, max-age=300"]
    assert answer["body"] == widget_script()


def test_another_path_under_widget_is_a_404() -> None:
    event = json.loads((REPO / "events" / "widget_script.json").read_text())
    event["path"] = event["resource"] = "/v1/widget/widget.js"
    assert _handle(event)["statusCode"] == 404


def test_a_refusal_the_authorizer_carried_is_answered_without_validation() -> None:
    """The resolver without validation still answers the runtime authorizer's refusal before any route."""
    event = json.loads((REPO / "events" / "widget_script.json").read_text())
    event["requestContext"]["authorizer"] = Refused.to_authorizer(SubscriptionNotCallable("cancelled"))
    answer = _handle(event)
    assert answer["statusCode"] == 403
    assert json.loads(answer["body"])["error"] == SubscriptionNotCallable.code


def test_the_script_inserts_api_text_as_text_only() -> None:
    """Answers, citations and settings come from the API and from buyers' documents: never parsed as HTML."""
    script = widget_script()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "eval(" not in script
    assert "textContent" in script and "attachShadow" in script
