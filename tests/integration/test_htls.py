# SPDX-License-Identifier: MIT
"""htls, the directory lister: through htparser with real clients (htls -d
DIR, since dirplex is what sets X-Ash-File in a full chain), as the ashd
way's persistent handler with X-Ash-File, and as a transient handler. HTML
with every hostile name escaped, sorting, dot-files, JSON chosen by Accept
with q-values, parent links, methods, HEAD and missing directories."""

import html.parser
import json
import os
import socket
import subprocess
import urllib.parse

import ashdtest
from ashdtest import binary, parse_response, read_all, request
from httpclient import recv_response
from launch import Launcher

HTPARSER = binary("htparser")
HTLS = binary("htls")

HOSTILE = [
    b"<script>alert(1)<",
    b'quote"d',
    b"single'quoted",
    b"a&b",
    b"new\nline",
    b"bad\xff\xfebytes",
    b"100%",
    b"a:b",
    b"sp ace",
]


class Links(html.parser.HTMLParser):
    """The (href, text) of every link on a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []
        self._href = None
        self._text = ""
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href = dict(attrs)["href"]
            self._text = ""
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "a":
            self.links.append((self._href, self._text))
            self._href = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._href is not None:
            self._text += data
        if self._in_title:
            self.title += data


def links(body):
    p = Links()
    p.feed(body.decode("utf-8"))  # strict: the page must be valid UTF-8
    p.close()
    return p


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


class HtlsTest(ashdtest.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "site")
        os.mkdir(self.root)
        os.mkdir(os.path.join(self.root, "dir10"))
        os.mkdir(os.path.join(self.root, "dir2"))
        os.mkdir(os.path.join(self.root, ".secret"))
        write(os.path.join(self.root, ".hidden"), b"h")
        write(os.path.join(self.root, "file10.txt"), b"x" * 10)
        write(os.path.join(self.root, "file2.txt"), b"x" * 2)
        write(os.path.join(self.root, "big.bin"), b"\0" * 5000)
        os.symlink("dir2", os.path.join(self.root, "link-to-dir"))
        os.symlink("nowhere", os.path.join(self.root, "dangling"))
        os.utime(os.path.join(self.root, "file2.txt"), (1715000000, 1715000000))

    def start(self, *htls_args, directory=None):
        argv = [HTPARSER, "--", HTLS, "-d", directory or self.root, *htls_args]
        launcher = Launcher(["-l", "http=tcp:127.0.0.1:0"], argv)
        self.addCleanup(launcher.close)
        launcher.wait_ready()
        self.launcher = launcher
        return launcher

    def connect(self):
        s = socket.create_connection(self.launcher.address("http"), timeout=ashdtest.TIMEOUT)
        self.addCleanup(s.close)
        return s

    def get(self, path="/", method="GET", headers=(), sock=None):
        s = sock or self.connect()
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers)
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: h\r\n{extra}\r\n".encode())
        status, hdrs, body, _, rest = recv_response(s, head_only=method == "HEAD")
        self.assertEqual(rest, b"")
        return status, hdrs, body

    def test_html_listing_contents_and_order(self):
        self.start()
        status, headers, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        self.assertEqual(int(headers["content-length"]), len(body))
        self.assertIn("last-modified", headers)
        self.assertEqual(headers["vary"], "Accept")
        page = links(body)
        self.assertEqual(page.title, "Index of /")
        # Directories first (a link to one counts as one), then the rest;
        # version order within each: dir2 before dir10, file2 before file10.
        self.assertEqual(
            [text for _, text in page.links],
            ["dir2/", "dir10/", "link-to-dir/", "big.bin", "dangling", "file2.txt", "file10.txt"],
        )
        self.assertEqual(page.links[0][0], "dir2/")
        self.assertNotIn("../", [h for h, _ in page.links])  # no parent at the root
        text = body.decode()
        self.assertIn("4.8 KiB", text)
        self.assertIn(">5000<", text)
        self.assertIn("2024-05-06T12:53:20Z", text)
        self.assertIn('<tr class="other"><td><a href="dangling">', text)

    def test_hostile_names_are_escaped(self):
        for name in HOSTILE:
            write(os.path.join(os.fsencode(self.root), name), b"evil")
        self.start()
        status, _, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertNotIn(b"<script>", body)
        self.assertNotIn(b"\xff", body)
        self.assertNotIn(b'quote"d', body)
        page = links(body)
        hrefs = {urllib.parse.unquote_to_bytes(h): (h, text) for h, text in page.links}
        for name in HOSTILE:
            self.assertIn(name, hrefs, f"no exact link to {name!r}")
            href, text = hrefs[name]
            # Links are URL-escaped: nothing that could end an attribute,
            # start a tag, or read as a scheme ("a:b"). A "'" may stay in
            # a path, and is HTML-escaped in the attribute.
            self.assertTrue(all(c not in href for c in "<>\" \n:"), href)
        self.assertIn(b'href="single&#39;quoted"', body)
        self.assertIn(b'href="a&amp;b"', body)
        self.assertEqual(hrefs[b"new\nline"][1], "new\u240aline")
        self.assertEqual(hrefs[b"bad\xff\xfebytes"][1], "bad\ufffd\ufffdbytes")
        self.assertEqual(hrefs[b"<script>alert(1)<"][1], "<script>alert(1)<")
        self.assertEqual(hrefs[b"100%"][0], "100%25")

    def test_hostile_url_in_title(self):
        os.mkdir(os.path.join(self.root, "<b>"))
        self.start()
        status, _, body = self.get("/%3Cb%3E/?x=<i>")
        self.assertEqual(status, 200)
        self.assertNotIn(b"<b>", body)
        self.assertNotIn(b"<i>", body)
        self.assertEqual(links(body).title, "Index of /<b>/")

    def test_dot_files_hidden_unless_a(self):
        self.start()
        _, _, body = self.get("/")
        names = [t for _, t in links(body).links]
        self.assertNotIn(".hidden", names)
        self.assertNotIn(".secret/", names)
        self.launcher.close()

        self.start("-a")
        _, _, body = self.get("/")
        names = [t for _, t in links(body).links]
        self.assertEqual(names[:3], [".secret/", "dir2/", "dir10/"])
        self.assertIn(".hidden", names)
        self.assertNotIn("./", names)

    def test_parent_link_below_the_root(self):
        self.start()
        _, _, body = self.get("/sub/")
        page = links(body)
        self.assertEqual(page.links[0], ("../", "../"))
        self.assertEqual(page.title, "Index of /sub/")

    def test_redirect_to_trailing_slash(self):
        self.start()
        status, headers, _ = self.get("/sub?a=1")
        self.assertEqual(status, 301)
        self.assertEqual(headers["location"], "/sub/?a=1")

    def test_json_by_accept_with_qvalues(self):
        write(os.path.join(os.fsencode(self.root), b"bad\xff"), b"1")
        write(os.path.join(self.root, "new\nline"), b"22")
        self.start()
        s = self.connect()
        status, headers, body = self.get("/", headers=[("Accept", "text/html;q=0.5, application/json;q=0.9")], sock=s)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(int(headers["content-length"]), len(body))
        entries = json.loads(body)
        self.assertEqual(
            [e["name"] for e in entries],
            ["dir2", "dir10", "link-to-dir", "bad\ufffd", "big.bin", "dangling", "file2.txt", "file10.txt",
             "new\nline"],
        )
        by_name = {e["name"]: e for e in entries}
        self.assertEqual(by_name["dir2"], {"name": "dir2", "type": "directory", "size": None,
                                           "mtime": by_name["dir2"]["mtime"], "href": "dir2/"})
        self.assertEqual(by_name["file2.txt"]["type"], "file")
        self.assertEqual(by_name["file2.txt"]["size"], 2)
        self.assertEqual(by_name["file2.txt"]["mtime"], "2024-05-06T12:53:20Z")
        self.assertEqual(by_name["dangling"]["type"], "other")
        self.assertEqual(by_name["link-to-dir"]["type"], "directory")
        self.assertEqual(by_name["new\nline"]["size"], 2)
        # The href keeps a name that is not UTF-8 exact.
        self.assertEqual(urllib.parse.unquote_to_bytes(by_name["bad\ufffd"]["href"]), b"bad\xff")

        # Same connection: the preference reversed, or a tie, gives HTML.
        for accept in ("application/json;q=0.5, text/html", "application/json, text/html", "*/*",
                       "application/json;q=0, */*"):
            status, headers, body = self.get("/", headers=[("Accept", accept)], sock=s)
            self.assertEqual(headers["content-type"], "text/html; charset=utf-8", accept)
            self.assertTrue(body.startswith(b"<!DOCTYPE html>"))
        status, headers, body = self.get("/", headers=[("Accept", "application/*")], sock=s)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertIsInstance(json.loads(body), list)

    def test_head_matches_get(self):
        self.start()
        s = self.connect()
        _, get_headers, get_body = self.get("/", sock=s)
        status, headers, body = self.get("/", method="HEAD", sock=s)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertEqual(headers["content-length"], str(len(get_body)))
        self.assertEqual(headers["content-type"], get_headers["content-type"])
        # Nothing stray followed the head: the connection goes on cleanly.
        status, _, body = self.get("/", sock=s)
        self.assertEqual(status, 200)
        self.assertEqual(body, get_body)

    def test_other_methods_405(self):
        self.start()
        s = self.connect()
        for method in ("POST", "PUT", "DELETE"):
            s.sendall(f"{method} / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n".encode())
            status, headers, body, _, _ = recv_response(s)
            self.assertEqual(status, 405)
            self.assertEqual(headers["allow"], "GET, HEAD")
            self.assertIn(b"Method Not Allowed", body)

    def test_missing_directory_404(self):
        self.start(directory=os.path.join(self.tmp, "missing"))
        status, _, _ = self.get("/")
        self.assertEqual(status, 404)

    def test_file_instead_of_directory_404(self):
        self.start(directory=os.path.join(self.root, "big.bin"))
        status, _, _ = self.get("/")
        self.assertEqual(status, 404)

    def test_empty_directory(self):
        self.start(directory=os.path.join(self.root, "dir2"))
        status, _, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertEqual(links(body).links, [])
        status, _, body = self.get("/", headers=[("Accept", "application/json")])
        self.assertEqual(json.loads(body), [])

    # --- the ashd way: a persistent handler on stdin, with X-Ash-File --------

    def test_persistent_with_x_ash_file(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        proc = subprocess.Popen([HTLS], stdin=theirs, stderr=subprocess.PIPE)
        theirs.close()
        try:
            resp = request(ours, url="/a/", rest="", headers=[("X-Ash-File", self.root),
                                                              ("Accept", "application/json")])
            status, headers, body = parse_response(read_all(resp))
            resp.close()
            self.assertEqual(status, 200)
            self.assertIn("file10.txt", [e["name"] for e in json.loads(body)])
            # Without X-Ash-File or -d there is nothing to list.
            resp = request(ours, url="/a/", rest="")
            status, _, _ = parse_response(read_all(resp))
            resp.close()
            self.assertEqual(status, 500)
            ours.close()
            self.assertEqual(proc.wait(ashdtest.TIMEOUT), 0)
        finally:
            ours.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()

    # --- transient -----------------------------------------------------------

    def transient(self, *args, env=None):
        ours, theirs = socket.socketpair()
        ours.settimeout(ashdtest.TIMEOUT)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("REQ_")}
        full_env.update(env or {})
        proc = subprocess.run([HTLS, *args], stdin=theirs, stdout=theirs, stderr=subprocess.PIPE,
                              env=full_env, timeout=ashdtest.TIMEOUT)
        theirs.close()
        for mark in (b"Sanitizer", b"runtime error:"):
            self.assertNotIn(mark, proc.stderr)
        try:
            return proc.returncode, parse_response(read_all(ours))
        finally:
            ours.close()

    def test_transient_html_and_json(self):
        rc, (status, headers, body) = self.transient("GET", "/x/", "", env={"REQ_X_ASH_FILE": self.root})
        self.assertEqual(rc, 0)
        self.assertEqual(status, 200)
        self.assertEqual(int(headers["content-length"]), len(body))
        page = links(body)
        self.assertEqual(page.links[0], ("../", "../"))
        self.assertIn("file2.txt", [t for _, t in page.links])

        rc, (status, headers, body) = self.transient(
            "-a", "GET", "/x/", "", env={"REQ_X_ASH_FILE": self.root, "REQ_ACCEPT": "application/json"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertIn(".hidden", [e["name"] for e in json.loads(body)])

    def test_transient_errors(self):
        rc, (status, headers, _) = self.transient("-d", self.root, "POST", "/", "")
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "GET, HEAD")
        rc, (status, _, _) = self.transient("GET", "/", "", env={"REQ_X_ASH_FILE": os.path.join(self.tmp, "no")})
        self.assertEqual(status, 404)
        # X-Ash-File wins over -d.
        rc, (status, _, body) = self.transient("-d", os.path.join(self.tmp, "no"), "HEAD", "/", "",
                                               env={"REQ_X_ASH_FILE": self.root})
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")

    def test_usage_errors(self):
        proc = subprocess.run([HTLS, "GET", "/"], stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=ashdtest.TIMEOUT)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"usage", proc.stderr)
