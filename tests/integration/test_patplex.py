# SPDX-License-Identifier: MIT
"""patplex behind htparser: every kind of rule (point, url, method, header,
all, default) and flag, virtual hosts, priorities and file order, reparse,
each restpat form, set/xset, child, fchild and socket targets, 404, config
errors naming FILE:LINE, and SIGHUP reloads (good, bad, under load). The
matched handler is the test handler, which answers with the rest string and
the headers it got."""

import os
import signal
import socket
import subprocess
import threading
import time

import ashdtest
from ashdtest import binary
from httpclient import recv_response
from launch import Launcher

HTPARSER = binary("htparser")
PATPLEX = binary("patplex")
HANDLER = binary("test-handler")

CONF = r"""
child echo
    exec {handler}
fchild once
    exec /bin/sh {tmp}/once.sh
socket sock {tmp}/target.sock
match
    header host ^example[.]org$ i
    handler echo
    xset via vhost
match
    default
    point ^dflt
    handler echo
    xset via default
match
    point ^dfltx
    handler echo
    xset via nondefault
match
    point ^static/
    handler echo
    xset via static
match
    point ^seg s
    handler echo
    xset via seg
match
    method ^DELETE$
    handler echo
    xset via delete
match
    url [?]debug
    handler echo
    xset via url
match
    url "^/q/a b$" q
    handler echo
    xset via unquoted
match
    header X-Kind ^special$
    handler echo
    set X-Seen yes
    xset via header
match
    point ^low/
    handler echo
    xset via low
match
    point ^low/
    priority 5
    handler echo
    xset via high
match
    point ^first/
    handler echo
    xset via first
match
    point ^first/
    handler echo
    xset via second
match
    point ^old/(.*)$
    restpat new/$1
    set X-Rewritten yes
    reparse
match
    point ^new/
    handler echo
    xset via reparsed
match
    point ^pat/([a-z]+)/([0-9]+)$
    restpat "$2-$1|$_|$$|${{X-Tag}}|${{X-Missing}}|$9|$0|$x"
    handler echo
match
    point ^loop
    restpat $_
    reparse
match
    point ^ci/ i
    handler echo
    xset via ci
match
    point ^sock/
    handler sock
match
    point ^once$
    handler once
"""


def write(path, text=""):
    with open(path, "w") as f:
        f.write(text)


def parse_echo(body):
    """rest and headers (name -> value) from the test handler's answer."""
    rest, headers = None, {}
    for line in body.decode().splitlines():
        if line.startswith("rest: "):
            rest = line[6:]
        elif line == "rest:":
            rest = ""
        elif line.startswith("header: "):
            name, _, value = line[8:].partition(": ")
            headers[name] = value
    return rest, headers


def http_get(addr, target, method="GET", host="x", headers=b""):
    s = socket.create_connection(addr, timeout=ashdtest.TIMEOUT)
    try:
        s.sendall(method.encode() + b" " + target.encode() + b" HTTP/1.1\r\nHost: " + host.encode()
                  + b"\r\nConnection: close\r\n" + headers + b"\r\n")
        status, _, body, _, _ = recv_response(s)
    finally:
        s.close()
    return status, body


class PatplexTestCase(ashdtest.TempDirTestCase):
    conf = CONF

    def setUp(self):
        super().setUp()
        self.conf_path = os.path.join(self.tmp, "patplex.conf")
        write(self.conf_path, self.conf.format(tmp=self.tmp, handler=HANDLER))
        write(f"{self.tmp}/once.sh", 'printf "HTTP/1.1 200 OK\\r\\nContent-Length: 9\\r\\n\\r\\ntransient"\n')

    def start(self):
        launcher = Launcher(["-l", "http=tcp:127.0.0.1:0"], [HTPARSER, "--", PATPLEX, "-N", self.conf_path])
        self.addCleanup(launcher.close)
        launcher.wait_ready()
        self.launcher = launcher
        self.addr = launcher.address("http")

    def get(self, target, **kwargs):
        return http_get(self.addr, target, **kwargs)

    def served(self, target, **kwargs):
        """(rest, headers) of a request that must reach the test handler."""
        status, body = self.get(target, **kwargs)
        self.assertEqual(status, 200, f"{target}: {body!r}")
        return parse_echo(body)

    def via(self, target, **kwargs):
        return self.served(target, **kwargs)[1].get("X-Ash-via")


