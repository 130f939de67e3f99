"""Each function runs in its own process, as a Lambda instance would: its own modules, its own
environment, one invocation at a time. The parent talks to it over a pipe."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cmp.aws.clients import new_client
from cmp_dev.local.emf import EmfStream

FORWARDED_NAMESPACES = frozenset({"CMP/Runtime"})
"""EMF namespaces whose metrics reach the stack's CloudWatch (`cmp.sla.metrics.NAMESPACE`, read by the SLA
evaluator); the platform's other metrics stay in the function logs."""

_SPAWN = multiprocessing.get_context("spawn")
# Signals a terminal sends to its whole foreground process group (Ctrl-C, hang-up). A worker never acts on
# them: the parent decides when the stack stops and then terminates its workers, so Ctrl-C prints no
# KeyboardInterrupt traceback per worker. They stay blocked from fork to `_serve`, closing the window in
# which a starting interpreter would still raise KeyboardInterrupt.
_PARENT_SIGNALS = {signal.SIGINT, signal.SIGHUP}


class FunctionError(Exception):
    """The handler raised: `error_type` and `message` as Lambda reports them."""

    def __init__(self, error_type: str, message: str, trace: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.trace = trace


@dataclass
class LambdaContext:
    function_name: str
    timeout_seconds: int
    aws_request_id: str = ""
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(code_dir: Path, module: str, attribute: str, unique_name: str) -> Any:
    """Import a handler module under a unique name, so two functions' `app.py` never collide."""
    spec = importlib.util.spec_from_file_location(unique_name, code_dir / f"{module.replace('.', '/')}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {module} from {code_dir}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[unique_name] = loaded
    spec.loader.exec_module(loaded)
    return loaded if attribute == "" else getattr(loaded, attribute)


def _serve(
    conn: Connection, code_dir: str, module: str, attribute: str, name: str, timeout: int, env: dict[str, str]
) -> None:
    for number in _PARENT_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _PARENT_SIGNALS)
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, code_dir)
    # function logs never mix with a command's output (`cmp invoke` prints JSON); EMF lines also become
    # metrics in the stack's CloudWatch, as CloudWatch Logs extracts them in AWS
    # (only the namespace something reads locally: the SLA's runtime metrics)
    sys.stdout = EmfStream(sys.stderr, lambda: new_client("cloudwatch"), FORWARDED_NAMESPACES)
    try:
        loaded = load_handler(Path(code_dir), module, "", f"cmp_fn_{name}")
        handler = getattr(loaded, attribute)
    except Exception:  # an init error, reported to the parent as Lambda reports Runtime.ImportModuleError
        conn.send(("init_error", traceback.format_exc()))
        return
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        kind, payload = request
        try:
            if kind == "openapi":
                app = getattr(loaded, "app", None)
                result = (
                    app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)
                    if app is not None
                    else None
                )
            else:
                context = LambdaContext(
                    name, timeout, str(uuid.uuid4()), _deadline=time.monotonic() + timeout
                )
                result = handler(payload, context)
            conn.send(("ok", result))
        except Exception as e:  # the handler's own failure, reported like Lambda does
            conn.send(("error", (type(e).__name__, str(e), traceback.format_exc())))


class FunctionProcess:
    def __init__(
        self, name: str, code_dir: Path, module: str, attribute: str, timeout: int, env: dict[str, str]
    ) -> None:
        self.name = name
        self._args = (str(code_dir), module, attribute, name, timeout, env)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._process: Any = None

    def start(self) -> None:
        parent, child = _SPAWN.Pipe()
        self._process = _SPAWN.Process(
            target=_serve, args=(child, *self._args), daemon=True, name=f"fn-{self.name}"
        )
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _PARENT_SIGNALS)
        try:
            self._process.start()  # the child inherits this thread's mask: see _PARENT_SIGNALS
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        child.close()
        status, detail = parent.recv()
        if status != "ready":
            self._process.join(5)
            self._process = None
            raise FunctionError("Runtime.ImportModuleError", f"function {self.name} failed to start", detail)
        self._conn = parent

    def invoke(self, event: Any) -> Any:
        return self._call("invoke", event)

    def openapi(self) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._call("openapi", None)
        return result

    def _call(self, kind: str, payload: Any) -> Any:
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self.start()
            assert self._conn is not None
            try:
                self._conn.send((kind, payload))
            except OSError as e:  # the process died between the liveness check and the send
                self._process = None
                raise FunctionError("Runtime.ExitError", f"function {self.name} crashed", "") from e
            if not self._conn.poll(self._timeout + 2):
                self.stop()
                raise FunctionError("Sandbox.Timedout", f"Task timed out after {self._timeout} seconds", "")
            try:
                status, result = self._conn.recv()
            except EOFError as e:
                self._process = None
                raise FunctionError("Runtime.ExitError", f"function {self.name} crashed", "") from e
        if status == "error":
            raise FunctionError(*result)
        return result

    def stop(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        self._process = None
