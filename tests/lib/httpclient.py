# SPDX-License-Identifier: MIT
"""Reading HTTP responses off raw client sockets, for every tier that talks
to htparser: one response (framed by Content-Length, chunked or close),
everything until the server closes, whether it closed, and waiting for a
process to be gone."""

import os
import time

import ashdtest


def recv_response(sock, head_only=False):
    """Reads one HTTP response (head, then a body framed by Content-Length,
    chunked, or close). Returns (status, headers, body, raw head, bytes read beyond the response)."""
    sock.settimeout(ashdtest.TIMEOUT)
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = sock.recv(65536)
        if not b:
            raise EOFError(f"connection closed before a response head: {buf!r}")
        buf += b
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), v.strip())
    if head_only or status in (204, 304) or 100 <= status < 200:
        return status, headers, b"", head, rest
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(rest) < n:
            b = sock.recv(65536)
            if not b:
                raise EOFError("body cut short")
            rest += b
        return status, headers, rest[:n], head, rest[n:]
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += sock.recv(65536)
            line, _, rest = rest.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += sock.recv(65536)
            body += rest[:size]
            rest = rest[size + 2 :]
            if size == 0:
                return status, headers, body, head, rest
    while True:
        b = sock.recv(65536)
        if not b:
            return status, headers, rest, head, b""
        rest += b


def is_closed(sock):
    """Whether the server closed the connection (EOF or reset)."""
    sock.settimeout(ashdtest.TIMEOUT)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def wait_gone(pid, timeout=ashdtest.TIMEOUT):
    """Waits until process pid has exited and been reaped."""
    deadline = time.monotonic() + timeout
    while os.path.exists(f"/proc/{pid}"):
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} still there after {timeout} s")
        time.sleep(0.01)


def read_until_closed(sock, limit=64 << 20):
    """Everything the server sends until it closes the connection (EOF or
    reset), at most limit bytes; fails if it stays open past the timeout."""
    sock.settimeout(ashdtest.TIMEOUT)
    data = bytearray()
    while len(data) < limit:
        try:
            b = sock.recv(1 << 20)
        except ConnectionResetError:
            break
        if not b:
            break
        data += b
    return bytes(data)


def recv_one(sock):
    """One response with a Content-Length body on a kept-alive connection."""
    sock.settimeout(ashdtest.TIMEOUT)
    data = b""
    while b"\r\n\r\n" not in data:
        b = sock.recv(65536)
        if not b:
            raise EOFError(f"closed before a response head: {data!r}")
        data += b
    status, headers, body = ashdtest.parse_response(data)
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return status, headers, body