class RulesTest(PatplexTestCase):
    def setUp(self):
        super().setUp()
        self.start()

    def test_point_strips_rest(self):
        rest, headers = self.served("/static/css/a.css")
        self.assertEqual(rest, "css/a.css")
        self.assertEqual(headers["X-Ash-via"], "static")

    def test_point_segment_flag(self):
        self.assertEqual(self.served("/seg/x/y")[0], "x/y")
        self.assertEqual(self.served("/seg")[0], "")
        self.assertEqual(self.get("/segment")[0], 404)

    def test_point_case_flag(self):
        self.assertEqual(self.served("/CI/z")[0], "z")
        self.assertEqual(self.via("/Ci/z"), "ci")
        self.assertEqual(self.get("/STATIC/a")[0], 404)

    def test_vhost_case_insensitive_port_stripped(self):
        rest, headers = self.served("/anything", host="Example.ORG:8080")
        self.assertEqual((rest, headers["X-Ash-via"]), ("anything", "vhost"))
        self.assertEqual(self.via("/a", host="example.org"), "vhost")
        self.assertEqual(self.get("/a", host="example.org.evil")[0], 404)
        self.assertEqual(self.get("/a", host="www.example.org")[0], 404)

    def test_method_rule(self):
        self.assertEqual(self.via("/whatever", method="DELETE"), "delete")
        self.assertEqual(self.get("/whatever")[0], 404)

    def test_url_rule(self):
        self.assertEqual(self.via("/some/where?debug=1"), "url")

    def test_url_unquote_flag(self):
        self.assertEqual(self.via("/q/a%20b"), "unquoted")
        self.assertEqual(self.get("/q/a%2")[0], 404)

    def test_header_rule_and_set(self):
        rest, headers = self.served("/h", headers=b"X-Kind: special\r\n")
        self.assertEqual(headers["X-Seen"], "yes")
        self.assertEqual(headers["X-Ash-via"], "header")
        self.assertEqual(self.get("/h", headers=b"X-Kind: specialist\r\n")[0], 404)

    def test_default_only_when_nothing_else_matches(self):
        self.assertEqual(self.via("/dflt"), "default")
        # The default stanza comes first in the file, yet loses.
        self.assertEqual(self.via("/dfltx"), "nondefault")

    def test_priority_beats_file_order(self):
        self.assertEqual(self.via("/low/a"), "high")

    def test_file_order_among_equals(self):
        self.assertEqual(self.via("/first/a"), "first")

    def test_reparse(self):
        rest, headers = self.served("/old/x/y")
        self.assertEqual(rest, "x/y")
        self.assertEqual(headers["X-Ash-via"], "reparsed")
        self.assertEqual(headers["X-Rewritten"], "yes")

    def test_reparse_loop_bounded(self):
        self.assertEqual(self.get("/loop")[0], 500)

    def test_restpat_forms(self):
        rest, _ = self.served("/pat/abc/123", headers=b"X-Tag: t\r\n")
        self.assertEqual(rest, "123-abc|pat/abc/123|$|t|||pat/abc/123|$x")

    def test_restpat_missing_header_is_empty(self):
        rest, _ = self.served("/pat/abc/123")
        self.assertEqual(rest, "123-abc|pat/abc/123|$||||pat/abc/123|$x")

    def test_no_match_404(self):
        self.assertEqual(self.get("/nothing/here")[0], 404)

    def test_fchild(self):
        status, body = self.get("/once")
        self.assertEqual((status, body), (200, b"transient"))

    def test_socket_target_down_503(self):
        self.assertEqual(self.get("/sock/a")[0], 503)


