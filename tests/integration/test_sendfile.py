# SPDX-License-Identifier: MIT
"""sendfile: one static file, through htparser with real clients (raw
sockets and curl), and directly in its two ashd(7) modes: transient (argv
and REQ_* environment, the response socket on stdin/stdout) and persistent
(a SEQPACKET socket on stdin, many requests, one process)."""

import email.utils
import gzip
import os
import re
import socket
import subprocess
import time

import ashdtest
from ashdtest import binary
from httpclient import recv_response
from launch import Launcher

HTPARSER = binary("htparser")
SENDFILE = binary("sendfile")

HTML = b"<!DOCTYPE html>\n<title>t</title>\n<p>Hello, world. \xc3\xa9\n" * 20


def http_date(t):
    return email.utils.formatdate(t, usegmt=True)


class SendfileBase(ashdtest.TempDirTestCase):
    def write(self, name, data, mtime=None):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    def start(self, *sendfile_args, prefix=(), env=None):
        launcher = Launcher(["-l", "http=tcp:127.0.0.1:0"], [HTPARSER, "--", *prefix, SENDFILE, *sendfile_args], env=env)
        self.addCleanup(launcher.close)
        launcher.wait_ready()
        self.launcher = launcher
        return launcher

    def connect(self):
        s = socket.create_connection(self.launcher.address("http"), timeout=ashdtest.TIMEOUT)
        self.addCleanup(s.close)
        return s

    def get(self, headers=(), method="GET", url="/", s=None):
        s = s or self.connect()
        head = f"{method} {url} HTTP/1.1\r\nHost: h\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        s.sendall(head.encode())
        status, hdrs, body, _, rest = recv_response(s, head_only=method == "HEAD")
        self.assertEqual(rest, b"")
        return status, hdrs, body


