# SPDX-License-Identifier: MIT
"""The handler runtime (src/lib/handler.c) in a real program, the test
handler, over real sockets: the ashd way (a SEQPACKET socket on stdin) and
the systemd way (activated listening sockets through ashd-launch), peer
checks with real uids, malformed datagrams, and a restart."""

import os
import pwd
import socket
import subprocess
import sys

import ashdtest
from ashdtest import binary, encode_request, parse_response, read_all, request
from launch import Launcher

HANDLER = binary("test-handler")
NOBODY = pwd.getpwnam("nobody")

# A client run as another user: connects to the socket, sends one request
# with a fresh response socket, prints what came back (or why nothing did).
CLIENT = r"""
import socket, sys
path, data = sys.argv[1], sys.argv[2].encode().replace(b"|", b"\0")
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(10)
s.connect(path)
ours, theirs = socket.socketpair()
ours.settimeout(10)
try:
    socket.send_fds(s, [data], [theirs.fileno()])
except (BrokenPipeError, ConnectionResetError):
    print("refused: send failed")
    sys.exit(0)
theirs.close()
got = b""
while True:
    b = ours.recv(65536)
    if not b:
        break
    got += b
print(got.decode() if got else "refused: closed without an answer")
"""


def fields(body):
    """The test handler's "name: value" lines as a list of pairs."""
    out = []
    for line in body.decode().splitlines():
        name, _, value = line.partition(": ")
        out.append((name, value))
    return out


