"""gridguard-smtp against a real SMTP server on loopback (aiosmtpd): STARTTLS, login, contract."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="the SMTP tests need aiosmtpd (the plugin's [test] extra)")
pytest.importorskip("cryptography", reason="the SMTP tests make a certificate with cryptography")

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from gridguard_smtp import SmtpNotifier

from gridguard.errors import ConfigError
from gridguard.notify import Message, PermanentFailure, RetryableFailure
from gridguard.plugins import collect_registries, get_plugin_manager
from gridguard.testing import NotifierContract

USER, PASSWORD = "notify@huayuan.example.org", "s3cret-pass"
BUSY, UNKNOWN = "busy@huayuan.example.org", "nobody@huayuan.example.org"


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gridguard test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Mailbox:
    """The aiosmtpd handler: keeps every accepted mail; some addresses fail on purpose."""

    def __init__(self) -> None:
        self.mails: list[email.message.EmailMessage] = []
        self.tls_seen: list[bool] = []
        self.lock = threading.Lock()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == BUSY:
            return "451 4.3.0 mailbox busy, try again later"
        if address == UNKNOWN:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.mails.append(mail)  # type: ignore[arg-type]
            self.tls_seen.append(session.ssl is not None)
        return "250 OK"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    )
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Controller, Mailbox]]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_require_tls=True,
    )
    controller.start()
    yield controller, mailbox
    controller.stop()


def _settings(controller: Controller, cafile: Path, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": controller.port,
        "username": USER,
        "password": PASSWORD,
        "sender": f"华苑社区 <{USER}>",
        "cafile": str(cafile),
        "timeout": 10,
        **extra,
    }


class _Delivered:
    def __init__(self, mail: email.message.EmailMessage) -> None:
        self.key = mail["X-Gridguard-Idempotency-Key"]
        body = mail.get_body(preferencelist=("plain",))
        content = body.get_content() if body is not None else ""
        self.text = f"{mail['Subject']}\n{content}"


class TestSmtpContract(NotifierContract):
    recipient = "doctor@huayuan.example.org"

    @pytest.fixture
    def notifier(
        self, smtp_server: tuple[Controller, Mailbox], certificate: tuple[Path, Path]
    ) -> SmtpNotifier:
        return SmtpNotifier(_settings(smtp_server[0], certificate[0]))

    @pytest.fixture
    def received(self, smtp_server: tuple[Controller, Mailbox]) -> Callable[[], list[_Delivered]]:
        mailbox = smtp_server[1]

        def read() -> list[_Delivered]:
            with mailbox.lock:
                return [_Delivered(m) for m in mailbox.mails]

        return read

    @pytest.fixture
    def failing_notifier(self, notifier: SmtpNotifier) -> Any:
        return _Readdressed(notifier, BUSY)

    @pytest.fixture
    def refusing_notifier(self, notifier: SmtpNotifier) -> Any:
        return _Readdressed(notifier, UNKNOWN)

    @pytest.fixture
    def bad_settings(self, certificate: tuple[Path, Path]) -> list[tuple[Any, dict[str, Any], str]]:
        good = {"host": "smtp.example.org", "sender": USER, "username": USER, "password": "x"}
        return [
            (SmtpNotifier, {k: v for k, v in good.items() if k != "host"}, "host"),
            (SmtpNotifier, {k: v for k, v in good.items() if k != "sender"}, "sender"),
            (SmtpNotifier, {**good, "sender": "not an address"}, "sender"),
            (SmtpNotifier, {k: v for k, v in good.items() if k != "password"}, "password"),
            (SmtpNotifier, {**good, "port": 70000}, "port"),
            (SmtpNotifier, {**good, "tls": "sometimes"}, "tls"),
            (SmtpNotifier, {**good, "tls": "none"}, "tls"),
            (SmtpNotifier, {**good, "cafile": "/nonexistent/ca.pem"}, "cafile"),
            (SmtpNotifier, {**good, "pasword": "typo"}, "pasword"),
        ]


class _Readdressed:
    """The same notifier, sending every message to one fixed address."""

    def __init__(self, notifier: SmtpNotifier, address: str) -> None:
        self.notifier = notifier
        self.address = address

    def send(self, message: Message) -> None:
        import attrs

        self.notifier.send(attrs.evolve(message, recipient=self.address))


def _message(**fields: Any) -> Message:
    values: dict[str, Any] = {
        "recipient": "doctor@huayuan.example.org",
        "subject": "发热报告：牡丹阁3栋",
        "body": "居民 张*（138****8000）体温 38.5°C。",
    }
    values.update(fields)
    return Message(**values)


def test_the_plugin_registers_email_through_its_entry_point() -> None:
    registries = collect_registries(get_plugin_manager())
    assert registries.notifiers.entry("email").plugin == "smtp"


def test_mail_goes_over_starttls_with_login_and_carries_the_key(
    smtp_server: tuple[Controller, Mailbox], certificate: tuple[Path, Path]
) -> None:
    controller, mailbox = smtp_server
    message = _message()
    SmtpNotifier(_settings(controller, certificate[0])).send(message)
    (mail,) = mailbox.mails
    assert mailbox.tls_seen == [True]
    assert mail["Message-ID"] == f"<{message.id}@gridguard>"
    assert mail["X-Gridguard-Idempotency-Key"] == str(message.id)
    assert mail["Subject"] == "发热报告：牡丹阁3栋"
    assert mail["To"] == "doctor@huayuan.example.org"
    assert "华苑社区" in str(mail["From"])
    assert mail.get_content().strip() == "居民 张*（138****8000）体温 38.5°C。"


def test_a_wrong_password_is_refused_and_retried_later(
    smtp_server: tuple[Controller, Mailbox], certificate: tuple[Path, Path]
) -> None:
    notifier = SmtpNotifier(_settings(smtp_server[0], certificate[0], password="wrong"))
    with pytest.raises(RetryableFailure, match="login refused"):
        notifier.send(_message())
    assert smtp_server[1].mails == []


def test_an_untrusted_certificate_is_not_accepted(
    smtp_server: tuple[Controller, Mailbox], certificate: tuple[Path, Path]
) -> None:
    settings = _settings(smtp_server[0], certificate[0])
    del settings["cafile"]
    with pytest.raises(RetryableFailure, match=r"SSL|certificate"):
        SmtpNotifier(settings).send(_message())
    assert smtp_server[1].mails == []


def test_a_recipient_that_is_no_address_is_permanent(
    smtp_server: tuple[Controller, Mailbox], certificate: tuple[Path, Path]
) -> None:
    notifier = SmtpNotifier(_settings(smtp_server[0], certificate[0]))
    with pytest.raises(PermanentFailure, match="not an e-mail address"):
        notifier.send(_message(recipient="community_doctor@442000002003"))


def test_a_server_that_is_gone_is_retried(certificate: tuple[Path, Path]) -> None:
    settings = {
        "host": "127.0.0.1",
        "port": _free_port(),
        "sender": USER,
        "cafile": str(certificate[0]),
        "timeout": 2,
    }
    with pytest.raises(RetryableFailure):
        SmtpNotifier(settings).send(_message())


def test_a_misconfigured_email_channel_is_refused_at_start(tmp_path: Path) -> None:
    import gridguard
    from gridguard.notifications.service import Notifications
    from gridguard.notifications.settings import NotifySettings

    settings = NotifySettings.from_dict(
        {
            "channels": {"email": {"host": "smtp.example.org", "sender": USER, "username": USER}},
            "routes": [],
            "digest": {"channels": ["email"]},
        }
    )
    with (
        gridguard.open(tmp_path / "w.db") as ws,
        pytest.raises(ConfigError, match=r"email\.password"),
    ):
        Notifications(ws, settings)
