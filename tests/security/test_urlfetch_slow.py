"""A URL import has a total deadline and a minimum rate: a real local server that drips one byte a second
(its body, or even its headers) is cut off with a clear message instead of holding the worker."""
import socket
import threading
import time

import pytest

from data import urlfetch
from quorum.lib.errors import QuorumError

PUBLIC = "93.184.216.34"


class DrippingServer:
    """Answers every connection with ``head`` at once, then ``drip`` one byte a second, until stopped."""

    def __init__(self, *, head: bytes, drip: bytes):
        self.head, self.drip = head, drip
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.cut_off = threading.Event()  # the client closed the connection before the drip ended
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(self.head)
                for byte in self.drip:
                    if self.stopped.wait(1.0):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                self.cut_off.set()

    def close(self):
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def url_import(settings):
    settings.QUORUM_ALLOW_URL_IMPORT = True
    settings.QUORUM_URL_IMPORT_DEADLINE_SECONDS = 600
    settings.QUORUM_URL_IMPORT_MIN_BYTES_PER_SECOND = 0
    settings.QUORUM_URL_IMPORT_RATE_GRACE_SECONDS = 10
    servers = []

    def serve(*, head: bytes, drip: bytes) -> DrippingServer:
        servers.append(DrippingServer(head=head, drip=drip))
        return servers[-1]

    yield serve
    for server in servers:
        server.close()


def _fetch_from(server: DrippingServer, out=None):
    """The real fetcher and sockets; only the address is local (the public-address check sees a public one)."""
    def to_local(scheme, ip, host, port, path, timeout):
        return urlfetch.open_pinned(scheme, "127.0.0.1", host, server.port, path, timeout)

    def resolve(host, port):
        return [PUBLIC]

    if out is not None:
        return urlfetch.fetch_to_file("http://slow.example/data.csv", out, resolver=resolve, opener=to_local)
    return urlfetch.fetch("http://slow.example/data.csv", resolver=resolve, opener=to_local)


BODY_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 1000\r\n\r\ntext\n"


def test_a_body_dripping_a_byte_a_second_hits_the_total_deadline(url_import, settings, tmp_path):
    settings.QUORUM_URL_IMPORT_DEADLINE_SECONDS = 3
    server = url_import(head=BODY_HEAD, drip=b"x" * 995)
    started = time.monotonic()
    with (tmp_path / "d").open("wb") as out, pytest.raises(QuorumError) as caught:
        _fetch_from(server, out)
    took = time.monotonic() - started
    assert "did not finish within 3 s" in caught.value.message
    assert "QUORUM_URL_IMPORT_DEADLINE_SECONDS" in caught.value.message and "upload it instead" in caught.value.message
    assert took < 3 + 2.5, f"the deadline of 3 s was overrun: {took:.1f} s"


def test_a_body_below_the_minimum_rate_is_refused_after_the_grace_period(url_import, settings):
    settings.QUORUM_URL_IMPORT_MIN_BYTES_PER_SECOND = 100
    settings.QUORUM_URL_IMPORT_RATE_GRACE_SECONDS = 2
    server = url_import(head=BODY_HEAD, drip=b"x" * 995)
    started = time.monotonic()
    with pytest.raises(QuorumError, match=r"too slow .* under the minimum of 100 bytes per second"):
        _fetch_from(server)
    assert time.monotonic() - started < 2 + 2.5


def test_headers_dripping_a_byte_a_second_hit_the_deadline_too(url_import, settings):
    settings.QUORUM_URL_IMPORT_DEADLINE_SECONDS = 2
    server = url_import(head=b"HTTP/1.1 200 OK\r\n", drip=b"X-Slow: " + b"a" * 500 + b"\r\n\r\n")
    started = time.monotonic()
    with pytest.raises(QuorumError, match="did not finish within 2 s"):
        _fetch_from(server)
    assert time.monotonic() - started < 2 + 2.5


def test_a_prompt_server_is_fetched_whole(url_import, settings):
    settings.QUORUM_URL_IMPORT_DEADLINE_SECONDS = 5
    server = url_import(head=b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\ntext\nhello\n", drip=b"")
    assert _fetch_from(server).body == b"text\nhello\n"