class HttpTest(SendfileBase):
    """GET, HEAD, 405, validators and ranges through htparser, -f FILE."""

    def setUp(self):
        super().setUp()
        self.mtime = 1_600_000_000
        self.path = self.write("page.html", HTML, mtime=self.mtime)
        self.start("-f", self.path)

    def test_get_has_the_file_and_its_headers(self):
        status, h, body = self.get()
        self.assertEqual(status, 200)
        self.assertEqual(body, HTML)
        self.assertEqual(h["content-type"], "text/html; charset=utf-8")
        self.assertEqual(h["content-length"], str(len(HTML)))
        self.assertEqual(h["accept-ranges"], "bytes")
        self.assertEqual(h["last-modified"], http_date(self.mtime))
        st = os.stat(self.path)
        self.assertEqual(h["etag"], '"%x-%x-%x"' % (st.st_ino, st.st_size, st.st_mtime_ns))
        self.assertNotIn("content-encoding", h)
        self.assertNotIn("vary", h)

    def test_head_has_the_headers_and_no_body(self):
        s = self.connect()
        _, full, _ = self.get(s=s)
        status, h, body = self.get(method="HEAD", s=s)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        for k in ("content-length", "etag", "last-modified", "content-type"):
            self.assertEqual(h[k], full[k])
        # The connection goes on with nothing stray in between.
        self.assertEqual(self.get(s=s)[2], HTML)

    def test_other_methods_are_405_with_allow(self):
        for m in ("POST", "PUT", "DELETE", "OPTIONS", "BREW"):
            status, h, _ = self.get(method=m, headers=[("Content-Length", "0")])
            self.assertEqual(status, 405, m)
            self.assertEqual(h["allow"], "GET, HEAD")

    def test_rest_left_over_is_404(self):
        self.assertEqual(self.get(url="/page.html/more")[0], 404)

    def test_if_none_match(self):
        etag = self.get()[1]["etag"]
        for value in (etag, "W/" + etag, '"x", ' + etag, "*"):
            status, h, body = self.get([("If-None-Match", value)])
            self.assertEqual(status, 304, value)
            self.assertEqual(body, b"")
            self.assertEqual(h["etag"], etag)
            self.assertEqual(h["last-modified"], http_date(self.mtime))
        self.assertEqual(self.get([("If-None-Match", '"other"')])[0], 200)
        # If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3).
        self.assertEqual(self.get([("If-None-Match", '"other"'),
                                   ("If-Modified-Since", http_date(self.mtime + 100))])[0], 200)
        self.assertEqual(self.get([("If-None-Match", etag),
                                   ("If-Modified-Since", http_date(self.mtime - 100))])[0], 304)

    def test_if_modified_since(self):
        self.assertEqual(self.get([("If-Modified-Since", http_date(self.mtime))])[0], 304)
        self.assertEqual(self.get([("If-Modified-Since", http_date(self.mtime + 5))])[0], 304)
        self.assertEqual(self.get([("If-Modified-Since", http_date(self.mtime - 1))])[0], 200)
        # RFC 850 and asctime forms count; an invalid date is ignored.
        self.assertEqual(self.get([("If-Modified-Since", "Sunday, 13-Sep-20 12:26:40 GMT")])[0], 304)
        self.assertEqual(self.get([("If-Modified-Since", "Sun Sep 13 12:26:40 2020")])[0], 304)
        self.assertEqual(self.get([("If-Modified-Since", "yesterday")])[0], 200)

    def test_if_match_and_if_unmodified_since(self):
        etag = self.get()[1]["etag"]
        self.assertEqual(self.get([("If-Match", etag)])[0], 200)
        self.assertEqual(self.get([("If-Match", "*")])[0], 200)
        self.assertEqual(self.get([("If-Match", '"nope"')])[0], 412)
        # Strong comparison: a weak tag never matches.
        self.assertEqual(self.get([("If-Match", "W/" + etag)])[0], 412)
        self.assertEqual(self.get([("If-Unmodified-Since", http_date(self.mtime - 1))])[0], 412)
        self.assertEqual(self.get([("If-Unmodified-Since", http_date(self.mtime))])[0], 200)
        # If-Match present: If-Unmodified-Since is not looked at.
        self.assertEqual(self.get([("If-Match", etag), ("If-Unmodified-Since", http_date(0))])[0], 200)

    def test_single_ranges(self):
        n = len(HTML)
        for spec, start, end in (("0-9", 0, 9), ("10-", 10, n - 1), ("-7", n - 7, n - 1),
                                 (f"5-{n + 100}", 5, n - 1), (f"-{n + 5}", 0, n - 1)):
            status, h, body = self.get([("Range", "bytes=" + spec)])
            self.assertEqual(status, 206, spec)
            self.assertEqual(body, HTML[start:end + 1], spec)
            self.assertEqual(h["content-range"], f"bytes {start}-{end}/{n}")
            self.assertEqual(h["content-type"], "text/html; charset=utf-8")

    def test_multiple_ranges_are_multipart(self):
        status, h, body = self.get([("Range", "bytes=0-4, 10-19,-3")])
        self.assertEqual(status, 206)
        m = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", h["content-type"])
        self.assertTrue(m, h["content-type"])
        boundary = m.group(1).encode()
        self.assertTrue(body.endswith(b"\r\n--" + boundary + b"--\r\n"))
        parts = body[: -len(boundary) - 8].split(b"--" + boundary + b"\r\n")[1:]
        n = len(HTML)
        expect = [(0, 4), (10, 19), (n - 3, n - 1)]
        self.assertEqual(len(parts), 3)
        for part, (a, b) in zip(parts, expect):
            head, _, data = part.partition(b"\r\n\r\n")
            if data.endswith(b"\r\n"):
                data = data[:-2]
            self.assertIn(f"Content-Range: bytes {a}-{b}/{n}".encode(), head)
            self.assertIn(b"Content-Type: text/html; charset=utf-8", head)
            self.assertEqual(data, HTML[a:b + 1])

    def test_unsatisfiable_and_refused_ranges_are_416(self):
        n = len(HTML)
        many = ",".join(f"{i * 2}-{i * 2}" for i in range(17))
        for spec in (f"{n}-", f"{n + 10}-{n + 20}", "-0", "0-10,5-20", "0-0,0-0", many):
            status, h, _ = self.get([("Range", "bytes=" + spec)])
            self.assertEqual(status, 416, spec)
            self.assertEqual(h["content-range"], f"bytes */{n}")
        # Sixteen are fine.
        sixteen = ",".join(f"{i * 2}-{i * 2}" for i in range(16))
        self.assertEqual(self.get([("Range", "bytes=" + sixteen)])[0], 206)

    def test_invalid_range_is_ignored(self):
        for value in ("bytes=5-2", "bytes=a-b", "items=0-1", "bytes=", "bytes 0-1", "bytes=0-1;x"):
            status, h, body = self.get([("Range", value)])
            self.assertEqual(status, 200, value)
            self.assertEqual(body, HTML)
        # HEAD ignores Range: only GET has ranges.
        status, h, _ = self.get([("Range", "bytes=0-1")], method="HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(h["content-length"], str(len(HTML)))

    def test_if_range(self):
        etag = self.get()[1]["etag"]
        rng = ("Range", "bytes=0-3")
        self.assertEqual(self.get([rng, ("If-Range", etag)])[0], 206)
        self.assertEqual(self.get([rng, ("If-Range", http_date(self.mtime))])[0], 206)
        status, _, body = self.get([rng, ("If-Range", '"old"')])
        self.assertEqual((status, body), (200, HTML))
        self.assertEqual(self.get([rng, ("If-Range", "W/" + etag)])[0], 200)
        self.assertEqual(self.get([rng, ("If-Range", http_date(self.mtime - 1))])[0], 200)

    def test_curl_range_and_conditional(self):
        out = subprocess.run(["curl", "-sS", "-r", "3-12", f"http://127.0.0.1:{self.launcher.address('http')[1]}/"],
                             capture_output=True, check=True, timeout=ashdtest.TIMEOUT).stdout
        self.assertEqual(out, HTML[3:13])
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-z", http_date(self.mtime),
                              f"http://127.0.0.1:{self.launcher.address('http')[1]}/"],
                             capture_output=True, check=True, timeout=ashdtest.TIMEOUT).stdout
        self.assertEqual(out, b"304")


