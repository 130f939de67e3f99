"""The step worker's actions: what one action node does with its rendered configuration.

- `transform`: `expression` in JMESPath (`language: "jmespath"`, the default) or JSONPath (`"jsonpath"`,
  every match as a list) over the step's view of the run (`{"input", "vars", "steps", "item", "index"}`);
  or `set`: an object of name → value whose `{{ }}` templates are already rendered.
- `http`: `method`, `url`, `headers`, `body` (JSON), `auth` (`none`, `basic` {username, password}, `bearer`
  {token}, `api_key` {header, value}), `timeoutSeconds`; the response `{"status", "headers", "body"}` (JSON
  when the response says so, else text), capped at `MAX_RESPONSE_BYTES`. Requests go through the
  `HttpFetcher` port, which refuses private and internal addresses (see `cmp.workflows.http`).
- `storage`: S3 `read` / `write` / `delete` / `list` under the tenant's own prefix
  `workflows/{tenant_id}/` of the workflow bucket; a key that leaves it (`..`, a leading `/`) is refused.
- `messaging`: `webhook` (JSON POST signed `X-CMP-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`
  with `signingKey`), `slack` / `teams` (an incoming-webhook POST of `{"text": …}`), `email` (`to` (one
  address or a list, at most `MAX_RECIPIENTS`), `subject`, `text`) through the `Mailer` port (SES), from
  the platform's sender address.
- `database`: PostgreSQL through the `Databases` port (`cmp.workflows.database`); `connection` holds the
  connection string the worker read from the secret the node names.
- `ai`: `prompt`, optional `system`, `context` (text or a list of texts the model answers from) and
  `language`, through the agent runtime's `LanguageModel` port; the output is `{"text", "model",
  "tokensIn", "tokensOut"}`. The extractive model (the local default) only quotes `context`, so a step
  without one fails with `Ai.NoContext` there.

An action raises `StepFailed(error, cause)`; the worker reports it to Step Functions (`SendTaskFailure`), where
the node's `onError` decides what happens next.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cmp.text import with_article

MAX_RESPONSE_BYTES = 1_000_000
MAX_RECIPIENTS = 50
MAX_OBJECT_BYTES = 1_000_000
DEFAULT_TIMEOUT_SECONDS = 30


class StepFailed(Exception):
    """The step failed: `error` is the error name Step Functions matches (`Http.Status`, `Transform.Invalid`…),
    `cause` says why in plain words."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class HttpFetcher(Protocol):
    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float,
        max_bytes: int,
    ) -> HttpResponse:
        """Send one request; raises `StepFailed` (`Http.Refused` for a forbidden address, `Http.Timeout`,
        `Http.TooLarge` above `max_bytes`, `Http.Unreachable`)."""
        ...


class Objects(Protocol):
    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None: ...
    def get(self, bucket: str, key: str, max_bytes: int) -> bytes | None: ...
    def delete(self, bucket: str, key: str) -> None: ...
    def list(self, bucket: str, prefix: str, limit: int) -> list[dict[str, Any]]: ...


class Databases(Protocol):
    def run(self, connection: str, config: dict[str, Any], timeout_seconds: float) -> dict[str, Any]:
        """One database operation (`cmp.workflows.database`); raises StepFailed."""
        ...


class Mailer(Protocol):
    def send(self, to: list[str], subject: str, text: str) -> str:
        """Send a plain-text email from the platform's sender; returns the message id; raises StepFailed
        (`Email.Rejected`)."""
        ...


