# SPDX-License-Identifier: MIT
"""htparser through real sockets: raw HTTP from Python and curl in front,
the test handler behind it (forked ashd-style, or activated on its own
socket), every rule with the status code it must produce."""

import os
import signal
import socket
import subprocess
import time

import ashdtest
from ashdtest import binary
from httpclient import is_closed, read_until_closed, recv_response, wait_gone  # noqa: F401
from launch import Launcher

HTPARSER = binary("htparser")
HANDLER = binary("test-handler")


class HtparserTestCase(ashdtest.TempDirTestCase):
    htparser_args = ()
    launcher_args = ()  # more options for ashd-launch (--watchdog-usec ...)

    def start(self, *args, root=None):
        """htparser on an activated TCP socket; the root handler forked from
        it unless root (a socket path) is given."""
        argv = [HTPARSER, *self.htparser_args, *args]
        if root:
            argv += ["--root-socket", root]
        else:
            argv += ["--", HANDLER]
        launcher = Launcher(["-l", "http=tcp:127.0.0.1:0", *self.launcher_args], argv)
        self.addCleanup(launcher.close)
        launcher.wait_ready()
        self.launcher = launcher
        self.addr = launcher.address("http")
        return launcher

    def connect(self):
        s = socket.create_connection(self.addr, timeout=ashdtest.TIMEOUT)
        self.addCleanup(s.close)
        return s

    def exchange(self, raw, head_only=False):
        s = self.connect()
        s.sendall(raw)
        return s, recv_response(s, head_only)

    def url(self, path="/"):
        return f"http://{self.addr[0]}:{self.addr[1]}{path}"


