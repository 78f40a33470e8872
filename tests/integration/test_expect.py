# SPDX-License-Identifier: MIT
"""Expect: 100-continue end to end: htparser sends 100 Continue only when
the handler asks for the body (or, for a handler that does not know the
extension, when it has neither asked nor answered within --expect-timeout);
a handler that answers first refuses the upload without receiving it."""

import socket

import ashdtest
from ashdtest import binary
from launch import Launcher
from httpclient import is_closed, recv_response

HTPARSER = binary("htparser")
HANDLER = binary("test-handler")
HEAD = "POST /{} HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"


class ExpectTest(ashdtest.TempDirTestCase):
    def setUp(self):
        super().setUp()
        # A long fallback, so that only the handler can cause a 100 here.
        self.launcher = Launcher(["-l", "http=tcp:127.0.0.1:0"], [HTPARSER, "--expect-timeout=30", "--", HANDLER])
        self.addCleanup(self.launcher.close)
        self.launcher.wait_ready()

    def connect(self):
        s = socket.create_connection(self.launcher.address("http"), timeout=ashdtest.TIMEOUT)
        self.addCleanup(s.close)
        return s

    def test_continue_when_handler_reads(self):
        s = self.connect()
        s.sendall(HEAD.format("body").encode())
        status, _, _, head, rest = recv_response(s)
        self.assertEqual(status, 100)
        self.assertEqual(head, b"HTTP/1.1 100 Continue")
        s.sendall(b"0123456789")
        status, headers, body, _, _ = recv_response(s)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"body: 10\n")
        # The connection stays usable.
        s.sendall(b"GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertIn(b"rest: again", recv_response(s)[2])

    def test_refusal_without_receiving_the_body(self):
        s = self.connect()
        s.sendall(HEAD.format("status/413").encode())
        status, headers, body, _, _ = recv_response(s)
        # The final answer comes first, no 100 before it, and the connection
        # ends: the body that was never sent cannot be mistaken for a request.
        self.assertEqual(status, 413)
        self.assertEqual(headers.get("connection"), "close")
        self.assertTrue(is_closed(s))

    def test_body_sent_without_waiting_gets_no_100(self):
        s = self.connect()
        s.sendall(HEAD.format("body").encode() + b"0123456789")
        status, _, body, _, _ = recv_response(s)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"body: 10\n")


class ExpectFallbackTest(ashdtest.TempDirTestCase):
    def test_unaware_handler_gets_body_after_timeout(self):
        launcher = Launcher(["-l", "http=tcp:127.0.0.1:0"], [HTPARSER, "--expect-timeout=0.2", "--", HANDLER])
        self.addCleanup(launcher.close)
        launcher.wait_ready()
        s = socket.create_connection(launcher.address("http"), timeout=ashdtest.TIMEOUT)
        self.addCleanup(s.close)
        s.sendall(HEAD.format("body-unaware").encode())
        status, _, _, _, _ = recv_response(s)
        self.assertEqual(status, 100)
        s.sendall(b"0123456789")
        status, _, body, _, _ = recv_response(s)
        self.assertEqual(body, b"body: 10\n")
