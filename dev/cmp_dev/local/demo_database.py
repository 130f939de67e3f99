"""A TCP door to the demo database of the Data Sync workflow (`cmp_dev.demo_sync`).

The embedded PostgreSQL listens on a Unix socket only, and a workflow's `database` step connects over TCP
to a host the SSRF rules allow (`localhost` locally). This proxy listens on `127.0.0.1:<free port>` and
forwards a connection to the server's socket only when its startup message asks for the demo role on the
demo database (both `cmp_demo_sync`): any other user or database is closed before the server sees it, so
the socket's trust authentication is never offered to another role. An SSL or GSSAPI encryption request
is answered "N" (plain text, as on the socket).

Message layout: PostgreSQL frontend/backend protocol 3.0, "Start-up" (`int32 length, int32 code, then
name\\0value\\0 pairs and a final \\0`; code 80877103 is SSLRequest, 80877104 GSSENCRequest).
"""

from __future__ import annotations

import socket
import struct
import threading
from contextlib import suppress

ENCRYPTION_REQUESTS = (80877103, 80877104)
MAX_STARTUP_BYTES = 10_000


class DemoDatabaseProxy:
    """Forwards the demo role's connections from TCP to the server's Unix socket `socket_path`."""

    def __init__(self, socket_path: str, user: str, database: str) -> None:
        self._socket_path = socket_path
        self._wanted = {"user": user, "database": database}
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._stopped = threading.Event()

    def start(self) -> DemoDatabaseProxy:
        threading.Thread(target=self._accept, name="demo-database", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        with suppress(OSError):
            self._server.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            startup = self._startup(client)
            if startup is None:
                return
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
                server.connect(self._socket_path)
                server.sendall(startup)
                done = threading.Event()
                threading.Thread(target=_pipe, args=(server, client, done), daemon=True).start()
                _pipe(client, server, done)
                done.wait(timeout=5)

    def _startup(self, client: socket.socket) -> bytes | None:
        """The client's startup message when it names the demo role and database; None otherwise."""
        while True:
            head = _read(client, 8)
            if head is None:
                return None
            length, code = struct.unpack("!ii", head)
            if code in ENCRYPTION_REQUESTS and length == 8:
                client.sendall(b"N")
                continue
            if not 8 < length <= MAX_STARTUP_BYTES:
                return None
            rest = _read(client, length - 8)
            if rest is None:
                return None
            fields = rest.rstrip(b"\0").split(b"\0")
            params = dict(zip(fields[::2], fields[1::2], strict=False))
            asked = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in params.items()}
            if {k: asked.get(k) for k in self._wanted} != self._wanted:
                return None
            return head + rest


def _read(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _pipe(source: socket.socket, target: socket.socket, done: threading.Event) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        done.set()
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)
