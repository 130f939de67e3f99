"""A dedicated runtime's container, played by a local process: what the runtime image's Lambda Runtime
Interface Emulator does (infra/Dockerfile), i.e. `POST /2015-03-31/functions/function/invocations` with an
API Gateway proxy event as the body runs the handler and answers its proxy response as JSON; one invocation
at a time, as in Lambda. A handler that raises answers `{"errorType", "errorMessage"}` (HTTP 200, as the
emulator does), which the gateway reports as the runtime being down.

    python -m cmp_dev.local.runtime_host <code dir> app.handler     # listens on 127.0.0.1:$PORT
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cmp.gateway.routing import INVOCATIONS
from cmp_dev.local.functions import LambdaContext, load_handler

Handler = Callable[[dict[str, Any], Any], Any]
TIMEOUT_SECONDS = 29


def runtime_server(handler: Handler, name: str, port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1:`port` (0: any free port) running `handler` for each invocation."""
    lock = threading.Lock()

    class Invocations(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the gateway's connection pool reuses connections

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            event = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"null")
            if self.path != INVOCATIONS:
                self._answer(404, {"message": f"no route {self.path}"})
                return
            context = LambdaContext(
                name, TIMEOUT_SECONDS, str(uuid.uuid4()), _deadline=time.monotonic() + TIMEOUT_SECONDS
            )
            with lock:
                try:
                    result = handler(event, context)
                except Exception as e:  # reported as the emulator reports a handler's failure
                    result = {"errorType": type(e).__name__, "errorMessage": str(e)}
            self._answer(200, result)

    return ThreadingHTTPServer(("127.0.0.1", port), Invocations)


def main(argv: list[str]) -> None:
    """Load `argv[1]` (`module.attribute`) from the code directory `argv[0]` and serve it on `$PORT`."""
    code_dir, target = Path(argv[0]), argv[1]
    module, attribute = target.rsplit(".", 1)
    sys.path.insert(0, str(code_dir))
    handler = getattr(load_handler(code_dir, module, "", "cmp_dedicated_runtime"), attribute)
    server = runtime_server(
        handler, os.environ.get("CMP_SUBSCRIPTION_ID", "runtime"), int(os.environ["PORT"])
    )
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