@dataclass
class Actions:
    """The actions with their adapters; `bucket` is the workflow storage bucket, `model` the agent
    runtime's language model (built on first use)."""

    fetcher: HttpFetcher
    objects: Objects
    bucket: Callable[[], str]
    databases: Databases
    mailer: Mailer
    model: Callable[[], Any]

    def run(self, node_type: str, config: dict[str, Any], view: dict[str, Any], tenant_id: str) -> Any:
        """The output of one action node (`config` rendered against the run); raises StepFailed."""
        if node_type == "transform":
            return transform(config, view)
        if node_type == "http":
            return self.http(config)
        if node_type == "storage":
            return self.storage(config, tenant_id)
        if node_type == "messaging":
            return self.messaging(config)
        if node_type == "database":
            timeout = float(config.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS))
            return self.databases.run(str(config["connection"]), config, timeout)
        if node_type == "ai":
            return self.ai(config)
        raise StepFailed("Step.Unsupported", f"{node_type} steps cannot run here")

    def http(self, config: dict[str, Any]) -> dict[str, Any]:
        headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        headers.update(_auth_headers(config.get("auth") or {"type": "none"}))
        body = config.get("body")
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            headers.setdefault("content-type", "application/json")
        timeout = float(config.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS))
        response = self.fetcher.request(
            str(config.get("method", "GET")), str(config["url"]), headers, data, timeout, MAX_RESPONSE_BYTES
        )
        if response.status >= 400:
            raise StepFailed(
                "Http.Status", f"{config.get('method', 'GET')} {config['url']} answered {response.status}"
            )
        return {"status": response.status, "headers": response.headers, "body": _decode(response)}

    def storage(self, config: dict[str, Any], tenant_id: str) -> Any:
        prefix = f"workflows/{tenant_id}/"
        operation, key = config.get("operation"), str(config.get("key", ""))
        if key.startswith("/") or ".." in key.split("/"):
            raise StepFailed("Storage.Key", f"the key {key!r} leaves the tenant's prefix")
        if operation == "list":
            return {"objects": self.objects.list(self.bucket(), prefix + key, int(config.get("limit", 100)))}
        if not key:
            raise StepFailed("Storage.Key", "a key is required")
        if operation == "write":
            content = config.get("content")
            data = content.encode() if isinstance(content, str) else json.dumps(content).encode()
            if len(data) > MAX_OBJECT_BYTES:
                raise StepFailed("Storage.TooLarge", f"at most {MAX_OBJECT_BYTES} bytes per object")
            self.objects.put(
                self.bucket(), prefix + key, data, str(config.get("contentType", "application/json"))
            )
            return {"key": key, "size": len(data)}
        if operation == "read":
            found = self.objects.get(self.bucket(), prefix + key, MAX_OBJECT_BYTES)
            if found is None:
                raise StepFailed("Storage.NotFound", f"no object {key!r}")
            text = found.decode("utf-8", errors="replace")
            try:
                return {"key": key, "content": json.loads(text)}
            except ValueError:
                return {"key": key, "content": text}
        self.objects.delete(self.bucket(), prefix + key)
        return {"key": key, "deleted": True}

    def ai(self, config: dict[str, Any]) -> dict[str, Any]:
        from cmp.conversations.ports import Passage, Prompt
        from cmp.conversations.providers import ModelUnavailable

        context = config.get("context") or []
        texts = [str(t) for t in (context if isinstance(context, list) else [context]) if str(t).strip()]
        model = self.model()
        if not texts and not model.generative:
            raise StepFailed(
                "Ai.NoContext", f"the {model.name} model only quotes the step's context; give one"
            )
        prompt = Prompt(
            system=str(config.get("system", "You are a helpful assistant inside an automation.")),
            question=str(config.get("prompt", "")),
            language=str(config.get("language", "en")),
            passages=[Passage(i + 1, text, None, text) for i, text in enumerate(texts)],
            citations=False,
        )
        try:
            completion = model.complete(prompt)
        except ModelUnavailable as e:
            raise StepFailed("Ai.Unavailable", f"the {model.name} model did not answer") from e
        return {
            "text": completion.text,
            "model": model.name,
            "tokensIn": completion.tokens_in,
            "tokensOut": completion.tokens_out,
        }

    def email(self, config: dict[str, Any]) -> dict[str, Any]:
        to = config.get("to")
        recipients = [str(a) for a in (to if isinstance(to, list) else [to]) if a]
        if not recipients or len(recipients) > MAX_RECIPIENTS or not all("@" in a for a in recipients):
            raise StepFailed("Email.Config", f"an email needs 1 to {MAX_RECIPIENTS} recipient addresses")
        message_id = self.mailer.send(recipients, str(config.get("subject", "")), str(config.get("text", "")))
        return {"channel": "email", "to": recipients, "messageId": message_id}

    def messaging(self, config: dict[str, Any]) -> dict[str, Any]:
        channel, url = config.get("channel"), config.get("url")
        if channel == "email":
            return self.email(config)
        if not isinstance(url, str):
            raise StepFailed("Messaging.Config", f"{with_article(channel)} message needs the webhook url")
        if channel == "webhook":
            payload = config.get("payload", {})
            body = json.dumps(payload, separators=(",", ":")).encode()
            headers = {"content-type": "application/json"}
            key = config.get("signingKey")
            if isinstance(key, str) and key:
                headers["x-cmp-signature"] = sign(key, body, int(time.time()))
        elif channel in ("slack", "teams"):
            body = json.dumps({"text": str(config.get("text", ""))}).encode()
            headers = {"content-type": "application/json"}
        else:
            raise StepFailed("Step.Unsupported", f"{channel} messages cannot be sent here yet")
        response = self.fetcher.request("POST", url, headers, body, DEFAULT_TIMEOUT_SECONDS, 64_000)
        if response.status >= 400:
            raise StepFailed("Messaging.Status", f"the {channel} webhook answered {response.status}")
        return {"channel": channel, "status": response.status}


def signature_digest(key: str, body: bytes, timestamp: int) -> str:
    """The lower-case hex HMAC-SHA256 of `"<timestamp>.<body>"` with `key`: the `v1` of `sign`."""
    return hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(key: str, body: bytes, timestamp: int) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the timestamp is signed too, so a receiver can
    refuse old (replayed) deliveries."""
    return f"t={timestamp},v1={signature_digest(key, body, timestamp)}"


def transform(config: dict[str, Any], view: dict[str, Any]) -> Any:
    if "set" in config:
        return config["set"]
    expression = str(config.get("expression", ""))
    if config.get("language", "jmespath") == "jsonpath":
        from jsonpath_ng.exceptions import JsonPathParserError
        from jsonpath_ng.ext import parse as jsonpath

        try:
            return [match.value for match in jsonpath(expression).find(view)]
        except (JsonPathParserError, Exception) as e:
            raise StepFailed("Transform.Invalid", f"JSONPath {expression!r}: {e}") from e
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.search(expression, view)
    except JMESPathError as e:
        raise StepFailed("Transform.Invalid", f"JMESPath {expression!r}: {e}") from e


def _auth_headers(auth: dict[str, Any]) -> dict[str, str]:
    kind = auth.get("type", "none")
    if kind == "basic":
        raw = f"{auth.get('username', '')}:{auth.get('password', '')}".encode()
        return {"authorization": "Basic " + base64.b64encode(raw).decode()}
    if kind == "bearer":
        return {"authorization": f"Bearer {auth.get('token', '')}"}
    if kind == "api_key":
        return {str(auth.get("header", "x-api-key")): str(auth.get("value", ""))}
    return {}


def _decode(response: HttpResponse) -> Any:
    text = response.body.decode("utf-8", errors="replace")
    if "json" in response.headers.get("content-type", ""):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
