# SPDX-License-Identifier: MIT
"""The zero-copy extension: a handler attaches an open file to its response
head ("X-Ash-Body-Fd: OFFSET LENGTH") and htparser sends the range itself,
over plain TCP and TLS, byte for byte; handlers that write bytes still work."""

import hashlib
import os
import socket
import ssl

import ashdtest
from ashdtest import binary
from launch import Launcher
from httpclient import is_closed, recv_response
from test_tls import make_cert

HTPARSER = binary("htparser")
FILE_HANDLER = binary("file-handler")


class ZeroCopyTest(ashdtest.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.tmp, "data.bin")
        self.data = os.urandom(5 * 1024 * 1024 + 123)
        with open(self.path, "wb") as f:
            f.write(self.data)

    def start(self, *handler_args, tls=False):
        args = ["-l", "http=tcp:127.0.0.1:0"]
        extra = []
        if tls:
            self.cert, key = make_cert(self.tmp, "z.test")
            args += ["-l", "https=tcp:127.0.0.1:0"]
            extra = [f"--tls-cert={self.cert}", f"--tls-key={key}"]
        launcher = Launcher(args, [HTPARSER, *extra, "--", FILE_HANDLER, *handler_args])
        self.addCleanup(launcher.close)
        launcher.wait_ready()
        self.launcher = launcher
        return launcher

    def connect(self, tls=False):
        if not tls:
            s = socket.create_connection(self.launcher.address("http"), timeout=ashdtest.TIMEOUT)
        else:
            ctx = ssl.create_default_context(cafile=self.cert)
            raw = socket.create_connection(self.launcher.address("https"), timeout=ashdtest.TIMEOUT)
            s = ctx.wrap_socket(raw, server_hostname="z.test")
        self.addCleanup(s.close)
        return s

    def get(self, s, offset, length, method="GET"):
        s.sendall(f"{method} /{offset}/{length}{self.path} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
        return recv_response(s, head_only=method == "HEAD")

    def assert_range(self, s, offset, length):
        status, headers, body, _, rest = self.get(s, offset, length)
        self.assertEqual(status, 200)
        self.assertEqual(int(headers["content-length"]), length)
        self.assertNotIn("x-ash-body-fd", headers)
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(self.data[offset:offset + length]).hexdigest())
        self.assertEqual(rest, b"")

    def test_whole_file_and_ranges_plain(self):
        self.start()
        s = self.connect()
        self.assert_range(s, 0, len(self.data))
        # Keep-alive goes on after a file body, and ranges are exact, small
        # ones (copied behind the head) and larger ones (sendfile) alike.
        self.assert_range(s, 1000, 12345)
        self.assert_range(s, len(self.data) - 1, 1)
        self.assert_range(s, 5, 1024)
        self.assert_range(s, 7, 8 * 1024)
        self.assert_range(s, 7, 8 * 1024 + 1)

    def test_whole_file_tls(self):
        self.start(tls=True)
        s = self.connect(tls=True)
        self.assert_range(s, 0, len(self.data))
        self.assert_range(s, 77, 100000)
        # Small files go out in one record with the head (read behind it
        # in htparser's buffer): exact too, and keep-alive goes on.
        self.assert_range(s, 5, 1024)
        self.assert_range(s, len(self.data) - 1, 1)
        self.assert_range(s, 3, 15000)
        self.assert_range(s, 0, 17000)

    def test_head_sends_no_file(self):
        self.start()
        s = self.connect()
        status, headers, body, _, rest = self.get(s, 0, 1000, method="HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-length"], "1000")
        self.assert_range(s, 5, 10)

    def test_bytes_without_the_extension_still_work(self):
        self.start("--no-fd")
        s = self.connect()
        self.assert_range(s, 3, 300000)

    def test_range_beyond_file_is_502(self):
        self.start("--claim-more")
        s = self.connect()
        status, headers, _, _, _ = self.get(s, 10, 10)
        self.assertEqual(status, 502)
        self.assertTrue(is_closed(s))