class SocketTargetTest(PatplexTestCase):
    def test_socket_target(self):
        target = Launcher(["-l", f"h=unix:{self.tmp}/target.sock"], [HANDLER])
        self.addCleanup(target.close)
        target.wait_ready()
        self.start()
        status, body = self.get("/sock/b")
        self.assertEqual(status, 200)
        self.assertIn("listen: h", body.decode())
        self.assertEqual(parse_echo(body)[0], "b")


class ConfigErrorTest(ashdtest.TempDirTestCase):
    def check(self, text, line, what):
        path = os.path.join(self.tmp, "bad.conf")
        write(path, text)
        p = subprocess.run([PATPLEX, "-N", path], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           env=dict(os.environ, ASHD_LOG="stderr"), timeout=ashdtest.TIMEOUT)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"{path}:{line}:", p.stderr)
        self.assertIn(what, p.stderr)

    def test_bad_regex(self):
        self.check("child a\n    exec /bin/true\nmatch\n    point (\n    handler a\n", 4, "regex")

    def test_unknown_handler(self):
        self.check("match\n    all\n    handler nope\n", 1, "nope")

    def test_unknown_directive(self):
        self.check("child a\n    exec /bin/true\nbogus\n", 3, "bogus")

    def test_bad_flag(self):
        self.check("child a\n    exec /bin/true\nmatch\n    point ^a q\n    handler a\n", 4, "flag")

    def test_missing_file(self):
        p = subprocess.run([PATPLEX, "-N", os.path.join(self.tmp, "none")], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, env=dict(os.environ, ASHD_LOG="stderr"),
                           timeout=ashdtest.TIMEOUT)
        self.assertEqual(p.returncode, 1)
        self.assertIn("none", p.stderr)


RELOAD_CONF = """
child echo
    exec {handler}
match
    point ^a/
    handler echo
    xset version {version}
"""


