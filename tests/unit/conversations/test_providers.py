"""The production language models against recorded provider responses: Bedrock Converse through botocore's
Stubber, an OpenAI-compatible endpoint through httpx's MockTransport (JSON and server-sent events)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import httpx
import pytest
from botocore.stub import ANY, Stubber

from cmp.conversations.model import ImageInput
from cmp.conversations.ports import Completion, Prompt
from cmp.conversations.providers import BedrockConverse, ModelUnavailable, OpenAICompatible

pytestmark = pytest.mark.unit
PROMPT = Prompt(
    system="You are Ana. Respond in Spanish (es).",
    question="¿Es compatible este cargador?",
    language="es",
    history=(("user", "Hola"), ("assistant", "¡Hola! ¿En qué puedo ayudarle?")),
    image=ImageInput("image/png", b"\x89PNG\r\n\x1a\n"),
)
# A Converse response as Bedrock returns it (shape of the API reference's example).
CONVERSE_RESPONSE: dict[str, Any] = {
    "output": {
        "message": {
            "role": "assistant",
            "content": [{"text": "No, el cargador de 65W no es compatible [1]."}],
        }
    },
    "stopReason": "end_turn",
    "usage": {"inputTokens": 412, "outputTokens": 17, "totalTokens": 429},
    "metrics": {"latencyMs": 812},
}


def _bedrock() -> tuple[Any, Stubber]:
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client, Stubber(client)


def test_bedrock_converse_sends_system_history_and_image_and_reads_usage() -> None:
    client, stubber = _bedrock()
    stubber.add_response(
        "converse",
        CONVERSE_RESPONSE,
        {
            "modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "system": [{"text": PROMPT.system}],
            "messages": [
                {"role": "user", "content": [{"text": "Hola"}]},
                {"role": "assistant", "content": [{"text": "¡Hola! ¿En qué puedo ayudarle?"}]},
                {"role": "user", "content": [
                    {"text": PROMPT.question},
                    {"image": {"format": "png", "source": {"bytes": b"\x89PNG\r\n\x1a\n"}}},
                ]},
            ],
            "inferenceConfig": ANY,
        },
    )  # fmt: skip
    with stubber:
        model = BedrockConverse("anthropic.claude-3-5-sonnet-20240620-v1:0", vision=True, client=client)
        completion = model.complete(PROMPT)
    assert completion == Completion("No, el cargador de 65W no es compatible [1].", 412, 17)


def test_a_bedrock_error_is_model_unavailable() -> None:
    client, stubber = _bedrock()
    stubber.add_client_error("converse", "ThrottlingException", "Too many requests", 429)
    with stubber, pytest.raises(ModelUnavailable, match="did not answer"):
        BedrockConverse("m", vision=False, client=client).complete(PROMPT)


def _openai(handler: Any) -> OpenAICompatible:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return OpenAICompatible("https://llm.example/v1", "gpt-4o", lambda: "sk-test", vision=True, client=client)


def test_openai_compatible_sends_messages_with_the_image_as_a_data_url() -> None:
    seen: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"], seen["auth"] = str(request.url), request.headers["authorization"]
        seen["body"] = json.loads(request.content)
        return httpx.Response(200, json={
            "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "No es compatible [1]."},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 380, "completion_tokens": 9, "total_tokens": 389},
        })  # fmt: skip

    completion = _openai(handler).complete(PROMPT)
    assert completion == Completion("No es compatible [1].", 380, 9)
    assert seen["url"] == "https://llm.example/v1/chat/completions" and seen["auth"] == "Bearer sk-test"
    messages = seen["body"]["messages"]
    assert messages[0] == {"role": "system", "content": PROMPT.system}
    assert messages[1:3] == [
        {"role": "user", "content": "Hola"},
        {"role": "assistant", "content": PROMPT.history[1][1]},
    ]
    assert messages[3]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")


def test_openai_compatible_streams_server_sent_events() -> None:
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"index": 0, "delta": {"content": "No es "}}]},
        {"choices": [{"index": 0, "delta": {"content": "compatible."}}]},
        {"choices": [], "usage": {"prompt_tokens": 380, "completion_tokens": 4, "total_tokens": 384}},
    ]
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    pieces = list(_openai(handler).stream(PROMPT))
    assert pieces == ["No es ", "compatible.", Completion("No es compatible.", 380, 4)]


def test_an_openai_error_is_model_unavailable_without_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": "bad key sk-test"}})

    with pytest.raises(ModelUnavailable) as failed:
        _openai(handler).complete(PROMPT)
    assert "401" in str(failed.value) and "sk-test" not in str(failed.value)