class ZeroCopyAndProcessTest(SendfileBase):
    def test_large_file_zero_copy_byte_for_byte(self):
        data = os.urandom(5 * 1024 * 1024 + 123)
        path = self.write("big.bin", data)
        self.start("-f", path)
        s = self.connect()
        status, h, body = self.get(s=s)
        self.assertEqual(status, 200)
        self.assertEqual(h["content-type"], "application/octet-stream")
        self.assertTrue(body == data)
        status, h, body = self.get([("Range", "bytes=1000000-3999999")], s=s)
        self.assertEqual(status, 206)
        self.assertTrue(body == data[1000000:4000000])
        # htparser sent the file itself and logged every byte of it.
        self.launcher.wait_stderr(f"HTTP_BYTES={len(data)} ")
        self.launcher.wait_stderr("HTTP_BYTES=3000000 ")

    def test_many_requests_one_process(self):
        path = self.write("a.txt", b"hello\n")
        self.start("-f", path)
        hp = self.launcher.events("ready")[0].pid

        def children():
            kids = []
            for t in os.listdir(f"/proc/{hp}/task"):
                with open(f"/proc/{hp}/task/{t}/children") as f:
                    kids += f.read().split()
            return kids

        # htparser may start its root handler on the first request.
        self.assertEqual(self.get()[2], b"hello\n")
        before = children()
        self.assertEqual(len(before), 1)
        sf = int(before[0])
        with open(f"/proc/{sf}/comm") as f:
            self.assertEqual(f.read().strip(), "sendfile")
        s = self.connect()
        for i in range(100):
            self.assertEqual(self.get(s=s if i % 2 else None)[2], b"hello\n")
        self.assertEqual(children(), before)
        # No child of sendfile either, and no task beyond its one thread.
        with open(f"/proc/{sf}/task/{sf}/children") as f:
            self.assertEqual(f.read().split(), [])
        self.assertEqual(os.listdir(f"/proc/{sf}/task"), [str(sf)])


