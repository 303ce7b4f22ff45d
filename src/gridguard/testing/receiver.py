"""A real HTTP receiver on loopback, for testing notifiers and the dispatcher.

It records every request (raw deliveries) and acts once per idempotency key
(unique deliveries), the way a well-behaved webhook receiver does. Answers
can be scripted (``receiver.answer(503, 503)`` makes the next two requests
fail) or slowed down (``delay``) to test timeouts and crashes::

    with HttpReceiver() as receiver:
        notifier = JsonWebhookNotifier({"url": receiver.url + "/hook", "secret": "s"})
        notifier.send(message)
        assert receiver.unique_keys() == {str(message.id)}

Run as a program (``python -c "from gridguard.testing.receiver import main; main()"``)
it serves in
its own process, prints ``port <n>`` and, on SIGTERM or SIGINT, a JSON line
with its counts: what a benchmark uses to keep the receiver off the
dispatcher's CPU.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

__all__ = ["DEFAULT_ANSWER", "HttpReceiver", "Received", "Responder"]

DEFAULT_ANSWER = b'{"errcode":0,"errmsg":"ok","code":0,"msg":"success"}'
"""What the receiver answers by default: success for every robot and webhook."""


@attrs.frozen
class Received:
    """One request as the receiver saw it."""

    key: str | None
    """The ``Idempotency-Key`` header."""
    path: str
    headers: dict[str, str]
    body: bytes
    text: str
    """The body for reading: JSON re-encoded with its characters unescaped, else the raw text."""

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


Responder = Callable[[Received], tuple[int, bytes, dict[str, str]]]
"""Answers one request: HTTP status, body and headers (a vendor's robot, written to its rules)."""


def _readable(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    try:
        return json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        return text


class _QuietServer(ThreadingHTTPServer):
    """A client that went away (a killed dispatcher) is no error worth a traceback."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class HttpReceiver:
    """A threaded HTTP/1.1 server on 127.0.0.1 that records POSTs and de-duplicates by key."""

    def __init__(
        self,
        *,
        delay: float = 0.0,
        key_header: str = "Idempotency-Key",
        respond: Responder | None = None,
    ) -> None:
        self.delay = delay
        self.key_header = key_header
        self.respond = respond
        """Decides the answer to each request not scripted with :meth:`answer`: a vendor's rules."""
        self.raw: list[Received] = []
        self.unique: dict[str, Received] = {}
        self._answers: deque[tuple[int, bytes, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.count = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, port: int = 0) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's
                # algorithm and delayed ACKs add ~40 ms to every answer.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer, headers = receiver._take(self, body)
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)

        server = _QuietServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HttpReceiver:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: append a path."""
        assert self._server is not None, "start the receiver first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- behaviour --------------------------------------------------------------------------

    def answer(
        self, *statuses: int, body: bytes = b"{}", headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next requests with these statuses (then the default success again)."""
        with self._lock:
            for status in statuses:
                self._answers.append((status, body, dict(headers or {})))

    def answer_body(self, bodies: Iterable[bytes]) -> None:
        """Answer the next requests with HTTP 200 and these bodies (a robot's error codes)."""
        with self._lock:
            for body in bodies:
                self._answers.append((200, body, {}))

    def _take(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        key = handler.headers.get(self.key_header)
        with self._lock:
            self.count += 1
            record = Received(
                key, handler.path, dict(handler.headers.items()), body, _readable(body)
            )
            if self._answers:
                status, answer, headers = self._answers.popleft()
            elif self.respond is not None:
                status, answer, headers = self.respond(record)
            else:
                status, answer, headers = 200, DEFAULT_ANSWER, {}
            self.raw.append(record)
            # Only an accepted request counts as acted upon.
            if 200 <= status < 300 and key is not None and key not in self.unique:
                self.unique[key] = record
        return status, answer, headers

    # -- what arrived -----------------------------------------------------------------------

    def received(self) -> list[Received]:
        """Every request so far, oldest first."""
        with self._lock:
            return list(self.raw)

    def unique_keys(self) -> set[str]:
        """Keys acted upon (each once)."""
        with self._lock:
            return set(self.unique)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"raw": len(self.raw), "unique": len(self.unique)}


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then print the counts as JSON (for benchmarks)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    receiver = HttpReceiver(delay=args.delay)
    receiver.raw = _CountOnly()  # keep memory flat under load
    receiver.start(args.port)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(f"port {receiver.url.rsplit(':', 1)[1]}", flush=True)
    done.wait()
    receiver.stop()
    print(json.dumps({"raw": receiver.count, "unique": len(receiver.unique)}), flush=True)
    sys.exit(0)


class _CountOnly(list):  # type: ignore[type-arg]
    """A list that forgets what is appended (the count lives in ``HttpReceiver.count``)."""

    def append(self, item: Any) -> None:
        pass


if __name__ == "__main__":  # pragma: no cover
    main()
