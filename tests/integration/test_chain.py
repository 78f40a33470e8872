# SPDX-License-Identifier: MIT
"""The static-site chain as shipped: htparser → dirplex with
etc/ashd/dirplex.rc → the persistent sendfile and htls it starts, over real
sockets, with the programs found by name as on an installed system."""

import hashlib
import json
import os
import shutil
import socket

import ashdtest
from ashdtest import binary
from httpclient import recv_response
from launch import Launcher

HTPARSER = binary("htparser")
CONFIG = os.path.join(ashdtest.SRC, "etc", "ashd", "dirplex.rc")


class ChainTest(ashdtest.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.site = os.path.join(self.tmp, "site")
        shutil.copytree(os.path.join(ashdtest.SRC, "tests", "demo-site"), self.site)
        self.big = os.urandom(3 * 1024 * 1024 + 7)
        with open(os.path.join(self.site, "docs", "big.bin"), "wb") as f:
            f.write(self.big)
        env = dict(os.environ, PATH=f"{ashdtest.BUILD}:{os.environ.get('PATH', '/usr/bin:/bin')}")
        self.launcher = Launcher(
            ["-l", "http=tcp:127.0.0.1:0"],
            [HTPARSER, "--", binary("dirplex"), "-N", "-c", CONFIG, self.site],
            env=env,
        )
        self.addCleanup(self.launcher.close)
        self.launcher.wait_ready()
        self.sock = socket.create_connection(self.launcher.address("http"), timeout=ashdtest.TIMEOUT)
        self.addCleanup(self.sock.close)

    def get(self, path, *headers, method="GET"):
        extra = "".join(f"{h}\r\n" for h in headers)
        self.sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: h\r\n{extra}\r\n".encode())
        status, hdrs, body, _, rest = recv_response(self.sock, head_only=method == "HEAD")
        self.assertEqual(rest, b"")
        return status, hdrs, body

    def test_index_file_and_validators(self):
        status, headers, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertIn(b"ashd works", body)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        status, _, body = self.get("/", f"If-None-Match: {headers['etag']}")
        self.assertEqual(status, 304)
        self.assertEqual(body, b"")

    def test_extension_less_lookup_and_head(self):
        status, headers, body = self.get("/about")
        self.assertEqual(status, 200)
        self.assertIn(b"About this demo", body)
        status, headers, _ = self.get("/about", method="HEAD")
        self.assertEqual(int(headers["content-length"]), len(body))

    def test_directory_redirect_and_listing(self):
        status, headers, _ = self.get("/docs?x=1")
        self.assertEqual(status, 301)
        self.assertTrue(headers["location"].endswith("/docs/?x=1"))
        status, headers, body = self.get("/docs/")
        self.assertEqual(status, 200)
        self.assertIn(b"notes.txt", body)
        status, headers, body = self.get("/docs/", "Accept: application/json")
        names = {e["name"] for e in json.loads(body)}
        self.assertEqual(names, {"notes.txt", "data.json", "big.bin"})

    def test_range_and_precompressed(self):
        status, headers, body = self.get("/about.html", "Range: bytes=0-14")
        self.assertEqual(status, 206)
        self.assertEqual(body, b"<!DOCTYPE html>")
        status, headers, body = self.get("/style.css", "Accept-Encoding: gzip")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("content-encoding"), "gzip")
        self.assertEqual(headers.get("vary"), "Accept-Encoding")

    def test_large_file_byte_exact(self):
        status, headers, body = self.get("/docs/big.bin")
        self.assertEqual(status, 200)
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(self.big).digest())

    def test_refusals(self):
        for path in ("/nothing", "/docs/%2e%2e/index.html", "/.well-known/../index.html", "/docs/..%2fabout.html"):
            status, _, _ = self.get(path)
            self.assertIn(status, (400, 404), path)
            if status == 400:
                # htparser refused the target: the connection is gone.
                self.sock = socket.create_connection(self.launcher.address("http"), timeout=ashdtest.TIMEOUT)
                self.addCleanup(self.sock.close)
        status, _, body = self.get("/.well-known/security.txt")
        self.assertEqual(status, 200)
        self.assertIn(b"contact:", body)