class ErrorTest(SendfileBase):
    def test_missing_file_and_directory_are_404(self):
        self.start("-f", os.path.join(self.tmp, "nope.html"))
        self.assertEqual(self.get()[0], 404)

    def test_directory_is_404(self):
        self.start("-f", self.tmp)
        self.assertEqual(self.get()[0], 404)

    def test_permission_denied_is_403(self):
        path = self.write("secret.txt", b"secret")
        os.chmod(path, 0o600)
        self.start("-f", path, prefix=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        status, _, body = self.get()
        self.assertEqual(status, 403)
        self.assertNotIn(b"secret\n", body)


class MimeTest(SendfileBase):
    def type_of(self, name, data, *args, env=None):
        path = self.write(name, data)
        self.start("-f", path, *args, env=env)
        status, h, body = self.get()
        self.assertEqual(status, 200)
        self.assertEqual(body, data)
        return h["content-type"]

    def test_mime_types_by_extension(self):
        self.assertEqual(self.type_of("x.PNG", b"not really a png"), "image/png")

    def test_libmagic_when_no_extension_matches(self):
        png = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + b"\0" * 20
        self.assertEqual(self.type_of("picture", png), "image/png")

    def test_text_without_extension_gets_utf8(self):
        self.assertEqual(self.type_of("README", b"plain words\n" * 10), "text/plain; charset=utf-8")

    def test_libmagic_charset_overrides_utf8(self):
        self.assertEqual(self.type_of("latin.txt", "café déjà vu à la crème\n".encode("latin-1") * 5),
                         "text/plain; charset=iso-8859-1")

    def test_dash_c_overrides(self):
        self.assertEqual(self.type_of("x.html", b"<p>", "-c", "application/x-thing"), "application/x-thing")

    def test_other_mime_types_file(self):
        types = self.write("types", b"# comment\napplication/x-ours\tzzz yyy\n")
        env = dict(os.environ, ASHD_MIME_TYPES=types)
        self.assertEqual(self.type_of("a.yyy", b"\0\1\2", env=env), "application/x-ours")


class PrecompressedTest(SendfileBase):
    def setUp(self):
        super().setUp()
        self.path = self.write("app.js", HTML, mtime=1_600_000_000)
        self.gz = gzip.compress(HTML)
        self.write("app.js.gz", self.gz, mtime=1_600_000_010)

    def test_gzip_chosen_by_accept_encoding(self):
        self.start("-f", self.path)
        plain = self.get()
        self.assertEqual(plain[0], 200)
        self.assertEqual(plain[2], HTML)
        self.assertEqual(plain[1]["vary"], "Accept-Encoding")
        ctype = plain[1]["content-type"]
        self.assertTrue(ctype.startswith("text/javascript") or ctype.startswith("application/javascript"), ctype)
        status, h, body = self.get([("Accept-Encoding", "gzip, deflate")])
        self.assertEqual(status, 200)
        self.assertEqual(h["content-encoding"], "gzip")
        self.assertEqual(h["vary"], "Accept-Encoding")
        self.assertEqual(h["content-type"], ctype)
        self.assertEqual(body, self.gz)
        # Distinct validators per coding.
        self.assertNotEqual(h["etag"], plain[1]["etag"])
        self.assertEqual(self.get([("Accept-Encoding", "gzip"), ("If-None-Match", h["etag"])])[0], 304)
        self.assertEqual(self.get([("If-None-Match", h["etag"])])[0], 200)
        self.assertEqual(self.get([("Accept-Encoding", "gzip"), ("If-None-Match", plain[1]["etag"])])[0], 200)

    def test_q_values(self):
        self.start("-f", self.path)
        for value, coded in (("gzip;q=0", False), ("identity", False), ("gzip;q=0.5, identity", False),
                             ("gzip;q=1.0, identity;q=0.5", True), ("*", True), ("*;q=0", False),
                             ("x-gzip", True), ("GZIP", True), ("gzip;q=0.001, identity;q=0", True), ("br", False), ("gzip;q=2", False),
                             ("", False)):
            status, h, body = self.get([("Accept-Encoding", value)])
            self.assertEqual(status, 200, value)
            self.assertEqual(h.get("content-encoding"), "gzip" if coded else None, value)
            self.assertEqual(body, self.gz if coded else HTML, value)

    def test_curl_compressed(self):
        self.start("-f", self.path)
        out = subprocess.run(["curl", "-sS", "--compressed", "-D", "-",
                              f"http://127.0.0.1:{self.launcher.address('http')[1]}/"],
                             capture_output=True, check=True, timeout=ashdtest.TIMEOUT).stdout
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertIn(b"content-encoding: gzip", head.lower())
        self.assertEqual(body, HTML)

    def test_br_and_zst_preferred_and_ranges_apply_to_the_coding(self):
        br = self.write("app.js.br", b"BROTLI-BYTES" * 5, mtime=1_600_000_010)
        self.write("app.js.zst", b"ZSTD-BYTES" * 5, mtime=1_600_000_010)
        self.start("-f", self.path)
        self.assertEqual(self.get([("Accept-Encoding", "gzip, br, zstd")])[1]["content-encoding"], "br")
        self.assertEqual(self.get([("Accept-Encoding", "gzip, br;q=0.5, zstd")])[1]["content-encoding"], "zstd")
        self.assertEqual(self.get([("Accept-Encoding", "gzip")])[1]["content-encoding"], "gzip")
        status, h, body = self.get([("Accept-Encoding", "br"), ("Range", "bytes=0-5")])
        self.assertEqual((status, body), (206, b"BROTLI"))
        self.assertEqual(h["content-range"], f"bytes 0-5/{os.path.getsize(br)}")

    def test_stale_sibling_is_not_used(self):
        os.utime(self.path, (1_600_000_100, 1_600_000_100))
        self.start("-f", self.path)
        status, h, body = self.get([("Accept-Encoding", "gzip")])
        self.assertEqual(body, HTML)
        self.assertNotIn("content-encoding", h)
        self.assertNotIn("vary", h)


class SiblingCacheTest(SendfileBase):
    """A file found without precompressed siblings is not looked at again
    for up to a second (no stat() of three missing names per request): a
    sibling added next to it is served within that second, a file replaced or
    edited is looked at again at once, and a stale sibling is never served."""

    GZIP = [("Accept-Encoding", "gzip")]

    def setUp(self):
        super().setUp()
        self.path = self.write("app.js", HTML, mtime=1_600_000_000)
        self.gz = gzip.compress(HTML)
        self.start("-f", self.path)

    def get_plain(self):
        """A response without the sibling; returns when it was received, by
        which time sendfile has noted (again) that the file has none."""
        status, h, body = self.get(self.GZIP)
        self.assertEqual((status, body), (200, HTML))
        self.assertNotIn("content-encoding", h)
        self.assertNotIn("vary", h)
        return time.monotonic()

    def poll_until_gzip(self, checked):
        """Asks until the sibling comes; checked: a time after sendfile last
        found no sibling. Any request sent a second after it must get the
        sibling, so the loop ends within a second either way."""
        while True:
            sent = time.monotonic()
            status, h, body = self.get(self.GZIP)
            if h.get("content-encoding") == "gzip":
                self.assertEqual((status, body, h["vary"]), (200, self.gz, "Accept-Encoding"))
                return
            self.assertEqual(body, HTML)
            self.assertLess(sent - checked, 1.0, "a new sibling was not served a second later")
            time.sleep(0.01)

    def test_sibling_added_is_served_within_a_second(self):
        checked = self.get_plain()
        self.write("app.js.gz", self.gz, mtime=1_600_000_010)
        self.poll_until_gzip(checked)

    def test_stale_sibling_refreshed_is_served_within_a_second(self):
        self.write("app.js.gz", self.gz, mtime=1_500_000_000)
        checked = self.get_plain()
        os.utime(os.path.join(self.tmp, "app.js.gz"), (1_600_000_010, 1_600_000_010))
        self.poll_until_gzip(checked)

    def test_no_sibling_is_remembered(self):
        # Right after a file was found without a sibling, one added is not
        # looked for yet. Only a request within half a second of that shows
        # it, so a slow round is tried again with the file touched (a new
        # question for sendfile).
        for attempt in range(5):
            os.utime(self.path, (1_600_000_000 + attempt, 1_600_000_000 + attempt))
            gz = os.path.join(self.tmp, "app.js.gz")
            if os.path.exists(gz):
                os.unlink(gz)
            checked = self.get_plain()
            self.write("app.js.gz", self.gz, mtime=1_700_000_000)
            status, h, body = self.get(self.GZIP)
            if time.monotonic() - checked < 0.5:
                self.assertEqual(body, HTML)
                self.assertNotIn("vary", h)
                return
        self.skipTest("no request came back within half a second")

    def test_replaced_file_is_looked_at_again_at_once(self):
        self.get_plain()
        self.write("app.js.gz", self.gz, mtime=1_600_000_010)
        # A deploy: the new file renamed over the old one (another inode).
        new = self.write("app.js.new", HTML, mtime=1_600_000_005)
        os.rename(new, self.path)
        status, h, body = self.get(self.GZIP)
        self.assertEqual((status, h.get("content-encoding"), body), (200, "gzip", self.gz))

    def test_edited_file_makes_its_sibling_stale_at_once(self):
        self.write("app.js.gz", self.gz, mtime=1_600_000_010)
        for _ in range(3):
            self.assertEqual(self.get(self.GZIP)[1].get("content-encoding"), "gzip")
        # Edited in place (same inode), now newer than its sibling.
        self.write("app.js", HTML, mtime=1_600_000_020)
        for _ in range(3):
            self.get_plain()


class DirectModesTest(SendfileBase):
    """The ashd(7) ways of running sendfile without htparser."""

    def transient(self, method, url, rest, env, *args):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with ours, theirs:
            env = dict({"PATH": os.environ.get("PATH", "/usr/bin"), "HTTP_VERSION": "HTTP/1.1"}, **env)
            p = subprocess.run([SENDFILE, *args, method, url, rest], stdin=theirs, stdout=theirs, env=env,
                               timeout=ashdtest.TIMEOUT)
            theirs.close()
            ours.settimeout(ashdtest.TIMEOUT)
            msg, fds, _, _ = socket.recv_fds(ours, 65536, 1)
            data = msg
            while True:
                b = ours.recv(65536)
                if not b:
                    break
                data += b
        self.assertEqual(p.returncode, 0)
        status, headers, body = ashdtest.parse_response(data)
        return status, headers, body, fds

    def test_transient_serves_x_ash_file(self):
        path = self.write("t.html", HTML)
        status, h, body, fds = self.transient("GET", "/t.html", "", {"REQ_X_ASH_FILE": path})
        self.assertEqual((status, body, fds), (200, HTML, []))
        self.assertEqual(h["content-type"], "text/html; charset=utf-8")
        status, h, body, _ = self.transient("GET", "/t.html", "", {"REQ_X_ASH_FILE": path, "REQ_RANGE": "bytes=1-2"})
        self.assertEqual((status, body), (206, HTML[1:3]))
        status, h, body, _ = self.transient("HEAD", "/t.html", "", {"REQ_X_ASH_FILE": path})
        self.assertEqual((status, body, h["content-length"]), (200, b"", str(len(HTML))))
        status, h, _, _ = self.transient("GET", "/t.html", "", {"REQ_X_ASH_FILE": path,
                                                              "REQ_X_ASH_CONTENT_TYPE": "text/x-mine"})
        self.assertEqual(h["content-type"], "text/x-mine")
        self.assertEqual(self.transient("DELETE", "/t.html", "", {"REQ_X_ASH_FILE": path})[0], 405)
        self.assertEqual(self.transient("GET", "/", "", {})[0], 500)
        self.assertEqual(self.transient("GET", "/", "", {}, "-f", path + ".none")[0], 404)

    def test_transient_zero_copy(self):
        path = self.write("t.bin", os.urandom(70000))
        status, h, body, fds = self.transient("GET", "/", "", {"REQ_X_ASH_ACCEPT_BODY_FD": "1"}, "-f", path)
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(len(fds), 1)
        self.assertEqual(h["x-ash-body-fd"], "0 70000")
        with open(fds[0], "rb") as f, open(path, "rb") as g:
            self.assertEqual(f.read(), g.read())

    def test_persistent_on_stdin_many_requests(self):
        path = self.write("p.txt", b"persistent\n" * 100)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        proc = subprocess.Popen([SENDFILE], stdin=theirs)
        theirs.close()
        self.addCleanup(proc.wait, ashdtest.TIMEOUT)
        self.addCleanup(ours.close)
        ours.settimeout(ashdtest.TIMEOUT)
        for i in range(30):
            headers = [("X-Ash-File", path), ("Range", f"bytes={i}-{i + 9}")]
            if i % 2:
                headers.append(("X-Ash-Accept-Body-Fd", "1"))
            resp = ashdtest.request(ours, url="/p.txt", rest="", headers=headers)
            with resp:
                msg, fds, _, _ = socket.recv_fds(resp, 65536, 1)
                data = msg + ashdtest.read_all(resp)
            status, h, body = ashdtest.parse_response(data)
            self.assertEqual(status, 206)
            if i % 2:
                self.assertEqual(len(fds), 1)
                self.assertEqual(h["x-ash-body-fd"], f"{i} 10")
                self.assertEqual(os.pread(fds[0], 10, i), (b"persistent\n" * 100)[i:i + 10])
                os.close(fds[0])
            else:
                self.assertEqual((fds, body), ([], (b"persistent\n" * 100)[i:i + 10]))
        with ashdtest.request(ours, url="/", rest="") as resp:
            self.assertEqual(ashdtest.parse_response(ashdtest.read_all(resp))[0], 500)
        self.assertIsNone(proc.poll())
        # EOF on stdin ends it cleanly.
        ours.shutdown(socket.SHUT_RDWR)
        self.assertEqual(proc.wait(ashdtest.TIMEOUT), 0)

    def test_persistent_slow_reader_blocks_nobody(self):
        # Bodies written as bytes (no zero-copy) go out from the event loop:
        # a response nobody reads yet does not hold up the next request.
        big = os.urandom(4 * 1024 * 1024 + 7)
        path = self.write("big.bin", big)
        small = self.write("small.txt", b"small\n")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        proc = subprocess.Popen([SENDFILE], stdin=theirs)
        theirs.close()
        self.addCleanup(proc.wait, ashdtest.TIMEOUT)
        self.addCleanup(ours.close)
        slow = ashdtest.request(ours, url="/", rest="", headers=[("X-Ash-File", path)])
        with ashdtest.request(ours, url="/", rest="", headers=[("X-Ash-File", small)]) as fast:
            self.assertEqual(ashdtest.parse_response(ashdtest.read_all(fast))[2], b"small\n")
        with slow:
            status, h, body = ashdtest.parse_response(ashdtest.read_all(slow, limit=64 << 20))
        self.assertEqual(status, 200)
        self.assertTrue(body == big)
        ours.shutdown(socket.SHUT_RDWR)
        self.assertEqual(proc.wait(ashdtest.TIMEOUT), 0)
