"""The SMTP mailer against real aiosmtpd servers on loopback: plain, AUTH, STARTTLS, implicit TLS, and the
three outcomes (delivered, refused, unknown). No database: these run once."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from remit.config import parse_smtp_url
from remit.mail.mailer import MailOutcomeUnknown, MailRefused
from remit.mail.smtp import SmtpMailer
from tests.support.mail import SmtpSink, free_port


def message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "billing@acme.example"
    msg["To"] = "someone@example.com"
    msg["Subject"] = "hello"
    msg["Message-ID"] = "<1@acme.example>"
    msg.set_content("hi")
    return msg


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made by the openssl command line)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificate (scripts/test installs it)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def trust(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """The server's TLS context; the client trusts the certificate (through SSL_CERT_FILE, which the
    default context aiosmtplib builds reads) and still verifies it."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def servers() -> Iterator[list[Controller]]:
    started: list[Controller] = []
    yield started
    for controller in started:
        controller.stop()


def serve(servers: list[Controller], sink: SmtpSink, **kwargs: Any) -> int:
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    servers.append(controller)
    return port


def authenticator(expected: tuple[bytes, bytes]) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == expected
        return AuthResult(success=ok, handled=False)

    return check


async def test_plain_delivery(servers: list[Controller]) -> None:
    sink = SmtpSink()
    port = serve(servers, sink)
    await SmtpMailer(parse_smtp_url(f"smtp://127.0.0.1:{port}")).send(message())
    assert len(sink.messages) == 1
    assert sink.recipients == [["someone@example.com"]]


async def test_auth_over_starttls_from_the_url_with_percent_encoding(
    servers: list[Controller], trust: ssl.SSLContext
) -> None:
    sink = SmtpSink()
    port = serve(
        servers, sink, authenticator=authenticator((b"mailer@acme", b"p@ss:word")), auth_required=True,
        tls_context=trust, require_starttls=True,
    )  # fmt: skip
    url = f"smtp+starttls://mailer%40acme:p%40ss%3Aword@127.0.0.1:{port}"
    await SmtpMailer(parse_smtp_url(url)).send(message())
    assert len(sink.messages) == 1
    with pytest.raises(MailRefused) as refused:
        await SmtpMailer(parse_smtp_url(f"smtp+starttls://mailer%40acme:wrong@127.0.0.1:{port}")).send(message())
    assert refused.value.code == 535
    assert not refused.value.permanent  # the configuration is wrong, not the message: the job retries
    assert "wrong" not in str(refused.value)
    assert len(sink.messages) == 1


async def test_starttls_required(servers: list[Controller], trust: ssl.SSLContext) -> None:
    sink = SmtpSink()
    port = serve(servers, sink, tls_context=trust, require_starttls=True)
    await SmtpMailer(parse_smtp_url(f"smtp+starttls://127.0.0.1:{port}")).send(message())
    await SmtpMailer(parse_smtp_url(f"smtp://127.0.0.1:{port}")).send(message())  # opportunistic: offered, used
    assert len(sink.messages) == 2
    plain = serve(servers, SmtpSink())
    with pytest.raises(MailRefused):  # required and not offered: nothing is sent in the clear
        await SmtpMailer(parse_smtp_url(f"smtp+starttls://127.0.0.1:{plain}")).send(message())


async def test_implicit_tls(servers: list[Controller], trust: ssl.SSLContext) -> None:
    sink = SmtpSink()
    port = serve(servers, sink, ssl_context=trust)
    await SmtpMailer(parse_smtp_url(f"smtps://127.0.0.1:{port}")).send(message())
    assert len(sink.messages) == 1


async def test_the_three_outcomes(servers: list[Controller]) -> None:
    with pytest.raises(MailRefused) as no_server:
        await SmtpMailer(parse_smtp_url(f"smtp://127.0.0.1:{free_port()}?timeout=5")).send(message())
    assert not no_server.value.permanent

    sink = SmtpSink(rcpt_replies=["550 5.1.1 <{address}>: no such user"], data_replies=["452 4.3.1 full"])
    port = serve(servers, sink)
    mailer = SmtpMailer(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    with pytest.raises(MailRefused) as unknown_user:
        await mailer.send(message())
    assert (unknown_user.value.code, unknown_user.value.permanent) == (550, True)
    assert "someone@example.com" not in str(unknown_user.value)  # the server quoted it; remit does not
    with pytest.raises(MailRefused) as full:
        await mailer.send(message())
    assert (full.value.code, full.value.permanent) == (452, False)

    class Hangs(SmtpSink):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            server.transport.close()  # the connection drops after the message was sent
            return "250 OK"

    dropping = serve(servers, Hangs())
    with pytest.raises(MailOutcomeUnknown):
        await SmtpMailer(parse_smtp_url(f"smtp://127.0.0.1:{dropping}?timeout=5")).send(message())
