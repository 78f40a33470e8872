# SPDX-License-Identifier: MIT
"""htactivate: a stdin-style handler behind activated sockets, reached
through htparser, started on the first request and again after it exits,
with the peer check every activated handler makes."""

import os
import pwd
import subprocess
import sys

import ashdtest
from ashdtest import binary, encode_request
from httpclient import recv_response, wait_gone
from launch import Launcher

HTPARSER = binary("htparser")
HTACTIVATE = binary("htactivate")
HANDLER = binary("test-handler")


def pid_of(body):
    return int([line for line in body.decode().splitlines() if line.startswith("pid: ")][0].split()[1])


class HtactivateTest(ashdtest.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.tmp, "site.sock")
        self.site = Launcher(["--lazy", "-l", f"site=unix:{self.path}"], [HTACTIVATE, HANDLER])
        self.addCleanup(self.site.close)
        self.site.wait_listening()
        self.front = Launcher(["-l", "http=tcp:127.0.0.1:0"], [HTPARSER, "--root-socket", self.path])
        self.addCleanup(self.front.close)
        self.front.wait_ready()
        import socket

        self.sock = socket.create_connection(self.front.address("http"), timeout=ashdtest.TIMEOUT)
        self.addCleanup(self.sock.close)

    def get(self, path):
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
        return recv_response(self.sock)

    def test_serves_and_restarts_the_program(self):
        status, _, body, _, _ = self.get("/first")
        self.assertEqual(status, 200)
        self.assertIn(b"rest: first\n", body)
        # The request went through htactivate to the forked stdin-style
        # handler: a process other than htactivate itself.
        htactivate = self.site.wait_started().pid
        first = pid_of(body)
        self.assertNotEqual(first, htactivate)
        # Many requests, one program process.
        for i in range(20):
            self.assertEqual(pid_of(self.get(f"/again{i}")[2]), first)
        # The program exits; the next request starts it again.
        status, _, body, _, _ = self.get("/exit")
        self.assertEqual(status, 200)
        wait_gone(first)
        status, _, body, _, _ = self.get("/after")
        self.assertEqual(status, 200)
        self.assertNotEqual(pid_of(body), first)
        # htactivate itself never restarted.
        self.assertEqual(len(self.site.events("started")), 1)

    def test_peer_of_another_user_refused(self):
        nobody = pwd.getpwnam("nobody")
        client = (
            "import socket, sys\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.settimeout(10); s.connect(sys.argv[1])\n"
            "a, b = socket.socketpair(); a.settimeout(10)\n"
            "try:\n"
            "    socket.send_fds(s, [bytes.fromhex(sys.argv[2])], [b.fileno()])\n"
            "except OSError:\n"
            "    pass\n"
            "b.close(); print(repr(a.recv(100)))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", client, self.path, encode_request(url="/x").hex()],
            user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[], capture_output=True, text=True,
            timeout=ashdtest.TIMEOUT,
        )
        self.assertEqual(out.stdout.strip(), "b''", out.stderr)
        self.site.wait_stderr("Refused upstream connection")
        # The allowed front end is still served.
        self.assertEqual(self.get("/ok")[0], 200)

    def test_program_that_cannot_start_is_503(self):
        broken = Launcher(["--lazy", "-l", f"b=unix:{self.path}.b"], [HTACTIVATE, "/nonexistent/handler"])
        self.addCleanup(broken.close)
        broken.wait_listening()
        front = Launcher(["-l", "http=tcp:127.0.0.1:0"], [HTPARSER, "--root-socket", f"{self.path}.b"])
        self.addCleanup(front.close)
        front.wait_ready()
        import socket

        s = socket.create_connection(front.address("http"), timeout=ashdtest.TIMEOUT)
        self.addCleanup(s.close)
        s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        # The fork succeeds and exec fails: the request dies with the
        # child, a 502; htactivate lives on.
        self.assertIn(recv_response(s)[0], (502, 503))
        self.assertEqual(len(broken.events("exited")), 0)