class BasicTest(HtparserTestCase):
    def setUp(self):
        super().setUp()
        self.start()

    def test_get_reaches_handler_with_trusted_headers(self):
        s, (status, headers, body, _, _) = self.exchange(
            b"GET /a/b%20c?x=1 HTTP/1.1\r\nHost: example.org\r\nX-Ash-Address: 6.6.6.6\r\n"
            b"x-ash-protocol: https\r\nAccept: */*\r\n\r\n"
        )
        self.assertEqual(status, 200)
        text = body.decode()
        self.assertIn("method: GET\n", text)
        self.assertIn("url: /a/b%20c?x=1\n", text)
        self.assertIn("rest: a/b%20c\n", text)
        self.assertIn("header: Host: example.org\n", text)
        # The client's X-Ash- headers are gone; htparser's own are there.
        self.assertNotIn("6.6.6.6", text)
        self.assertNotIn("x-ash-protocol", text)
        self.assertIn("header: X-Ash-Address: 127.0.0.1\n", text)
        self.assertIn("header: X-Ash-Protocol: http\n", text)
        self.assertIn(f"header: X-Ash-Server-Port: {self.addr[1]}\n", text)
        self.assertIn("header: X-Ash-Server-Address: 127.0.0.1\n", text)
        port = s.getsockname()[1]
        self.assertIn(f"header: X-Ash-Port: {port}\n", text)
        self.assertRegex(text, r"header: X-Ash-Connection-Id: \d+\n")
        self.assertIn("date", headers)
        self.assertEqual(headers["server"], "ashd")

    def test_curl(self):
        out = subprocess.run(
            ["curl", "-sS", "-i", "--max-time", "10", self.url("/curl")], capture_output=True, timeout=20
        )
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(b"HTTP/1.1 200 OK", out.stdout)
        self.assertIn(b"rest: curl", out.stdout)

    def test_keep_alive_and_pipelining_in_order(self):
        s = self.connect()
        s.sendall(b"".join(f"GET /p{i} HTTP/1.1\r\nHost: h\r\n\r\n".encode() for i in range(5)))
        rest = b""
        for i in range(5):
            # recv_response may read ahead: feed leftovers back.
            status, _, body, _, rest = self._recv_with(s, rest)
            self.assertEqual(status, 200)
            self.assertIn(f"rest: p{i}\n".encode(), body)

    def test_addresses_on_a_wildcard_listener(self):
        # A listener bound to 0.0.0.0: each connection's own local address
        # (htparser keeps the listener's only when it is not a wildcard).
        launcher = Launcher(["-l", "http=tcp:0.0.0.0:0"], [HTPARSER, "--", HANDLER])
        self.addCleanup(launcher.close)
        launcher.wait_ready()
        port = launcher.address("http")[1]
        for local in ("127.0.0.1", "127.0.0.2"):
            s = socket.create_connection((local, port), timeout=ashdtest.TIMEOUT)
            self.addCleanup(s.close)
            s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            status, _, body, _, _ = recv_response(s)
            self.assertEqual(status, 200)
            self.assertIn(f"header: X-Ash-Server-Address: {local}\n".encode(), body)
            self.assertIn(f"header: X-Ash-Address: {s.getsockname()[0]}\n".encode(), body)
            self.assertIn(f"header: X-Ash-Port: {s.getsockname()[1]}\n".encode(), body)

    def test_request_and_half_close_during_an_exchange(self):
        # The next request and the client's FIN arrive while the first
        # response is still streaming (its head is here, most of its 8 MB
        # are not: the client's receive buffer is kept small, so they wait
        # in htparser and the handler): htparser leaves them in the socket
        # until the exchange is done, then answers the second, then closes.
        size = 8 << 20
        s = socket.socket()
        self.addCleanup(s.close)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        s.settimeout(ashdtest.TIMEOUT)
        s.connect(self.addr)
        s.sendall(f"GET /big/{size} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            b = s.recv(65536)
            self.assertTrue(b, "closed before the first head")
            buf += b
        s.sendall(b"GET /second HTTP/1.1\r\nHost: h\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            buf += b
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        self.assertIn(f"Content-Length: {size}".encode(), head)
        second = rest[size:]
        self.assertTrue(second.startswith(b"HTTP/1.1 200 "), second[:100])
        self.assertIn(b"rest: second\n", second)
        # Then the connection ended (the loop above saw EOF).

    def _recv_with(self, s, leftover):
        class Prefixed:
            def __init__(self, sock, data):
                self.sock, self.data = sock, data

            def settimeout(self, t):
                self.sock.settimeout(t)

            def recv(self, n):
                if self.data:
                    d, self.data = self.data, b""
                    return d
                return self.sock.recv(n)

        return recv_response(Prefixed(s, leftover))

    def test_http10_closes_by_default_and_keeps_alive_on_request(self):
        s, (status, headers, _, _, _) = self.exchange(b"GET / HTTP/1.0\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertTrue(is_closed(s))
        s, (status, headers, _, _, _) = self.exchange(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        self.assertEqual(headers.get("connection"), "keep-alive")
        s.sendall(b"GET /second HTTP/1.0\r\n\r\n")
        self.assertIn(b"rest: second", recv_response(s)[2])

    def test_connection_close_honoured(self):
        s, (status, headers, _, _, _) = self.exchange(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        self.assertEqual(headers.get("connection"), "close")
        self.assertTrue(is_closed(s))

    def test_head_has_no_body(self):
        s, (status, headers, body, _, rest) = self.exchange(b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n", head_only=True)
        self.assertEqual(status, 200)
        self.assertIn("content-length", headers)
        # The connection goes on, and no body bytes precede the next response.
        s.sendall(b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        status, _, body, _, _ = self._recv_with(s, rest)
        self.assertIn(b"rest: next", body)

    def test_content_length_body(self):
        payload = os.urandom(200000)
        s, (status, _, body, _, _) = self.exchange(
            b"POST /body HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-whatever\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        self.assertEqual(status, 200)
        self.assertEqual(body, f"body: {len(payload)}\n".encode())
        s.sendall(b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertIn(b"rest: after", recv_response(s)[2])

    def test_chunked_body_with_extensions_and_trailers(self):
        s, (status, _, body, _, _) = self.exchange(
            b"POST /body HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n"
            b"A\r\n0123456789\r\n"
            b"0\r\nX-Trailer: yes\r\n\r\n"
        )
        self.assertEqual(status, 200)
        self.assertEqual(body, b"body: 15\n")
        # The trailer and chunk framing were not taken for a next request.
        s.sendall(b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertIn(b"rest: after", recv_response(s)[2])

    def test_response_without_length_chunked_for_http11(self):
        s, (status, headers, body, _, _) = self.exchange(b"GET /nolength HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        self.assertEqual(body, b"no length here\n")
        # Bare-LF head from the handler, normalised; the connection goes on.
        s.sendall(b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertIn(b"rest: after", recv_response(s)[2])

    def test_response_without_length_closes_for_http10(self):
        s, (status, headers, body, _, _) = self.exchange(b"GET /nolength HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertNotIn("transfer-encoding", headers)
        self.assertNotIn("content-length", headers)
        self.assertEqual(headers.get("connection"), "close")
        self.assertEqual(body, b"no length here\n")

    def test_no_body_statuses(self):
        for code in (204, 304):
            s, (status, headers, body, _, rest) = self.exchange(f"GET /status/{code} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
            self.assertEqual(status, code)
            self.assertNotIn("content-length", headers) if code == 204 else None
            self.assertNotIn("transfer-encoding", headers)
            s.sendall(b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
            status, _, body, _, _ = self._recv_with(s, rest)
            self.assertEqual(status, 200, f"after {code}")

    def test_handler_status_passed_on(self):
        s, (status, _, body, _, _) = self.exchange(b"GET /status/404 HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 404)
        self.assertEqual(body, b"status 404\n")

    def test_handler_without_response_is_502_and_server_lives(self):
        s, (status, _, _, _, _) = self.exchange(b"GET /silent HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 502)
        self.assertTrue(is_closed(s))
        self.assertEqual(self.exchange(b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\n")[1][0], 200)

    def test_forked_root_handler_restarts(self):
        _, (status, _, body, _, _) = self.exchange(b"GET /exit HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 200)
        pid1 = [l for l in body.decode().splitlines() if l.startswith("pid: ")][0]
        # A request sent while the old handler is still exiting would be
        # lost with it (as any request a crashing handler holds): wait
        # until htparser has reaped it.
        wait_gone(int(pid1.split()[1]))
        _, (status, _, body, _, _) = self.exchange(b"GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 200)
        pid2 = [l for l in body.decode().splitlines() if l.startswith("pid: ")][0]
        self.assertNotEqual(pid1, pid2)


class StrictParsingTest(HtparserTestCase):
    """Each malformed request gets its status and, where the framing is in
    doubt, a closed connection: never a silent close."""

    def setUp(self):
        super().setUp()
        self.start()

    def assert_refused(self, raw, status):
        s, (got, headers, _, _, _) = self.exchange(raw)
        self.assertEqual(got, status, raw)
        self.assertEqual(headers.get("connection"), "close")
        self.assertTrue(is_closed(s))

    def test_bad_method_token(self):
        self.assert_refused(b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400)

    def test_space_before_colon(self):
        self.assert_refused(b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400)

    def test_obs_fold(self):
        self.assert_refused(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", 400)

    def test_bare_cr(self):
        self.assert_refused(b"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400)

    def test_nul(self):
        self.assert_refused(b"GET / HTTP/1.1\r\nHost: h\x00\r\n\r\n", 400)

    def test_missing_host(self):
        self.assert_refused(b"GET / HTTP/1.1\r\n\r\n", 400)

    def test_two_hosts(self):
        self.assert_refused(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)

    def test_content_length_and_transfer_encoding(self):
        self.assert_refused(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400
        )

    def test_conflicting_content_lengths(self):
        self.assert_refused(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd", 400)

    def test_invalid_content_length(self):
        self.assert_refused(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +4\r\n\r\nabcd", 400)

    def test_unknown_transfer_encoding(self):
        self.assert_refused(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501)

    def test_transfer_encoding_not_final_chunked(self):
        self.assert_refused(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501)

    def test_bad_chunk_size(self):
        self.assert_refused(b"POST /body HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400)

    def test_unsupported_version(self):
        self.assert_refused(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505)

    def test_request_line_too_long(self):
        self.assert_refused(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: h\r\n\r\n", 414)

    def test_head_too_large(self):
        self.assert_refused(
            b"GET / HTTP/1.1\r\nHost: h\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 900) for i in range(40)) + b"\r\n",
            431,
        )

    def test_too_many_headers(self):
        self.assert_refused(
            b"GET / HTTP/1.1\r\nHost: h\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(150)) + b"\r\n", 431
        )

    def test_absolute_form_takes_host_from_target(self):
        s, (status, _, body, _, _) = self.exchange(b"GET http://Example.ORG:8080/abs/x?q HTTP/1.1\r\nHost: other\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertIn(b"rest: abs/x\n", body)
        self.assertIn(b"header: Host: Example.ORG:8080\n", body)

    def test_options_asterisk(self):
        s, (status, _, body, _, _) = self.exchange(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertIn(b"url: *\n", body)
        self.assertIn(b"rest: \n", body)


class LimitsAndFailuresTest(HtparserTestCase):
    htparser_args = ("--head-timeout=0.5", "--max-body=1000")

    def test_slow_head_is_408(self):
        self.start()
        s = self.connect()
        s.sendall(b"GET / HTTP/1.1\r\nHost:")
        status = recv_response(s)[0]
        self.assertEqual(status, 408)
        self.assertTrue(is_closed(s))

    def test_trickled_head_is_408_all_the_same(self):
        # One byte every 0.1 s keeps the connection busy but never restarts
        # the head's time: 408 after about 0.5 s, long before the 4 s the
        # trickle would take.
        self.start()
        s = self.connect()
        head = b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: " + b"a" * 40
        sent = 0
        s.settimeout(0.1)
        data = b""
        while sent < len(head) and not data:
            s.sendall(head[sent:sent + 1])
            sent += 1
            try:
                data = s.recv(4096)
            except socket.timeout:
                pass
        self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data)
        self.assertLess(sent, len(head))

    def test_chunked_body_over_limit_is_413(self):
        self.start()
        chunk = b"%x\r\n%s\r\n" % (600, b"x" * 600)
        s, (status, _, _, _, _) = self.exchange(
            b"POST /body HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + b"0\r\n\r\n")
        self.assertEqual(status, 413)
        self.assertTrue(is_closed(s))
        # Within the limit, the same framing is served.
        s, (status, _, body, _, _) = self.exchange(
            b"POST /body HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + b"0\r\n\r\n")
        self.assertEqual((status, body), (200, b"body: 600\n"))

    def test_body_over_limit_is_413(self):
        self.start()
        s, (status, headers, _, _, _) = self.exchange(b"POST /body HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n")
        self.assertEqual(status, 413)
        self.assertTrue(is_closed(s))

    def test_root_handler_missing_is_503_and_recovers(self):
        path = os.path.join(self.tmp, "root.sock")
        self.start(root=path)
        s, (status, headers, body, _, _) = self.exchange(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 503)
        self.launcher.wait_stderr("is not available")
        # The handler comes up: the next request is served.
        handler = Launcher(["-l", f"root=unix:{path}"], [HANDLER])
        self.addCleanup(handler.close)
        handler.wait_ready()
        self.assertEqual(self.exchange(b"GET /up HTTP/1.1\r\nHost: h\r\n\r\n")[1][0], 200)

    def test_root_socket_squatted_by_another_user_is_refused(self):
        # Another user listens where the root handler's socket should be:
        # htparser checks the listener and never hands it a request.
        import pwd
        import sys

        nobody = pwd.getpwnam("nobody")
        folder = os.path.join(self.tmp, "open")
        os.mkdir(folder)
        os.chmod(folder, 0o777)
        path = os.path.join(folder, "root.sock")
        squatter = subprocess.Popen(
            [sys.executable, "-c", "import socket, sys\n"
             "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
             "s.bind(sys.argv[1]); s.listen(8); print('listening', flush=True)\n"
             "c, _ = s.accept(); print('took', len(c.recv(65536)), flush=True)\n", path],
            user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[], stdout=subprocess.PIPE, text=True)
        self.addCleanup(squatter.wait, ashdtest.TIMEOUT)
        self.addCleanup(squatter.kill)
        self.assertEqual(squatter.stdout.readline().strip(), "listening")
        self.start(root=path)
        s, (status, _, _, _, _) = self.exchange(b"GET /secret HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 503)
        self.launcher.wait_stderr(f"its listener runs as uid {nobody.pw_uid}, neither root nor us")
        # It was connected to, found out and left without a byte.
        self.assertEqual(squatter.stdout.readline().strip(), "took 0")
        squatter.stdout.close()

    def test_sigterm_keeps_a_connection_whose_first_request_is_on_its_way(self):
        # A client that connected just before the drain began and has not
        # sent its request yet would see a plain failure if closed (a
        # keep-alive one would retry): it is served.
        self.start()
        fresh = self.connect()
        other = self.connect()
        other.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        # Connections are accepted in order: "fresh" is in htparser now.
        self.assertEqual(recv_response(other)[0], 200)
        self.launcher.send_signal(signal.SIGTERM)
        self.launcher.wait_for("notify", match=lambda e: e.assignment.startswith("STATUS=Draining"))
        self.assertTrue(is_closed(other))
        fresh.sendall(b"GET /late HTTP/1.1\r\nHost: h\r\n\r\n")
        status, headers, body, _, _ = recv_response(fresh)
        self.assertEqual(status, 200)
        self.assertTrue(is_closed(fresh))
        self.assertEqual(self.launcher.wait_exited().status, ("status", 0))

    def test_sigterm_drains_in_flight_request(self):
        self.start()
        idle = self.connect()
        idle.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        recv_response(idle)
        busy = self.connect()
        # The handler waits for the whole body; half of it is sent.
        busy.sendall(b"POST /body HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n12345")
        # htparser's live counters say when it has taken the second request.
        self.launcher.wait_for("notify", match=lambda e: "2 requests" in e.assignment)
        pid = self.launcher.wait_started().pid
        listening = {os.readlink(f"/proc/{pid}/fd/3")}
        self.assertTrue(listening.pop().startswith("socket:"))
        listening = {os.readlink(f"/proc/{pid}/fd/3")}
        self.launcher.send_signal(signal.SIGTERM)
        self.launcher.wait_notify("STOPPING=1")
        # Its copies of the listening sockets are closed at once (systemd
        # keeps its own), so that a restarted socket unit can bind again.
        self.launcher.wait_for("notify", match=lambda e: e.assignment.startswith("STATUS=Draining"))
        self.assertFalse(set(os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
                         & listening)
        # The idle keep-alive connection is closed; the busy one finishes.
        self.assertTrue(is_closed(idle))
        busy.sendall(b"67890")
        status, headers, body, _, _ = recv_response(busy)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"body: 10\n")
        self.assertEqual(headers.get("connection"), "close")
        self.assertEqual(self.launcher.wait_exited().status, ("status", 0))

    def test_connection_limit_pauses_accepting(self):
        self.start("--max-connections=2")
        a, b = self.connect(), self.connect()
        for s in (a, b):
            s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            self.assertEqual(recv_response(s)[0], 200)
        c = self.connect()  # completes in the kernel's backlog
        c.sendall(b"GET /third HTTP/1.1\r\nHost: h\r\n\r\n")
        c.settimeout(0.3)
        with self.assertRaises(TimeoutError):
            c.recv(1)
        a.close()
        self.assertIn(b"rest: third", recv_response(c)[2])


def send_ignoring_close(sock, raw):
    """Sends raw; a server that has already closed may reset us."""
    try:
        sock.sendall(raw)
    except (BrokenPipeError, ConnectionResetError):
        pass


class SmugglingTest(HtparserTestCase):
    """Framing pairs that front ends and back ends have disagreed about: each
    is refused with the connection closed, or read exactly one way."""

    def setUp(self):
        super().setUp()
        self.start()

    def assert_refused(self, raw, status):
        s, (got, headers, _, _, _) = self.exchange(raw)
        self.assertEqual(got, status, raw)
        self.assertEqual(headers.get("connection"), "close")
        self.assertTrue(is_closed(s))

    def assert_body_then_next(self, raw, body_length):
        """raw is a POST /body; its answer counts body_length bytes, and a
        request sent after it on the same connection is answered too."""
        s, (status, _, body, _, rest) = self.exchange(raw)
        self.assertEqual(status, 200, raw)
        self.assertEqual(body, f"body: {body_length}\n".encode())
        self.assertEqual(rest, b"")
        s.sendall(b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertIn(b"rest: after\n", recv_response(s)[2])

    def test_transfer_encoding_chunked_on_two_lines(self):
        self.assert_refused(
            b"POST /body HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n",
            400,
        )

    def test_transfer_encoding_chunked_listed_twice(self):
        self.assert_refused(
            b"POST /body HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            400,
        )

    def test_transfer_encoding_identity(self):
        # identity is no longer a transfer coding (RFC 9112 §7): unknown.
        self.assert_refused(b"POST /body HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\nhello", 501)

    def test_transfer_encoding_in_http10(self):
        # An HTTP/1.0 message's framing with Transfer-Encoding is faulty
        # (RFC 9112 §6.1), whatever the coding.
        self.assert_refused(b"POST /body HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400)

    def test_chunk_size_with_sign_or_prefix(self):
        for size in (b"+5", b"-5", b"0X5", b" 5"):
            with self.subTest(size=size):
                self.assert_refused(
                    b"POST /body HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + size
                    + b"\r\nhello\r\n0\r\n\r\n",
                    400,
                )

    def test_content_length_list_of_one_value(self):
        self.assert_body_then_next(b"POST /body HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello", 5)

    def test_chunked_with_trailing_whitespace(self):
        # Field values lose surrounding whitespace (RFC 9112 §5.1).
        for value in (b"chunked ", b"chunked\t", b"chunked \t "):
            with self.subTest(value=value):
                self.assert_body_then_next(
                    b"POST /body HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: " + value + b"\r\n\r\n"
                    b"5\r\nhello\r\n0\r\n\r\n",
                    5,
                )

    def test_body_then_pipelined_request(self):
        for framing, body in (
            (b"Content-Length: 5", b"hello"),
            (b"Transfer-Encoding: chunked", b"3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"),
        ):
            with self.subTest(framing=framing):
                s = self.connect()
                s.sendall(
                    b"POST /body HTTP/1.1\r\nHost: h\r\n" + framing + b"\r\n\r\n" + body
                    + b"GET /next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
                )
                status, _, first, _, rest = recv_response(s)
                self.assertEqual((status, first), (200, b"body: 5\n"))
                data = rest + read_until_closed(s)
                status, headers, second = ashdtest.parse_response(data)
                self.assertEqual(status, 200)
                self.assertIn(b"rest: next\n", second)
                self.assertEqual(headers.get("connection"), "close")

    SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"

    def test_unread_body_is_not_a_request(self):
        # The handler answers without reading the body, which arrived with
        # the head: whether htparser drops the body or closes, the request
        # inside it is never answered.
        for framing, body in (
            (b"Content-Length: %d" % len(self.SMUGGLED), self.SMUGGLED),
            (b"Transfer-Encoding: chunked", b"%x\r\n%s\r\n0\r\n\r\n" % (len(self.SMUGGLED), self.SMUGGLED)),
        ):
            with self.subTest(framing=framing):
                s = self.connect()
                s.sendall(b"POST /status/413 HTTP/1.1\r\nHost: h\r\n" + framing + b"\r\n\r\n" + body)
                status, _, _, _, rest = recv_response(s)
                self.assertEqual(status, 413)
                send_ignoring_close(s, b"GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                data = rest + read_until_closed(s)
                self.assertNotIn(b"smuggled", data)
                if data:
                    self.assertIn(b"rest: after\n", data)

    def test_body_sent_after_the_response_is_not_a_request(self):
        # The response comes before the body: the body's end is then
        # unknowable to htparser unless it reads it all, so it closes.
        s = self.connect()
        s.sendall(b"POST /status/413 HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(self.SMUGGLED))
        status, _, body, _, rest = recv_response(s)
        self.assertEqual((status, body, rest), (413, b"status 413\n", b""))
        send_ignoring_close(s, self.SMUGGLED)
        self.assertEqual(read_until_closed(s), b"")


class NotifyTest(HtparserTestCase):
    """What htparser tells its service manager (here ashd-launch)."""

    def test_ready_status_counters_and_stopping(self):
        launcher = self.start()
        pid = launcher.wait_started().pid
        launcher.wait_notify("READY=1", pid=pid)

        keep = self.connect()
        keep.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(recv_response(keep)[0], 200)
        keep.sendall(b"GET /status/404 HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(recv_response(keep)[0], 404)
        bad, (status, _, _, _, _) = self.exchange(b"GET / HTTP/1.1\r\nHost : h\r\n\r\n")
        self.assertEqual(status, 400)
        self.assertTrue(is_closed(bad))
        # The counters go out once a second when they have changed; the
        # keep-alive connection is still open, the refused one is not.
        launcher.wait_notify("STATUS=1 connections, 2 requests, 2 4xx, 0 5xx", pid=pid)

        keep.sendall(b"GET /status/503 HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(recv_response(keep)[0], 503)
        launcher.send_signal(signal.SIGTERM)
        launcher.wait_notify("STOPPING=1", pid=pid)
        # Draining closes the idle connection and reports at once.
        launcher.wait_notify("STATUS=Draining: 0 connections, 3 requests, 2 4xx, 1 5xx", pid=pid)
        self.assertTrue(is_closed(keep))
        self.assertEqual(launcher.wait_exited(pid=pid).status, ("status", 0))


class WatchdogTest(HtparserTestCase):
    launcher_args = ("--watchdog-usec", "500000")

    def test_watchdog_pings_while_idle(self):
        launcher = self.start()
        pid = launcher.wait_started().pid
        # sd-event pings between half and three quarters of the period,
        # with no request to wake the loop.
        for _ in range(2):
            launcher.wait_notify("WATCHDOG=1", pid=pid)
        self.assertEqual(launcher.events("watchdog"), [])  # ashd-launch never timed out
        self.assertEqual(self.exchange(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")[1][0], 200)
        self.assertEqual(launcher.events("exited"), [])


class TimeoutTest(HtparserTestCase):
    """Each timeout with a short value, watched from the client."""

    htparser_args = ("--handler-timeout=0.5", "--body-timeout=0.5", "--idle-timeout=0.5", "--send-timeout=0.5")

    def setUp(self):
        super().setUp()
        self.start()

    def test_handler_timeout_is_504_and_next_connection_served(self):
        start = time.monotonic()
        s, (status, headers, _, _, _) = self.exchange(b"GET /hang HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 504)
        self.assertGreaterEqual(time.monotonic() - start, 0.45)
        self.assertEqual(headers.get("connection"), "close")
        self.assertTrue(is_closed(s))
        _, (status, _, body, _, _) = self.exchange(b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertIn(b"rest: after\n", body)

    def test_handler_stalling_after_its_head_cuts_the_response(self):
        # The status line is sent: no 504 can follow, the connection ends
        # without the last chunk, so the client sees the response is cut.
        s, (status, headers, _, _, rest) = self.exchange(b"GET /head-hang HTTP/1.1\r\nHost: h\r\n\r\n", head_only=True)
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        data = rest + read_until_closed(s)
        self.assertEqual(data, b"8\r\npartial\n\r\n")

    # Regression (fixed): conn_timeout(TIMER_BODY) in src/htparser/conn.c calls conn_fail()
    # even when the handler's response head has already gone to the client,
    # and conn_fail() appends a whole "408" response after the partial one.
    def test_body_stall_after_response_head_appends_no_408(self):
        s = self.connect()
        s.sendall(b"POST /head-hang HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        status, headers, _, _, rest = recv_response(s, head_only=True)
        self.assertEqual(status, 200)
        data = rest + read_until_closed(s)
        self.assertNotIn(b"HTTP/1.1 408", data)
        self.assertEqual(data, b"8\r\npartial\n\r\n")

    def test_body_timeout_is_408(self):
        start = time.monotonic()
        s, (status, headers, _, _, _) = self.exchange(
            b"POST /body HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc"
        )
        self.assertEqual(status, 408)
        self.assertGreaterEqual(time.monotonic() - start, 0.45)
        self.assertEqual(headers.get("connection"), "close")
        self.assertTrue(is_closed(s))
        # The handler got EOF for its body and is free again.
        self.assertEqual(self.exchange(b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n")[1][0], 200)

    def test_idle_keep_alive_timeout_closes_without_response(self):
        fresh = self.connect()  # never sends a request
        s, (status, headers, _, _, rest) = self.exchange(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertNotIn("connection", headers)  # kept alive
        start = time.monotonic()
        self.assertEqual(rest + read_until_closed(s), b"")
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        self.assertEqual(read_until_closed(fresh), b"")

    def test_reader_that_keeps_reading_gets_everything(self):
        size = 4 << 20
        s, (status, headers, body, _, _) = self.exchange(b"GET /big/%d HTTP/1.1\r\nHost: h\r\n\r\n" % size)
        self.assertEqual(status, 200)
        self.assertEqual(len(body), size)
        self.assertEqual(body.strip(b"x"), b"")
        s.sendall(b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertIn(b"rest: after\n", recv_response(s)[2])


def kernel_buffer_bound():
    """Bytes the kernel may hold between the test handler and a client that
    does not read: a TCP send buffer at its largest and a Unix socket's."""
    with open("/proc/sys/net/ipv4/tcp_wmem") as f:
        tcp = int(f.read().split()[2])
    with open("/proc/sys/net/core/wmem_max") as f:
        unix = int(f.read())
    return tcp + 2 * unix


class SlowReaderTest(HtparserTestCase):
    htparser_args = ("--send-timeout=0.5",)

    def test_slow_reader_is_cut_off(self):
        self.start()
        # More than the kernel can hold, so that the handler stays blocked
        # in its writes until htparser gives up on the client.
        size = max(8 << 20, 2 * kernel_buffer_bound())
        # A small receive buffer (which also stops its autotuning) keeps
        # most of the body in htparser and the handler, not in the client.
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(ashdtest.TIMEOUT)
        s.connect(self.addr)
        start = time.monotonic()
        s.sendall(b"GET /big/%d HTTP/1.1\r\nHost: h\r\n\r\n" % size)
        # The single-threaded handler answers the next request only once its
        # blocked write has failed, that is once htparser has dropped the
        # slow client and closed the response socket.
        _, (status, _, body, _, _) = self.exchange(b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertIn(b"rest: after\n", body)
        self.assertGreaterEqual(time.monotonic() - start, 0.45)
        # What the client gets now is what was on its way, then the end.
        data = read_until_closed(s, limit=2 * size)
        head, sep, body = data.partition(b"\r\n\r\n")
        self.assertTrue(sep, data[:200])
        self.assertIn(b"Content-Length: %d" % size, head)
        self.assertLess(len(body), size)
        self.assertEqual(body.strip(b"x"), b"")


class DuplexTest(HtparserTestCase):
    """The original ashd's protocol switch (websockets): a 101 with
    X-Ash-Switch: duplex turns the connection into a raw relay both ways."""

    def test_switch_and_echo(self):
        self.start()
        s = self.connect()
        s.sendall(b"GET /duplex HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        status, headers, _, _, rest = recv_response(s, head_only=True)
        self.assertEqual(status, 101)
        self.assertEqual(headers.get("upgrade"), "echo")
        self.assertEqual(headers.get("connection"), "Upgrade")
        self.assertNotIn("x-ash-switch", headers)
        self.assertNotIn("content-length", headers)
        self.assertNotIn("transfer-encoding", headers)
        got = rest
        for word in (b"ping", b"pong" * 5000):
            s.sendall(word)
            while len(got) < len(word):
                b = s.recv(65536)
                self.assertTrue(b, "closed during the relay")
                got += b
            self.assertEqual(got, word)
            got = b""
        # The client stops sending; the handler still has the last word.
        s.shutdown(socket.SHUT_WR)
        tail = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            tail += b
        self.assertEqual(tail, b"bye\n")

    def test_upgrade_request_without_switch_is_ordinary(self):
        self.start()
        s = self.connect()
        s.sendall(b"GET /plain HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        status, headers, body, _, _ = recv_response(s)
        self.assertEqual(status, 200)
        self.assertNotIn("upgrade", headers)
        self.assertIn(b"rest: plain", body)


class MoreFailuresTest(HtparserTestCase):
    def test_connect_is_not_implemented(self):
        self.start()
        s, (status, headers, _, _, _) = self.exchange(b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n")
        self.assertEqual(status, 501)
        self.assertTrue(is_closed(s))

    def test_killed_handler_costs_its_request_only(self):
        self.start()
        s = self.connect()
        s.sendall(b"POST /body HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n123")
        # The request is with the handler (STATUS counts it): kill it.
        self.launcher.wait_for("notify", match=lambda e: "1 requests" in e.assignment)
        out = subprocess.run(["pgrep", "-P", str(self.launcher.wait_started().pid)], capture_output=True, text=True)
        child = int(out.stdout.split()[0])
        os.kill(child, signal.SIGKILL)
        status, _, _, _, _ = recv_response(s)
        self.assertEqual(status, 502)
        wait_gone(child)
        # htparser lives on and forks a new handler for the next request.
        _, (status, _, body, _, _) = self.exchange(b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertIn(b"rest: next", body)

    def test_drain_deadline_cuts_what_is_left(self):
        self.start("--drain-timeout=0.3", "--handler-timeout=60")
        s = self.connect()
        s.sendall(b"GET /hang HTTP/1.1\r\nHost: h\r\n\r\n")
        self.launcher.wait_for("notify", match=lambda e: "1 requests" in e.assignment)
        self.launcher.send_signal(signal.SIGTERM)
        self.launcher.wait_stderr("Drain deadline reached")
        self.assertEqual(self.launcher.wait_exited().status, ("status", 0))
        self.assertTrue(is_closed(s))


class PortSpecTest(ashdtest.TempDirTestCase):
    """htparser listening by itself, the original ashd's way."""

    def free_port(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def run_htparser(self, *portspecs, extra=()):
        proc = subprocess.Popen([HTPARSER, *extra, *portspecs, "--", HANDLER], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (proc.poll() is None and proc.terminate(), proc.wait(ashdtest.TIMEOUT),
                                 proc.stderr.close()))
        return proc

    def wait_connect(self, port, proc):
        deadline = time.monotonic() + ashdtest.TIMEOUT
        while True:
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=ashdtest.TIMEOUT)
            except ConnectionRefusedError:
                self.assertIsNone(proc.poll(), "htparser exited")
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.02)

    def test_plain_and_ssl_portspecs(self):
        from test_tls import make_cert

        cert, key = make_cert(self.tmp, "p.test")
        plain, tls = self.free_port(), self.free_port()
        proc = self.run_htparser(f"plain:port={plain},addr=127.0.0.1",
                                 f"ssl:port={tls},addr=127.0.0.1,cert={cert},key={key}")
        s = self.wait_connect(plain, proc)
        s.sendall(b"GET /by-hand HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertIn(b"rest: by-hand", recv_response(s)[2])
        s.close()
        self.wait_connect(tls, proc).close()
        out = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", cert, "--resolve",
                              f"p.test:{tls}:127.0.0.1", f"https://p.test:{tls}/tls-by-hand"],
                             capture_output=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(b"header: X-Ash-Protocol: https", out.stdout)

    def test_bad_portspec_refused(self):
        proc = subprocess.run([HTPARSER, "plain:port=80,colour=blue", "--", HANDLER], capture_output=True,
                              timeout=ashdtest.TIMEOUT)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"colour", proc.stderr)