class StdinModeTest(ashdtest.TempDirTestCase):
    """Mode (a): forked with a connected SEQPACKET socket on stdin."""

    def test_request_round_trip_and_clean_exit_on_eof(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        proc = subprocess.Popen([HANDLER], stdin=theirs, stderr=subprocess.PIPE)
        theirs.close()
        try:
            headers = [("Host", "example.org"), ("Accept", "a"), ("accept", "b"), ("X-Empty", "")]
            resp = request(ours, method="POST", url="/a/b?q=1", rest="a/b", headers=headers)
            status, _, body = parse_response(read_all(resp))
            self.assertEqual(status, 200)
            got = fields(body)
            self.assertIn(("method", "POST"), got)
            self.assertIn(("url", "/a/b?q=1"), got)
            self.assertIn(("version", "HTTP/1.1"), got)
            self.assertIn(("rest", "a/b"), got)
            # Headers arrive in order, duplicates kept, empty values intact.
            self.assertEqual(
                [v for k, v in got if k == "header"],
                ["Host: example.org", "Accept: a", "accept: b", "X-Empty: "],
            )
            # The parent closing the socket ends the handler cleanly.
            ours.close()
            self.assertEqual(proc.wait(ashdtest.TIMEOUT), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()

    def test_no_upstream_at_all_is_an_error(self):
        proc = subprocess.run([HANDLER], stdin=subprocess.DEVNULL, capture_output=True, timeout=ashdtest.TIMEOUT)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"Failed to set up the handler", proc.stderr)


class ActivatedModeTest(ashdtest.TempDirTestCase):
    """Mode (b): listening sockets from ashd-launch, as from systemd."""

    def launch(self, *args, handler_args=()):
        self.path = os.path.join(self.tmp, "handler.sock")
        launcher = Launcher(["-l", f"upstream=unix:{self.path}", *args], [HANDLER, *handler_args])
        self.addCleanup(launcher.close)
        launcher.wait_ready()
        return launcher

    def as_user(self, user, datagram):
        """Runs CLIENT as user; returns what it printed."""
        proc = subprocess.run(
            [sys.executable, "-c", CLIENT, self.path, datagram.decode().replace("\0", "|")],
            user=user.pw_uid,
            group=user.pw_gid,
            extra_groups=[],
            capture_output=True,
            timeout=ashdtest.TIMEOUT,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.decode()

    def test_many_upstream_connections_at_once(self):
        launcher = self.launch()
        conns = [launcher.connect("upstream") for _ in range(5)]
        # Every connection sends before any answer is read.
        pending = [request(c, url=f"/conn/{i}") for i, c in enumerate(conns)]
        for i, resp in enumerate(pending):
            status, _, body = parse_response(read_all(resp))
            self.assertEqual(status, 200)
            got = fields(body)
            self.assertIn(("rest", f"conn/{i}"), got)
            # The socket's name as systemd would pass it (LISTEN_FDNAMES).
            self.assertIn(("listen", "upstream"), got)
        for c in conns:
            c.close()

    def test_peer_of_another_uid_is_refused_and_logged(self):
        launcher = self.launch()
        out = self.as_user(NOBODY, encode_request(url="/x"))
        self.assertTrue(out.startswith("refused"), out)
        launcher.wait_stderr("Refused upstream connection")
        self.assertIn(f"uid {NOBODY.pw_uid}", launcher.stderr)
        # The handler goes on serving allowed peers.
        c = launcher.connect("upstream")
        self.assertEqual(parse_response(read_all(request(c, url="/y")))[0], 200)

    def test_configured_upstream_user_is_allowed(self):
        self.launch(handler_args=["--upstream-user", "nobody"])
        out = self.as_user(NOBODY, encode_request(url="/from-nobody"))
        self.assertIn("rest: from-nobody", out)

    def test_upstream_user_by_uid(self):
        self.launch(handler_args=["--upstream-user", str(NOBODY.pw_uid)])
        out = self.as_user(NOBODY, encode_request(url="/by-uid"))
        self.assertIn("rest: by-uid", out)

    def assert_discarded_then_served(self, launcher, conn, fds_sent, log_text):
        """Each response socket sent with a bad datagram sees EOF without an
        answer; the same connection then still serves a good request."""
        for ours in fds_sent:
            self.assertEqual(read_all(ours), b"")
        launcher.wait_stderr(log_text)
        status, _, body = parse_response(read_all(request(conn, url="/after")))
        self.assertEqual(status, 200)
        self.assertIn(("rest", "after"), fields(body))

    def test_oversized_datagram_is_discarded(self):
        launcher = self.launch()
        conn = launcher.connect("upstream")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        big = encode_request(url="/big", headers=[("X-Big", "a" * 70000)])
        ours, theirs = ashdtest.response_pair()
        ashdtest.send_request(conn, big, [theirs.fileno()])
        theirs.close()
        self.assert_discarded_then_served(launcher, conn, [ours], "larger than the protocol allows")

    def test_datagram_without_fd_is_discarded(self):
        launcher = self.launch()
        conn = launcher.connect("upstream")
        conn.send(encode_request(url="/nofd"))
        self.assert_discarded_then_served(launcher, conn, [], "did not carry exactly one file descriptor")

    def test_datagram_with_two_fds_is_discarded_and_both_closed(self):
        launcher = self.launch()
        conn = launcher.connect("upstream")
        a_ours, a_theirs = ashdtest.response_pair()
        b_ours, b_theirs = ashdtest.response_pair()
        ashdtest.send_request(conn, encode_request(url="/two"), [a_theirs.fileno(), b_theirs.fileno()])
        a_theirs.close()
        b_theirs.close()
        self.assert_discarded_then_served(
            launcher, conn, [a_ours, b_ours], "did not carry exactly one file descriptor"
        )

    def test_malformed_datagram_is_discarded(self):
        launcher = self.launch()
        conn = launcher.connect("upstream")
        ours, theirs = ashdtest.response_pair()
        # No final empty string, and a CR inside the URL.
        ashdtest.send_request(conn, b"GET\0/a\rb\0HTTP/1.1\0a", [theirs.fileno()])
        theirs.close()
        self.assert_discarded_then_served(launcher, conn, [ours], "malformed request datagram")

    def test_restarted_on_next_connection_after_exit(self):
        launcher = self.launch()
        first = launcher.wait_for("started").pid
        conn = launcher.connect("upstream")
        status, _, body = parse_response(read_all(request(conn, url="/exit")))
        self.assertEqual(status, 200)
        self.assertIn(("pid", str(first)), fields(body))
        self.assertEqual(launcher.wait_exited(pid=first).status, ("status", 3))
        conn.close()
        # The listening socket stayed open: a new connection starts it again.
        conn = launcher.connect("upstream")
        status, _, body = parse_response(read_all(request(conn, url="/again")))
        self.assertEqual(status, 200)
        second = launcher.wait_for("started").pid
        self.assertNotEqual(first, second)
        self.assertIn(("pid", str(second)), fields(body))
        conn.close()

    def test_sigterm_exits_cleanly(self):
        launcher = self.launch()
        self.assertEqual(launcher.stop(), 0)

    def test_sigterm_drains_what_was_sent(self):
        # systemctl stop/restart: a request being served and one waiting in
        # the connection are both answered before the handler exits.
        import signal

        launcher = self.launch()
        conn = launcher.connect("upstream")
        busy = request(conn, url="/body")
        busy.sendall(b"12345")
        waiting = request(conn, url="/waiting")
        launcher.send_signal(signal.SIGTERM)
        busy.sendall(b"67890")
        busy.shutdown(socket.SHUT_WR)
        self.assertEqual(parse_response(read_all(busy))[2], b"body: 10\n")
        status, _, body = parse_response(read_all(waiting))
        self.assertEqual(status, 200)
        self.assertIn(("rest", "waiting"), fields(body))
        # Nothing new is taken, and then it is gone with a clean status.
        self.assertEqual(launcher.wait_exited().status, ("status", 0))
        conn.close()
