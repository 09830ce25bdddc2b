"""A small safe HTTP fetcher for imports from URLs: public addresses only, checked on every redirect hop.

Server-side request forgery defences (Label Studio's advisories are the checklist):
- off unless QUORUM_ALLOW_URL_IMPORT=True;
- http and https only, default ports or any port >= 1024 but never to a non-public address: private, loopback,
  link-local (cloud metadata 169.254.169.254), carrier-grade NAT, multicast, reserved, unspecified, and the
  IPv4 addresses hidden in IPv6 (mapped, 6to4, Teredo) are all refused;
- DNS rebinding: the name is resolved once per hop, every address is checked, and the connection goes to
  the checked address (the Host header and TLS server name carry the name), so a second lookup cannot
  swap in a private address;
- redirects are followed by hand, at most MAX_REDIRECTS, each new URL checked like the first;
- the body is read up to a byte limit, with a timeout.
"""
import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from quorum.lib.errors import QuorumError

MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 10
REDIRECTS = {301, 302, 303, 307, 308}
CHUNK = 1 << 16


class URLNotAllowed(QuorumError):
    code = "url_not_allowed"


@dataclass
class Fetched:
    url: str
    content_type: str
    body: bytes


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in (ip.ipv4_mapped, ip.sixtofour, ip.teredo and ip.teredo[1]):
            if inner is not None and not is_public(str(inner)):
                return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
                                 or ip.is_private or ip.is_unspecified)


def check_url(url: str, resolver: Resolver) -> tuple[str, str, int, str, str]:
    """Return (scheme, host, port, path, ip) for an allowed URL; raise URLNotAllowed with the reason."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise URLNotAllowed(f"{url}: only http and https URLs can be imported.")
    if parts.username or parts.password:
        raise URLNotAllowed(f"{url}: URLs with a user name or password are not accepted.")
    host = parts.hostname
    if not host:
        raise URLNotAllowed(f"{url}: the URL has no host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise URLNotAllowed(f"{url}: invalid port.") from exc
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise URLNotAllowed(f"{url}: the host name {host} could not be resolved.") from exc
    if not addresses:
        raise URLNotAllowed(f"{url}: the host name {host} has no address.")
    bad = [a for a in addresses if not is_public(a)]
    if bad:
        raise URLNotAllowed(f"{url}: {host} resolves to a private or local address ({bad[0]}); "
                            "only public internet addresses can be imported from.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, host, port, path, addresses[0]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a fixed IP, verifying the certificate for the host name."""

    def __init__(self, ip: str, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self):
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def open_pinned(scheme: str, ip: str, host: str, port: int, path: str, timeout: float):
    """Open a GET to ``ip`` (already checked) for ``host``; returns the http.client response."""
    if scheme == "https":
        conn = _PinnedHTTPSConnection(ip, host, port, timeout)
    else:
        conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    conn.request("GET", path, headers={"Host": host if port in (80, 443) else f"{host}:{port}",
                                       "User-Agent": "Quorum-import/1", "Accept": "*/*"})
    return conn.getresponse()


def check_switched_on() -> None:
    if not settings.QUORUM_ALLOW_URL_IMPORT:
        raise URLNotAllowed("Import from URLs is switched off on this server. An administrator can switch it on "
                            "with the environment variable QUORUM_ALLOW_URL_IMPORT=True; until then, download the "
                            "file and upload it instead.")


def check_allowed(url: str, *, resolver: Resolver = system_resolver) -> None:
    """Refuse at once what ``fetch`` would refuse before connecting: switched off, scheme, non-public host."""
    check_switched_on()
    check_url(url, resolver)


def _open(url: str, *, limit: int, resolver: Resolver, opener, timeout: float):
    """Follow redirects by hand, checking every hop; return (final url, response with status 200)."""
    check_switched_on()
    for _hop in range(MAX_REDIRECTS + 1):
        scheme, host, port, path, ip = check_url(url, resolver)
        try:
            response = opener(scheme, ip, host, port, path, timeout)
        except (OSError, http.client.HTTPException) as exc:
            raise QuorumError(f"{url}: could not download ({exc.__class__.__name__}).") from exc
        if response.status in REDIRECTS:
            location = response.getheader("Location")
            response.close()
            if not location:
                raise QuorumError(f"{url}: redirect without a Location header.")
            url = urljoin(url, location)
            continue
        if response.status != 200:
            response.close()
            raise QuorumError(f"{url}: the server answered HTTP {response.status}.")
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            response.close()
            raise QuorumError(f"{url}: the file is {int(declared):,} bytes, over the {limit:,} byte limit.")
        return url, response
    raise URLNotAllowed(f"{url}: more than {MAX_REDIRECTS} redirects.")


def fetch(url: str, *, max_bytes: int | None = None, resolver: Resolver = system_resolver,
          opener=open_pinned, timeout: float = TIMEOUT_SECONDS) -> Fetched:
    """GET ``url`` safely (see the module docstring); raise URLNotAllowed or QuorumError with the reason."""
    limit = max_bytes if max_bytes is not None else settings.QUORUM_URL_IMPORT_MAX_BYTES
    url, response = _open(url, limit=limit, resolver=resolver, opener=opener, timeout=timeout)
    body = response.read(limit + 1)
    response.close()
    if len(body) > limit:
        raise QuorumError(f"{url}: the file is over the {limit:,} byte limit.")
    return Fetched(url=url, content_type=response.getheader("Content-Type") or "", body=body)


def fetch_to_file(url: str, out, *, max_bytes: int | None = None, resolver: Resolver = system_resolver,
                  opener=open_pinned, timeout: float = TIMEOUT_SECONDS) -> Fetched:
    """Like ``fetch``, but stream the body into the binary file ``out`` (``body`` stays empty), in bounded memory."""
    limit = max_bytes if max_bytes is not None else settings.QUORUM_URL_IMPORT_MAX_BYTES
    url, response = _open(url, limit=limit, resolver=resolver, opener=opener, timeout=timeout)
    size = 0
    try:
        while chunk := response.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise QuorumError(f"{url}: the file is over the {limit:,} byte limit.")
            out.write(chunk)
    except (OSError, http.client.HTTPException) as exc:
        raise QuorumError(f"{url}: the download broke off ({exc.__class__.__name__}).") from exc
    finally:
        response.close()
    return Fetched(url=url, content_type=response.getheader("Content-Type") or "", body=b"")
