"""The ``email`` notifier (see :mod:`gridguard_smtp`)."""

from __future__ import annotations

import email.utils
import ipaddress
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from gridguard.errors import ConfigError
from gridguard.notify import Message, PermanentFailure, RetryableFailure

__all__ = ["SmtpNotifier", "build_email"]

_KNOWN = {"host", "port", "tls", "username", "password", "sender", "cafile", "timeout"}


def _text(settings: Mapping[str, Any], name: str, *, secret: bool = False) -> str | None:
    value = settings.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        shown = "(hidden)" if secret else repr(value)
        raise ConfigError(f"{name}: must be non-empty text (got {shown})")
    return value


def _is_address(text: str) -> bool:
    _, address = email.utils.parseaddr(text)
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and " " not in address)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_email(message: Message, sender: str) -> EmailMessage:
    """The e-mail for ``message``: plain UTF-8 text, the id as Message-ID and idempotency key."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = email.utils.format_datetime(message.at)
    mail["Message-ID"] = f"<{message.id}@gridguard>"
    mail["X-Gridguard-Idempotency-Key"] = str(message.id)
    mail["X-Gridguard-Topic"] = message.topic
    mail.set_content(message.body)
    return mail


class SmtpNotifier:
    """Sends each message as an e-mail through one SMTP server (see the module docs)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        extra = sorted(set(settings) - _KNOWN - {"type"})
        if extra:
            raise ConfigError(f"{extra[0]}: unknown setting (known: {', '.join(sorted(_KNOWN))})")
        host = _text(settings, "host")
        if host is None:
            raise ConfigError("host: required, the SMTP server to send through")
        self.host = host.strip()
        tls = settings.get("tls", "starttls")
        if tls not in ("starttls", "implicit", "none"):
            raise ConfigError(f"tls: must be starttls, implicit or none (got {tls!r})")
        if tls == "none" and not _loopback(self.host):
            raise ConfigError("tls: none sends passwords and messages in clear; loopback only")
        self.tls = str(tls)
        port = settings.get("port", 465 if tls == "implicit" else 587)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"port: must be a port number 1-65535 (got {port!r})")
        self.port = port
        sender = _text(settings, "sender")
        if sender is None:
            raise ConfigError("sender: required, the From address")
        if not _is_address(sender):
            raise ConfigError(f"sender: not an e-mail address (got {sender!r})")
        self.sender = sender
        self.username = _text(settings, "username")
        self.password = _text(settings, "password", secret=True)
        if self.username and not self.password:
            raise ConfigError("password: required with a username")
        if self.password and not self.username:
            raise ConfigError("username: required with a password")
        timeout = settings.get("timeout", 30)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigError(f"timeout: must be a positive number of seconds (got {timeout!r})")
        self.timeout = float(timeout)
        cafile = _text(settings, "cafile")
        try:
            self.context = ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cafile: cannot load {cafile!r}: {exc}") from None

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "implicit":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.context
            )
        server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.tls == "starttls":
            server.ehlo()
            if not server.has_extn("starttls"):
                server.close()
                raise RetryableFailure(f"{self.host} does not offer STARTTLS; not sending in clear")
            server.starttls(context=self.context)
            server.ehlo()
        return server

    def send(self, message: Message) -> None:
        if not _is_address(message.recipient):
            raise PermanentFailure(f"recipient {message.recipient!r} is not an e-mail address")
        mail = build_email(message, self.sender)
        try:
            server = self._connect()
            try:
                if self.username and self.password:
                    server.login(self.username, self.password)
                server.send_message(mail)
            finally:
                try:
                    server.quit()
                except (smtplib.SMTPException, OSError):
                    server.close()
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _by_code(min(codes), str(exc.recipients)) from None
        except smtplib.SMTPAuthenticationError as exc:
            # A changed password is fixed in the settings, not in the message: retry.
            raise RetryableFailure(f"login refused ({exc.smtp_code})") from None
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, _decode(exc.smtp_error)) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise RetryableFailure(f"SMTP: {type(exc).__name__}: {exc}") from None


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _by_code(code: int, text: str) -> RetryableFailure | PermanentFailure:
    if 500 <= code < 600:
        return PermanentFailure(f"SMTP {code}: {text}")
    return RetryableFailure(f"SMTP {code}: {text}")