class ReloadTest(ashdtest.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.conf_path = os.path.join(self.tmp, "patplex.conf")
        self.write_conf(1)
        sock = os.path.join(self.tmp, "root.sock")
        self.patplex = Launcher(["-l", f"root=unix:{sock}"], [PATPLEX, "-N", self.conf_path])
        self.addCleanup(self.patplex.close)
        self.patplex.wait_ready()
        # Taken now, so that reload() cannot mistake it for a reload's.
        self.patplex.wait_notify("READY=1")
        front = Launcher(["-l", "http=tcp:127.0.0.1:0"], [HTPARSER, "--root-socket", sock])
        self.addCleanup(front.close)
        front.wait_ready()
        self.addr = front.address("http")

    def write_conf(self, version, extra=""):
        # Replaced whole, as an operator's editor or package does, so that a
        # reload never reads half a file.
        write(self.conf_path + ".new", RELOAD_CONF.format(handler=HANDLER, version=version) + extra)
        os.rename(self.conf_path + ".new", self.conf_path)

    def served(self, target):
        status, body = http_get(self.addr, target)
        self.assertEqual(status, 200, body)
        return body.decode()

    def reload(self):
        self.patplex.send_signal(signal.SIGHUP)
        self.patplex.wait_notify("RELOADING=1", prefix=True)
        self.patplex.wait_notify("READY=1")

    def test_good_reload_keeps_child(self):
        first = self.served("/a/x")
        self.assertIn("X-Ash-version: 1", first)
        pid = [l for l in first.splitlines() if l.startswith("pid: ")]
        self.write_conf(2, "match\n    point ^b/\n    handler echo\n")
        self.reload()
        second = self.served("/a/x")
        self.assertIn("X-Ash-version: 2", second)
        self.assertEqual(pid, [l for l in second.splitlines() if l.startswith("pid: ")])
        self.assertIn("rest: y", self.served("/b/y"))

    def test_bad_reload_keeps_old_config(self):
        self.write_conf(1, "match\n    point (\n    handler echo\n")
        self.reload()
        self.patplex.wait_stderr(f"{self.conf_path}:9:")
        self.assertIn("X-Ash-version: 1", self.served("/a/x"))

    def test_reload_under_load(self):
        failures, done = [], []

        def load():
            for i in range(300):
                try:
                    status, body = http_get(self.addr, f"/a/{i}")
                    if status != 200:
                        failures.append((i, status))
                except OSError as e:
                    failures.append((i, repr(e)))
            done.append(True)

        t = threading.Thread(target=load)
        t.start()
        for version in range(2, 6):
            self.write_conf(version)
            self.reload()
        t.join(ashdtest.TIMEOUT)
        self.assertEqual(done, [True])
        self.assertEqual(failures, [])
        self.assertIn("X-Ash-version: 5", self.served("/a/z"))


class IncludeTest(PatplexTestCase):
    """include PATTERN: files matched relative to the including file, in
    sorted order, their stanzas as if written in place."""

    conf = """
child echo
    exec {handler}
include conf.d/*.conf
match
    default
    handler echo
    xset via fallback
"""

    def setUp(self):
        super().setUp()
        os.mkdir(os.path.join(self.tmp, "conf.d"))
        write(os.path.join(self.tmp, "conf.d", "20-b.conf"), "match\n    point ^b/\n    handler echo\n    xset via b\n")
        write(os.path.join(self.tmp, "conf.d", "10-a.conf"), "match\n    point ^a/\n    handler echo\n    xset via a\n")
        self.start()

    def test_included_stanzas_apply(self):
        self.assertEqual(self.via("/a/x"), "a")
        self.assertEqual(self.via("/b/x"), "b")
        self.assertEqual(self.via("/c/x"), "fallback")


class StopTest(ashdtest.TempDirTestCase):
    """systemctl stop with KillMode=mixed: systemd kills what is left of the
    unit once patplex has gone, so patplex leaves only after its children
    have answered what they hold."""

    # The system call a process blocked in sigtimedwait() shows in
    # /proc/PID/syscall, where patplex waits for its children.
    SIGTIMEDWAIT = {"x86_64": 128, "aarch64": 137}

    def test_waits_for_children_before_leaving(self):
        import platform
        import signal

        from ashdtest import parse_response, read_all, request

        nr = self.SIGTIMEDWAIT.get(platform.machine())
        if nr is None:
            self.skipTest("sigtimedwait's number is not known here")
        conf = os.path.join(self.tmp, "patplex.conf")
        write(conf, f"child echo\n    exec {HANDLER}\nmatch\n    default\n    handler echo\n")
        path = os.path.join(self.tmp, "root.sock")
        launcher = Launcher(["-l", f"root=unix:{path}"], [PATPLEX, "-N", conf])
        self.addCleanup(launcher.close)
        launcher.wait_ready()
        launcher.wait_notify("READY=1")
        pid = launcher.wait_started().pid
        conn = launcher.connect("root")
        busy = request(conn, url="/body")
        busy.sendall(b"12345")
        launcher.send_signal(signal.SIGTERM)
        launcher.wait_notify("STOPPING=1")
        conn.close()
        # patplex has let its child go and waits for it, while the child
        # still reads the body of the request it holds.
        deadline = time.monotonic() + ashdtest.TIMEOUT
        while True:
            try:
                with open(f"/proc/{pid}/syscall") as f:
                    if f.read().split()[0] == str(nr):
                        break
            except FileNotFoundError:
                busy.sendall(b"67890")
                busy.shutdown(socket.SHUT_WR)
                self.fail(f"patplex left before its child: {launcher.stderr} {read_all(busy)!r}")
            self.assertLess(time.monotonic(), deadline, "patplex never waited for its child")
            time.sleep(0.01)
        busy.sendall(b"67890")
        busy.shutdown(socket.SHUT_WR)
        self.assertEqual(parse_response(read_all(busy))[2], b"body: 10\n")
        self.assertEqual(launcher.wait_exited().status, ("status", 0))
