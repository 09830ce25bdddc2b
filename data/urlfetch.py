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
- the body is read up to a byte limit, with a timeout per read, a total deadline for the whole download
  (QUORUM_URL_IMPORT_DEADLINE_SECONDS, enforced by a watchdog that cuts the socket, so a server dripping
  its headers or body a byte at a time cannot hold a worker) and a minimum average rate
  (QUORUM_URL_IMPORT_MIN_BYTES_PER_SECOND, checked once QUORUM_URL_IMPORT_RATE_GRACE_SECONDS have passed).
"""
import http.client
import io
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
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


@dataclass
class _Budget:
    """The time one download may take; ``open_pinned`` arms a watchdog on its socket for the deadline."""

    seconds: float
    started: float = field(default_factory=time.monotonic)
    timers: list = field(default_factory=list)

    @property
    def deadline(self) -> float:
        return self.started + self.seconds

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def guard(self, conn) -> None:
        def cut():
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked on a dripping server
                except OSError:
                    pass

        timer = threading.Timer(self.remaining(), cut)
        timer.daemon = True
        timer.start()
        self.timers.append(timer)

    def cancel(self) -> None:
        for timer in self.timers:
            timer.cancel()

    def too_late(self, url: str, size: int) -> QuorumError:
        return QuorumError(
            f"{url}: the download did not finish within {self.seconds:g} s ({size:,} bytes arrived); the limit is "
            "QUORUM_URL_IMPORT_DEADLINE_SECONDS. Download the file yourself and upload it instead.")


_budget: ContextVar[_Budget | None] = ContextVar("urlfetch_budget", default=None)


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
    budget = _budget.get()
    if budget is not None:
        conn.connect()
        budget.guard(conn)
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
            budget = _budget.get()
            if budget is not None and budget.expired():
                raise budget.too_late(url, 0) from exc
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


def _deadline_seconds() -> float:
    return settings.QUORUM_URL_IMPORT_DEADLINE_SECONDS


def _read_body(url: str, response, out, *, limit: int, budget: _Budget) -> int:
    """Copy the body to ``out``; raise if it is over ``limit``, past the deadline or slower than the minimum rate."""
    min_rate = settings.QUORUM_URL_IMPORT_MIN_BYTES_PER_SECOND
    grace = settings.QUORUM_URL_IMPORT_RATE_GRACE_SECONDS
    read = getattr(response, "read1", response.read)  # read1: what has arrived, without waiting for a full chunk
    started, size = time.monotonic(), 0
    try:
        while chunk := read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise QuorumError(f"{url}: the file is over the {limit:,} byte limit.")
            out.write(chunk)
            if budget.expired():
                raise budget.too_late(url, size)
            elapsed = time.monotonic() - started
            if elapsed >= grace and size < min_rate * elapsed:
                raise QuorumError(
                    f"{url}: the download is too slow ({size:,} bytes in {elapsed:.0f} s, under the minimum of "
                    f"{min_rate:,} bytes per second, QUORUM_URL_IMPORT_MIN_BYTES_PER_SECOND). Download the file "
                    "yourself and upload it instead.")
    except (OSError, http.client.HTTPException) as exc:
        if budget.expired():
            raise budget.too_late(url, size) from exc
        raise QuorumError(f"{url}: the download broke off ({exc.__class__.__name__}).") from exc
    if budget.expired():  # the watchdog cut the socket: what arrived is not the whole file
        raise budget.too_late(url, size)
    return size


def _download(url: str, out, *, limit: int, resolver: Resolver, opener, timeout: float) -> Fetched:
    budget = _Budget(seconds=_deadline_seconds())
    token = _budget.set(budget)
    try:
        url, response = _open(url, limit=limit, resolver=resolver, opener=opener, timeout=timeout)
        try:
            _read_body(url, response, out, limit=limit, budget=budget)
        finally:
            response.close()
        return Fetched(url=url, content_type=response.getheader("Content-Type") or "", body=b"")
    finally:
        budget.cancel()
        _budget.reset(token)


def fetch(url: str, *, max_bytes: int | None = None, resolver: Resolver = system_resolver,
          opener=open_pinned, timeout: float = TIMEOUT_SECONDS) -> Fetched:
    """GET ``url`` safely (see the module docstring); raise URLNotAllowed or QuorumError with the reason."""
    limit = max_bytes if max_bytes is not None else settings.QUORUM_URL_IMPORT_MAX_BYTES
    out = io.BytesIO()
    fetched = _download(url, out, limit=limit, resolver=resolver, opener=opener, timeout=timeout)
    fetched.body = out.getvalue()
    return fetched


def fetch_to_file(url: str, out, *, max_bytes: int | None = None, resolver: Resolver = system_resolver,
                  opener=open_pinned, timeout: float = TIMEOUT_SECONDS) -> Fetched:
    """Like ``fetch``, but stream the body into the binary file ``out`` (``body`` stays empty), in bounded memory."""
    limit = max_bytes if max_bytes is not None else settings.QUORUM_URL_IMPORT_MAX_BYTES
    return _download(url, out, limit=limit, resolver=resolver, opener=opener, timeout=timeout)
