# SPDX-License-Identifier: MIT
"""Shared helpers for the Python test tiers: where the build is, the ashd(7)
request datagram, response sockets, and reading HTTP responses back."""

import os
import socket
import tempfile
import unittest

SRC = os.environ.get("ASHD_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("ASHD_BUILD") or os.path.join(SRC, "build")
TIMEOUT = 10.0  # seconds any single wait may take before a test fails


def binary(name):
    """Path of a program or test helper in the build tree."""
    for p in (os.path.join(BUILD, name), os.path.join(BUILD, "tests", "helpers", name)):
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{name} is not built in {BUILD}")


def encode_request(method="GET", url="/", version="HTTP/1.1", rest=None, headers=()):
    """An ashd(7) request datagram."""
    if rest is None:
        rest = url.lstrip("/").split("?", 1)[0]
    parts = [method, url, version, rest]
    for name, value in headers:
        parts += [name, value]
    return b"".join(p.encode() + b"\0" for p in parts) + b"\0"


def response_pair():
    """(ours, theirs): a stream socketpair; theirs travels with a request."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ours.settimeout(TIMEOUT)
    return ours, theirs


def send_request(sock, datagram, fds):
    socket.send_fds(sock, [datagram], list(fds))


def request(sock, **kwargs):
    """Sends one request with a fresh response socket; returns our end."""
    ours, theirs = response_pair()
    try:
        send_request(sock, encode_request(**kwargs), [theirs.fileno()])
    finally:
        theirs.close()
    return ours


def read_all(sock, limit=16 << 20):
    """Everything until EOF (bounded by TIMEOUT and limit)."""
    sock.settimeout(TIMEOUT)
    chunks = []
    size = 0
    while size < limit:
        b = sock.recv(65536)
        if not b:
            break
        chunks.append(b)
        size += len(b)
    return b"".join(chunks)


def parse_response(data):
    """(status, {lower-case name: value}, body) of a raw HTTP/1.x response."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def seqpacket_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(TIMEOUT)
    s.connect(path)
    return s


class TempDirTestCase(unittest.TestCase):
    """A test with its own scratch folder, removed afterwards."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="ashd-test-")
        self.tmp = self._tmp.name
        os.chmod(self.tmp, 0o755)

    def tearDown(self):
        self._tmp.cleanup()
