"""Production language models: Amazon Bedrock Converse (boto3) and any OpenAI-compatible chat completions
endpoint (httpx). Both take an optional client and build a default only when none is given; both turn
vendor errors into `ModelUnavailable` (503).

Wire formats: Bedrock `Converse` (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html:
`system` text blocks, `messages` with `text` and `image` blocks, `usage.inputTokens/outputTokens`); OpenAI
`POST /chat/completions` (`messages` with `image_url` data URLs; `usage.prompt_tokens/completion_tokens`;
`stream: true` answers server-sent events of `choices[0].delta.content`, then `data: [DONE]`, with usage in
the last chunk when `stream_options.include_usage` is set).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

from cmp.conversations.ports import Completion, Prompt
from cmp.errors import DomainError

MAX_TOKENS = 1024
"""The longest answer asked of a model, in its tokens."""


class ModelUnavailable(DomainError):
    """The language model provider did not answer (503; the client may retry)."""

    status = 503


class BedrockConverse:
    """`LanguageModel` over Bedrock Converse. `vision` must say whether `model_id` reads images (Claude 3+
    and Nova Lite/Pro do; text models do not). Streaming: one piece, the whole answer (Converse without
    ConverseStream: the Lambda's API Gateway REST response is buffered anyway)."""

    generative = True

    def __init__(self, model_id: str, vision: bool, client: Any = None) -> None:
        self.name = model_id
        self.vision = vision
        self._client = client

    def _messages(self, prompt: Prompt) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = [
            {"role": role, "content": [{"text": text}]} for role, text in prompt.history
        ]
        content: list[dict[str, Any]] = [{"text": prompt.question}]
        if prompt.image is not None:
            content.append({"image": {"format": prompt.image.format, "source": {"bytes": prompt.image.data}}})
        messages.append({"role": "user", "content": content})
        return messages

    def complete(self, prompt: Prompt) -> Completion:
        if self._client is None:
            from cmp.aws.clients import client

            self._client = client("bedrock-runtime")
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._client.converse(
                modelId=self.name,
                system=[{"text": prompt.system}],
                messages=self._messages(prompt),
                inferenceConfig={"maxTokens": MAX_TOKENS},
            )
        except (BotoCoreError, ClientError) as e:
            raise ModelUnavailable(f"the language model {self.name} did not answer: {e}") from e
        text = "".join(block.get("text", "") for block in answer["output"]["message"]["content"])
        usage = answer.get("usage", {})
        return Completion(text, int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))

    def stream(self, prompt: Prompt) -> Iterator[str | Completion]:
        completion = self.complete(prompt)
        yield completion.text
        yield completion


class OpenAICompatible:
    """`LanguageModel` over an OpenAI-compatible `/chat/completions` endpoint (OpenAI, Azure OpenAI, vLLM,
    Ollama...). `api_key` is read on first use (from Secrets Manager in production) and never logged;
    `vision` must say whether `model` reads images."""

    generative = True

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: Callable[[], str],
        vision: bool,
        client: Any = None,
        timeout: float = 60.0,
    ) -> None:
        self.name = model
        self.vision = vision
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._client = client
        self._timeout = timeout

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.Client(timeout=self._timeout)
        return self._client

    def _body(self, prompt: Prompt, stream: bool) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": prompt.system}]
        messages += [{"role": role, "content": text} for role, text in prompt.history]
        if prompt.image is None:
            messages.append({"role": "user", "content": prompt.question})
        else:
            data = base64.b64encode(prompt.image.data).decode()
            messages.append({"role": "user", "content": [
                {"type": "text", "text": prompt.question},
                {"type": "image_url", "image_url": {"url": f"data:{prompt.image.media_type};base64,{data}"}},
            ]})  # fmt: skip
        body: dict[str, Any] = {"model": self.name, "messages": messages, "max_tokens": MAX_TOKENS}
        if stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        return body

    def _post(self, body: dict[str, Any]) -> Any:
        import httpx

        try:
            request = self._http().build_request(
                "POST", f"{self._base_url}/chat/completions", json=body,
                headers={"Authorization": f"Bearer {self._api_key()}"},
            )  # fmt: skip
            response = self._http().send(request, stream=bool(body.get("stream")))
        except httpx.HTTPError as e:
            raise ModelUnavailable(
                f"the language model {self.name} did not answer: {type(e).__name__}"
            ) from e
        if response.status_code >= 400:
            response.read()
            response.close()
            raise ModelUnavailable(f"the language model {self.name} answered HTTP {response.status_code}")
        return response

    def complete(self, prompt: Prompt) -> Completion:
        response = self._post(self._body(prompt, stream=False))
        try:
            answer = response.json()
            text = answer["choices"][0]["message"]["content"] or ""
            usage = answer.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise ModelUnavailable(f"the language model {self.name} sent an unreadable answer") from e
        return Completion(text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))

    def stream(self, prompt: Prompt) -> Iterator[str | Completion]:
        response = self._post(self._body(prompt, stream=True))
        pieces: list[str] = []
        usage: dict[str, Any] = {}
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        pieces.append(text)
                        yield text
        except (ValueError, KeyError, TypeError) as e:
            raise ModelUnavailable(f"the language model {self.name} sent an unreadable stream") from e
        finally:
            response.close()
        yield Completion(
            "".join(pieces), int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        )
