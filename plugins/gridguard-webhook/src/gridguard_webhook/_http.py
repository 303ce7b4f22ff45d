"""A small HTTP poster: keep-alive connections per thread, answers mapped to failures.

Standard library only (``http.client``). Each worker thread of the
dispatcher keeps its own connection, so a burst of messages to one robot
reuses a handful of TCP connections instead of opening one per message.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import ssl
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from gridguard.errors import ConfigError
from gridguard.notify import PermanentFailure, RateLimited, RetryableFailure

__all__ = [
    "Answer",
    "HttpPoster",
    "check_status",
    "check_url",
    "number",
    "safe_url",
    "text_setting",
]


class Answer:
    """An HTTP answer: status, headers and body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        """The body as JSON; a :class:`RetryableFailure` when it is not."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise RetryableFailure(
                f"HTTP {self.status} with a body that is not JSON: {self.body[:120]!r}"
            ) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def safe_url(url: str) -> str:
    """``url`` without its query and credentials, for messages (a robot key stays secret)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_url(settings: Mapping[str, Any], *, allow_http: bool) -> SplitResult:
    """The ``url`` setting, parsed; :class:`ConfigError` naming ``url`` when it is unusable.

    HTTPS is required, except for loopback hosts (tests, a local relay) or
    with ``allow_http = true``.
    """
    url = settings.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("url: required, the address to post messages to")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"url: not a valid URL ({exc})") from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"url: must be an https:// URL with a host (got {safe_url(url)!r})")
    if parts.scheme == "http" and not (allow_http or _is_loopback(parts.hostname)):
        raise ConfigError(
            f"url: must use https (got {safe_url(url)!r}); set allow_http = true to "
            "post in clear text on a trusted network"
        )
    return parts


def number(settings: Mapping[str, Any], name: str, default: float) -> float:
    """A positive number setting."""
    value = settings.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{name}: must be a positive number of seconds (got {value!r})")
    return float(value)


def text_setting(
    settings: Mapping[str, Any], name: str, *, required: bool = False, secret: bool = False
) -> str | None:
    """A text setting; secrets are never echoed in errors."""
    value = settings.get(name)
    if value is None:
        if required:
            raise ConfigError(f"{name}: required")
        return None
    if not isinstance(value, str) or not value.strip():
        shown = "(hidden)" if secret else repr(value)
        raise ConfigError(f"{name}: must be non-empty text (got {shown})")
    return value


class HttpPoster:
    """Posts bodies to one URL's host, one keep-alive connection per thread."""

    def __init__(self, parts: SplitResult, *, timeout: float, cafile: str | None = None) -> None:
        self.parts = parts
        self.timeout = timeout
        self.target = parts.path or "/"
        if parts.query:
            self.target += "?" + parts.query
        self._context: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._context = ssl.create_default_context(cafile=cafile)
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            host, port = self.parts.hostname or "", self.parts.port
            if self._context is not None:
                conn = http.client.HTTPSConnection(
                    host, port, timeout=self.timeout, context=self._context
                )
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def post(self, body: bytes, headers: Mapping[str, str], *, target: str | None = None) -> Answer:
        """POST ``body``; connection trouble is a :class:`RetryableFailure`.

        A kept-alive connection the server has closed meanwhile is retried
        once on a fresh one (the receiver de-duplicates by idempotency key).
        """
        path = target or self.target
        for fresh in (False, True):
            reused = getattr(self._local, "conn", None) is not None
            conn = self._connection()
            try:
                conn.request("POST", path, body=body, headers=dict(headers))
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop()
                if reused and not fresh:
                    continue
                raise RetryableFailure(f"connection lost: {exc}") from None
            except TimeoutError:
                self._drop()
                raise RetryableFailure(f"no answer within {self.timeout:g} s") from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                raise RetryableFailure(f"cannot post: {type(exc).__name__}: {exc}") from None
            if response.will_close:
                self._drop()
            return Answer(response.status, dict(response.getheaders()), data)
        raise RetryableFailure("connection lost twice")  # pragma: no cover - loop returns


def check_status(answer: Answer) -> None:
    """Map an HTTP status to success or a failure: 429 and 5xx retry, other 4xx are permanent.

    429 (too many requests) is :class:`RateLimited`: the robot pauses.
    """
    status = answer.status
    if 200 <= status < 300:
        return
    excerpt = answer.body[:200].decode("utf-8", "replace")
    if status == 429:
        raise RateLimited(f"HTTP {status}: {excerpt}", retry_after=_retry_after(answer.headers))
    if status >= 500:
        raise RetryableFailure(
            f"HTTP {status}: {excerpt}", retry_after=_retry_after(answer.headers)
        )
    raise PermanentFailure(f"HTTP {status}: {excerpt}")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(float(value), 0.0)
            except ValueError:
                return None
    return None
