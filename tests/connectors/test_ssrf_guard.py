from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer
from urllib3.exceptions import MaxRetryError, SSLError

from connectors import http


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    """Every address a socket connects to; anything off loopback is stopped before it leaves."""
    attempts: list[str] = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        attempts.append(address[0])
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"the test tried to connect to {address[0]}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


class Resolver:
    """Answers from a table; every other name but localhost fails without a query leaving."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        self.real = socket.getaddrinfo

    def answer(self, host: str, *rounds: list[str]) -> None:
        """Successive lookups of `host` get successive rounds; the last one repeats."""
        self.answers[host] = list(rounds)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        self.lookups.append(host)
        if host in self.answers:
            rounds = self.answers[host]
            addresses = rounds.pop(0) if len(rounds) > 1 else rounds[0]
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
                if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses
            ]
        if host != "localhost":
            flags |= socket.AI_NUMERICHOST
        return self.real(host, port, family, type, proto, flags)


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    resolver = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver.getaddrinfo)
    return resolver


@pytest.fixture(autouse=True)
def guard_on(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = False


REFUSED_HOSTS = [
    "10.0.0.5",
    "172.16.3.4",
    "192.168.1.1",
    "127.0.0.1",
    "127.8.9.10",
    "169.254.169.254",
    "169.254.10.1",
    "100.64.0.1",
    "100.100.100.200",
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "[::1]",
    "[::]",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[fd00:ec2::254]",
    "[fe80::1]",
    "[::ffff:10.0.0.5]",
    "[::ffff:127.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[64:ff9b::a00:5]",
    "[2002:a00:5::]",
    "2130706433",
    "0x7f000001",
    "metadata.google.internal",
    "metadata",
]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_it_refuses_non_public_destinations_before_connecting(host, connections):
    with pytest.raises(http.UnsafeDestination, match="set ALLOW_PRIVATE_DESTINATIONS") as caught:
        http.send("GET", f"http://{host}/latest/meta-data/")

    assert caught.value.retryable is False
    assert connections == []


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_it_refuses_non_public_destinations_on_save(host):
    with pytest.raises(http.UnsafeDestination):
        http.check_destination(f"https://{host}/hook")


def test_it_says_why_an_address_is_refused():
    with pytest.raises(http.UnsafeDestination) as caught:
        http.send("POST", "http://10.0.0.5/hook")

    assert caught.value.message == (
        "10.0.0.5 is a private address; set ALLOW_PRIVATE_DESTINATIONS to allow it"
    )


def test_it_refuses_a_name_resolving_to_loopback(httpserver, connections):
    httpserver.expect_request("/").respond_with_data("should not be reached")

    with pytest.raises(http.UnsafeDestination, match=r"localhost resolves to 127\.0\.0\.1"):
        http.send("GET", f"http://localhost:{httpserver.port}/")

    assert httpserver.log == []
    assert connections == []


def test_it_lets_a_name_resolving_to_loopback_through_when_allowed(httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_request("/").respond_with_data("hello")

    response = http.send("GET", f"http://localhost:{httpserver.port}/")

    assert response.body == b"hello"


def test_it_refuses_when_any_resolved_address_is_private(dns, connections):
    dns.answer("mixed.example", ["93.184.215.14", "10.0.0.5"])

    with pytest.raises(http.UnsafeDestination, match=r"mixed\.example resolves to 10\.0\.0\.5"):
        http.send("GET", "https://mixed.example/")

    assert connections == []


def test_it_connects_to_the_address_it_resolved_not_a_later_answer(httpserver, dns, settings):
    # A rebinding name: the first lookup answers the real server, later ones an address where
    # nothing listens. Only one lookup may happen, and the connection must use its answer.
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    dns.answer("rebind.example", ["127.0.0.1"], ["127.0.0.2"])
    httpserver.expect_request("/").respond_with_data("reached")

    response = http.send("GET", f"http://rebind.example:{httpserver.port}/")

    assert response.body == b"reached"
    assert dns.lookups.count("rebind.example") == 1
    assert httpserver.log[0][0].headers["Host"] == f"rebind.example:{httpserver.port}"


def test_it_checks_the_address_when_connecting(dns, connections):
    dns.answer("rebind.example", ["127.0.0.1"])

    with pytest.raises(http.UnsafeDestination, match="a loopback address"):
        http.send("GET", "http://rebind.example/")

    assert connections == []


def test_it_accepts_public_destinations_on_save(dns, connections):
    dns.answer("api.example", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])

    http.check_destination("https://api.example/v1/send")

    assert connections == []


def test_it_accepts_private_destinations_on_save_when_allowed(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True

    http.check_destination("http://10.0.0.5:8080/hook")


def test_it_reports_names_that_do_not_resolve_on_save():
    with pytest.raises(http.UnresolvableHost, match=r"nowhere\.example does not resolve"):
        http.check_destination("https://nowhere.example/")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "mailto:alice@example.com", "https://", "http://host:port/"]
)
def test_it_refuses_malformed_urls_on_save(url):
    with pytest.raises(ValueError):
        http.check_destination(url)


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "8.8.8.8",
        "2606:4700:4700::1111",
        "::ffff:93.184.215.14",
        "64:ff9b::5db8:d70e",
    ],
)
def test_it_has_no_reason_to_refuse_public_addresses(address):
    assert http.refusal_reason(ipaddress.ip_address(address)) is None


# --- TLS through a pinned connection -------------------------------------------------------------


def _certificate_for(name: str, tmp_path) -> tuple[ssl.SSLContext, str]:
    """A server context with a certificate for `name` only, and the file of its issuing CA."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    return context, str(tmp_path / "ca.pem")


@pytest.fixture
def tls_server(tmp_path):
    def start(certificate_name: str) -> tuple[HTTPServer, str, list[str]]:
        context, ca_file = _certificate_for(certificate_name, tmp_path)
        server_names: list[str] = []
        context.sni_callback = lambda sock, name, ctx: server_names.append(name)
        server = HTTPServer(host="127.0.0.1", ssl_context=context)
        server.expect_request("/").respond_with_data("secure")
        server.start()
        servers.append(server)
        return server, ca_file, server_names

    servers: list[HTTPServer] = []
    yield start
    for server in servers:
        server.stop()


def test_it_verifies_tls_for_the_host_name_while_connecting_to_the_checked_address(
    tls_server, dns, settings, connections
):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    dns.answer("api.example", ["127.0.0.1"])
    server, ca_file, server_names = tls_server("api.example")
    pool = http.PinnedHTTPSConnectionPool("api.example", server.port, ca_certs=ca_file)

    response = pool.request("GET", "/")

    assert response.data == b"secure"
    assert server_names == ["api.example"]
    assert connections == ["127.0.0.1"]


def test_it_refuses_a_certificate_for_another_name(tls_server, dns, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    dns.answer("api.example", ["127.0.0.1"])
    server, ca_file, _ = tls_server("other.example")
    pool = http.PinnedHTTPSConnectionPool("api.example", server.port, ca_certs=ca_file)

    with pytest.raises(MaxRetryError) as caught:
        pool.request("GET", "/")
    assert isinstance(caught.value.reason, SSLError)
    assert "not valid for 'api.example'" in str(caught.value.reason)
