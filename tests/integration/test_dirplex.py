# SPDX-License-Identifier: MIT
"""dirplex behind htparser: the mapping of URLs onto a tree, traversal
refusals, index files, the extension-less lookup, match rules and handler
targets, .htrc files, config errors, the atomic switch of a symlinked
root, and the caches that spare a request system calls (the root kept open,
.htrc files looked at again at most once a second) with what they must still
notice. The matched handler is the test handler, which answers with the rest
string and headers it got."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

import ashdtest
from ashdtest import binary
from httpclient import recv_response
from launch import Launcher

HTPARSER = binary("htparser")
DIRPLEX = binary("dirplex")
HANDLER = binary("test-handler")
NO_OPENAT2 = binary("no-openat2")

BASE_CONF = """
child echo
    exec {handler}
fchild once
    exec /bin/sh {tmp}/once.sh
match
    default
    handler echo
    xset via default
match
    directory
    handler echo
    xset via listing
match
    filename *.special
    handler echo
    set X-Kind special
    xset via special
match
    pathname deep/*/x.txt
    handler echo
    xset via pathname
match
    filename *.once
    handler once
"""


def write(path, text=""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def poll(fetch, done, what):
    """fetch() until done(result), for at most ashdtest.TIMEOUT; returns the
    last result. dirplex looks at the root and at each .htrc again at most
    once a second (DIRPLEX_RECHECK_USEC), so a change shows within a
    second or so, not at the next request."""
    deadline = time.monotonic() + ashdtest.TIMEOUT
    while True:
        result = fetch()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {result!r} after {ashdtest.TIMEOUT} s")
        time.sleep(0.05)


def parse_echo(body):
    """rest and headers (name -> value) from the test handler's answer."""
    rest, headers = None, {}
    for line in body.decode().splitlines():
        if line.startswith("rest: "):
            rest = line[6:]
        elif line.startswith("header: "):
            name, _, value = line[8:].partition(": ")
            headers[name] = value
    return rest, headers


class DirplexTestCase(ashdtest.TempDirTestCase):
    conf = BASE_CONF
    # What dirplex runs under (a program that execs it), and the environment.
    wrapper = ()
    launch_env = None

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "root")
        os.mkdir(self.root)
        self.conf_path = os.path.join(self.tmp, "dirplex.rc")
        self.make_tree()
        write(self.conf_path, self.conf.format(tmp=self.tmp, handler=HANDLER))
        write(f"{self.tmp}/once.sh", 'printf "HTTP/1.1 200 OK\\r\\nContent-Length: 9\\r\\n\\r\\ntransient"\n')
        write(f"{self.tmp}/cat.sh", 'n=$(wc -c < "$REQ_X_ASH_FILE")\n'
              'printf "HTTP/1.1 200 OK\\r\\nContent-Length: %s\\r\\n\\r\\n" $n\ncat "$REQ_X_ASH_FILE"\n')
        self.start()

    def make_tree(self):
        pass

    def start(self, root=None):
        launcher = Launcher(
            ["-l", "http=tcp:127.0.0.1:0"],
            [HTPARSER, "--", *self.wrapper, DIRPLEX, "-N", "-c", self.conf_path, root or self.root],
            env=self.launch_env,
        )
        self.addCleanup(launcher.close)
        launcher.wait_ready()
        self.launcher = launcher
        self.addr = launcher.address("http")

    def get(self, target, headers=b""):
        s = socket.create_connection(self.addr, timeout=ashdtest.TIMEOUT)
        try:
            s.sendall(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n")
            status, hdrs, body, _, _ = recv_response(s)
        finally:
            s.close()
        return status, hdrs, body

    def served(self, target):
        """(rest, headers) of a request that must reach the test handler."""
        status, _, body = self.get(target)
        self.assertEqual(status, 200, f"{target}: {body!r}")
        return parse_echo(body)

    def file(self, rel):
        return os.path.realpath(self.root) + "/" + rel


class MappingTest(DirplexTestCase):
    def make_tree(self):
        write(f"{self.root}/a.txt", "a")
        write(f"{self.root}/sub/b.txt", "b")
        write(f"{self.root}/sub/index.html", "index")
        write(f"{self.root}/list/c.txt", "c")
        write(f"{self.root}/about.html", "about")
        write(f"{self.root}/about.txt", "about text")
        write(f"{self.root}/notes.txt", "")
        write(f"{self.root}/notes.md", "")
        write(f"{self.root}/script.cgi", "")
        write(f"{self.root}/sp ace.txt", "")
        write(f"{self.root}/.hidden", "")
        write(f"{self.root}/.well-known/x", "")
        write(f"{self.root}/x.special", "")
        write(f"{self.root}/deep/a/x.txt", "")
        write(f"{self.root}/t.once", "")

    def test_file_gets_x_ash_file_and_empty_rest(self):
        rest, h = self.served("/a.txt")
        self.assertEqual(rest, "")
        self.assertEqual(h["X-Ash-File"], self.file("a.txt"))
        self.assertEqual(h["X-Ash-via"], "default")

    def test_rest_after_a_file_is_passed_on(self):
        rest, h = self.served("/sub/b.txt/more/path%20x")
        self.assertEqual(rest, "more/path%20x")
        self.assertEqual(h["X-Ash-File"], self.file("sub/b.txt"))

    def test_percent_decoded_per_element(self):
        rest, h = self.served("/sp%20ace.txt")
        self.assertEqual(h["X-Ash-File"], self.file("sp ace.txt"))

    def test_directory_without_slash_redirects_keeping_query(self):
        status, h, _ = self.get("/sub?x=1&y=2")
        self.assertEqual(status, 301)
        self.assertEqual(h["location"], "/sub/?x=1&y=2")
        status, h, _ = self.get("/list")
        self.assertEqual((status, h["location"]), (301, "/list/"))

    def test_index_file(self):
        rest, h = self.served("/sub/")
        self.assertEqual(h["X-Ash-File"], self.file("sub/index.html"))
        self.assertEqual(rest, "")

    def test_directory_without_index_goes_to_directory_match(self):
        rest, h = self.served("/list/")
        self.assertEqual(h["X-Ash-File"], self.file("list"))
        self.assertEqual(h["X-Ash-via"], "listing")

    def test_extension_less_lookup_prefers_html_then_sorted(self):
        _, h = self.served("/about")
        self.assertEqual(h["X-Ash-File"], self.file("about.html"))
        _, h = self.served("/notes")
        self.assertEqual(h["X-Ash-File"], self.file("notes.md"))
        rest, h = self.served("/script/path/info")
        self.assertEqual(h["X-Ash-File"], self.file("script.cgi"))
        self.assertEqual(rest, "path/info")

    def test_missing_is_404(self):
        self.assertEqual(self.get("/nothing")[0], 404)
        self.assertEqual(self.get("/sub/nothing/deeper")[0], 404)
        self.assertEqual(self.get("/a.txtx")[0], 404)

    def test_dot_files_hidden_unless_allowed(self):
        self.assertEqual(self.get("/.hidden")[0], 404)
        self.assertEqual(self.get("/%2ehidden")[0], 404)
        self.assertEqual(self.get("/.well-known/x")[0], 404)  # not allowed in this config

    def test_traversal_refused(self):
        for target in (
            "/%2e%2e/etc/passwd",
            "/sub/%2e%2e/%2e%2e/etc/passwd",
            "/sub%2f..%2f..%2fetc/passwd",
            "/sub%2fb.txt",
            "/%252e%252e/etc/passwd",
            "/%c0%ae%c0%ae/etc/passwd",
            "/..%5c..%5cetc/passwd",
            "/sub%5cb.txt",
            "/a.txt%00.html",
            "/sub//b.txt",
            "/./a.txt",
        ):
            status = self.get(target)[0]
            self.assertIn(status, (400, 404), target)

    def test_match_rules(self):
        _, h = self.served("/x.special")
        self.assertEqual(h["X-Ash-via"], "special")
        self.assertEqual(h["X-Kind"], "special")
        _, h = self.served("/deep/a/x.txt")
        self.assertEqual(h["X-Ash-via"], "pathname")

    def test_fchild_is_transient(self):
        status, _, body = self.get("/t.once")
        self.assertEqual((status, body), (200, b"transient"))

    def test_child_is_persistent(self):
        pids = {self.get("/a.txt")[2].decode().split("pid: ")[1].split()[0] for _ in range(3)}
        self.assertEqual(len(pids), 1)


class HtrcTest(DirplexTestCase):
    def make_tree(self):
        write(f"{self.root}/a.txt")
        write(f"{self.root}/site/.htrc", "index-file home.html\ndot-allow .well-known\nmatch\n    filename *.txt\n    local\n    handler echo\n    xset via local\n")
        write(f"{self.root}/site/home.html")
        write(f"{self.root}/site/a.txt")
        write(f"{self.root}/site/.well-known/acme")
        write(f"{self.root}/site/below/a.txt")
        write(f"{self.root}/app/.htrc", "capture echo\n")
        write(f"{self.root}/appd/.htrc", "capture echo D\n")
        write(f"{self.root}/appd/index.html")
        write(f"{self.root}/broken/.htrc", "match\n    frobnicate\n")
        write(f"{self.root}/broken/a.txt")
        write(f"{self.root}/nf/.htrc", f"child notfound\n    exec {HANDLER}\n")

    def test_htrc_index_file_and_dot_allow(self):
        _, h = self.served("/site/")
        self.assertEqual(h["X-Ash-File"], self.file("site/home.html"))
        _, h = self.served("/site/.well-known/acme")
        self.assertEqual(h["X-Ash-File"], self.file("site/.well-known/acme"))

    def test_local_applies_only_in_its_directory(self):
        self.assertEqual(self.served("/site/a.txt")[1]["X-Ash-via"], "local")
        self.assertEqual(self.served("/site/below/a.txt")[1]["X-Ash-via"], "default")

    def test_capture(self):
        rest, h = self.served("/app/any/thing%20x?q")
        self.assertEqual(rest, "any/thing%20x")
        self.assertNotIn("X-Ash-File", h)
        rest, _ = self.served("/app/")
        self.assertEqual(rest, "")
        # D: the directory itself is not captured.
        _, h = self.served("/appd/")
        self.assertEqual(h["X-Ash-File"], self.file("appd/index.html"))
        self.assertEqual(self.served("/appd/x")[0], "x")

    def test_broken_htrc_gives_500_in_its_subtree_only(self):
        self.assertEqual(self.get("/broken/a.txt")[0], 500)
        self.assertEqual(self.get("/broken/")[0], 500)
        self.assertEqual(self.served("/a.txt")[1]["X-Ash-via"], "default")
        self.launcher.wait_stderr("broken/.htrc:2")

    def test_notfound_handler(self):
        rest, h = self.served("/nf/missing/x")
        self.assertEqual(rest, "nf/missing/x")
        self.assertEqual(self.get("/missing")[0], 404)

    def test_htrc_reread_when_changed(self):
        self.assertEqual(self.served("/site/a.txt")[1]["X-Ash-via"], "local")
        path = f"{self.root}/site/.htrc"
        write(path, "match\n    filename *.txt\n    handler echo\n    xset via changed-and-longer\n")
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        poll(lambda: self.served("/site/a.txt")[1]["X-Ash-via"], lambda via: via == "changed-and-longer",
             "the changed .htrc")
        write(path, "nonsense\n")
        poll(lambda: self.get("/site/a.txt")[0], lambda status: status == 500, "the broken .htrc")


class SocketTargetTest(DirplexTestCase):
    def make_tree(self):
        write(f"{self.root}/f.txt")
        self.sock = os.path.join(self.tmp, "h.sock")
        target = Launcher(["-l", f"h=unix:{self.sock}"], [HANDLER])
        self.addCleanup(target.close)
        target.wait_ready()
        self.conf = f"socket there {self.sock}\nmatch\n    default\n    handler there\n"

    def test_socket_target(self):
        text = self.get("/f.txt")[2].decode()
        self.assertIn("listen: h", text, self.launcher.stderr)
        self.assertIn(f"X-Ash-File: {self.file('f.txt')}", text)


class SymlinkTest(DirplexTestCase):
    # Links followed in a row by /c0 (one more than the kernel's 40) and /c1.
    CHAIN = 40

    def make_tree(self):
        outside = os.path.join(self.tmp, "outside")
        write(f"{outside}/secret.txt", "secret")
        write(f"{self.root}/in/real.txt")
        os.symlink("../outside/secret.txt", f"{self.root}/out.txt")
        os.symlink(outside, f"{self.root}/outdir")
        os.symlink("/etc/passwd", f"{self.root}/passwd")
        os.symlink("in/real.txt", f"{self.root}/inside.txt")
        os.symlink("../in", f"{self.root}/in/loop")
        # Absolute, or leaving the root on the way back in: RESOLVE_BENEATH
        # refuses both although they end inside.
        os.symlink(self.file("in/real.txt"), f"{self.root}/abs-inside.txt")
        os.symlink("../root/in/real.txt", f"{self.root}/back-in.txt")
        os.symlink("../..", f"{self.root}/in/esc")
        # ".", "..", "//" and trailing slashes in targets that stay inside.
        os.symlink("..", f"{self.root}/in/up")
        os.symlink("in", f"{self.root}/indir")
        os.symlink("./in//./real.txt", f"{self.root}/messy.txt")
        os.symlink("in/", f"{self.root}/slashed")
        # Broken ones.
        os.symlink("in/real.txt/", f"{self.root}/fileslash.txt")
        os.symlink("in/real.txt/x", f"{self.root}/through-file.txt")
        os.symlink("nothing-here", f"{self.root}/dangling.txt")
        os.symlink("self", f"{self.root}/self")
        os.symlink("pong", f"{self.root}/ping")
        os.symlink("ping", f"{self.root}/pong")
        for i in range(self.CHAIN):
            os.symlink(f"c{i + 1}", f"{self.root}/c{i}")
        os.symlink("in/real.txt", f"{self.root}/c{self.CHAIN}")
        # Index files and the extension-less lookup through links.
        os.mkdir(f"{self.root}/idx")
        os.symlink("../in/real.txt", f"{self.root}/idx/index.html")
        os.mkdir(f"{self.root}/idxout")
        os.symlink("../../outside/secret.txt", f"{self.root}/idxout/index.html")
        os.symlink("in/real.txt", f"{self.root}/ext.html")
        os.symlink("../outside/secret.txt", f"{self.root}/extout.html")

    def test_symlinks_leaving_root_refused(self):
        self.assertEqual(self.get("/out.txt")[0], 404)
        self.assertEqual(self.get("/outdir/secret.txt")[0], 404)
        self.assertEqual(self.get("/passwd")[0], 404)

    def test_absolute_and_reentering_links_refused(self):
        for target in ("/abs-inside.txt", "/back-in.txt", "/in/esc/outside/secret.txt", "/in/esc/root/in/real.txt"):
            self.assertEqual(self.get(target)[0], 404, target)

    def test_index_and_extension_through_links(self):
        _, h = self.served("/idx/")
        self.assertEqual(h["X-Ash-File"], self.file("idx/index.html"))
        _, h = self.served("/ext")
        self.assertEqual(h["X-Ash-File"], self.file("ext.html"))
        # A link leading out is no index file and no candidate.
        _, h = self.served("/idxout/")
        self.assertEqual((h["X-Ash-File"], h["X-Ash-via"]), (self.file("idxout"), "listing"))
        self.assertEqual(self.get("/extout")[0], 404)

    def test_symlinks_inside_root_followed(self):
        _, h = self.served("/inside.txt")
        self.assertEqual(h["X-Ash-File"], self.file("inside.txt"))
        _, h = self.served("/in/loop/real.txt")
        self.assertEqual(h["X-Ash-File"], self.file("in/loop/real.txt"))

    def test_dots_and_slashes_in_targets(self):
        for rel in ("in/up/in/real.txt", "in/up/in/up/indir/real.txt", "messy.txt", "indir/real.txt",
                    "slashed/real.txt"):
            _, h = self.served("/" + rel)
            self.assertEqual(h["X-Ash-File"], self.file(rel))
        self.assertEqual(self.get("/indir")[0], 301)
        _, h = self.served("/in/up/")
        self.assertEqual(h["X-Ash-File"], self.file("in/up"))

    def test_broken_links_not_found(self):
        for target in ("/fileslash.txt", "/through-file.txt", "/dangling.txt", "/self", "/ping",
                       "/in/loop/loop/esc/x"):
            self.assertEqual(self.get(target)[0], 404, target)

    def test_link_limit_is_the_kernels(self):
        _, h = self.served("/c1")
        self.assertEqual(h["X-Ash-File"], self.file("c1"))
        self.assertEqual(self.get("/c0")[0], 404)


class FollowSymlinksTest(SymlinkTest):
    conf = BASE_CONF + "follow-symlinks\n"

    # Replace the refusal tests of SymlinkTest: with follow-symlinks the
    # same links are served.
    def test_symlinks_leaving_root_refused(self):
        self.test_symlinks_leaving_root_followed_when_allowed()

    def test_absolute_and_reentering_links_refused(self):
        for rel in ("abs-inside.txt", "back-in.txt", "in/esc/outside/secret.txt", "in/esc/root/in/real.txt"):
            _, h = self.served("/" + rel)
            self.assertEqual(h["X-Ash-File"], self.file(rel))

    def test_index_and_extension_through_links(self):
        _, h = self.served("/idxout/")
        self.assertEqual(h["X-Ash-File"], self.file("idxout/index.html"))
        _, h = self.served("/extout")
        self.assertEqual(h["X-Ash-File"], self.file("extout.html"))

    def test_symlinks_leaving_root_followed_when_allowed(self):
        _, h = self.served("/out.txt")
        self.assertEqual(h["X-Ash-File"], self.file("out.txt"))


class ConfigErrorTest(ashdtest.TempDirTestCase):
    def run_dirplex(self, conf):
        path = os.path.join(self.tmp, "bad.rc")
        write(path, conf)
        import subprocess

        p = subprocess.run([DIRPLEX, "-N", "-c", path, self.tmp], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=ashdtest.TIMEOUT, env={**os.environ, "ASHD_LOG": "stderr"})
        return p.returncode, p.stderr.decode(), path

    def test_errors_name_file_and_line(self):
        for conf, line in (
            ("match\n    handler x\nbogus\n", 3),
            ("child x\n", 1),
            ("match\n    filename *.c\n", 1),
            ("child a\n    exec /bin/true\nchild a\n    exec /bin/true\n", 3),
            ("capture x\n", 1),
            ("match\n    handler x\n    set Bad:Name v\n", 3),
            ("    indented\n", 1),
        ):
            rc, err, path = self.run_dirplex(conf)
            self.assertEqual(rc, 1, conf)
            self.assertIn(f"{path}:{line}:", err, conf)

    def test_missing_config_file(self):
        import subprocess

        p = subprocess.run([DIRPLEX, "-N", "-c", os.path.join(self.tmp, "none"), self.tmp],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=ashdtest.TIMEOUT)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"none", p.stderr)


class AtomicSwapTest(DirplexTestCase):
    conf = """
fchild cat
    exec /bin/sh {tmp}/cat.sh
child echo
    exec {handler}
match
    default
    handler cat
"""

    def make_tree(self):
        for n in (1, 2):
            write(f"{self.tmp}/release-{n}/index.html", f"index of release {n}")
            write(f"{self.tmp}/release-{n}/part.txt", f"part of release {n}")
        os.symlink("release-1", f"{self.tmp}/current")

    def start(self, root=None):
        DirplexTestCase.start(self, root=os.path.join(self.tmp, "current"))

    def test_swap_under_concurrent_requests(self):
        errors = []
        seen = set()

        def client():
            try:
                for _ in range(40):
                    for target in ("/", "/part.txt"):
                        status, _, body = self.get(target)
                        # Each response is wholly one release's file.
                        text = body.decode()
                        what = "index" if target == "/" else "part"
                        if status != 200 or text not in (f"{what} of release 1", f"{what} of release 2"):
                            errors.append((target, status, text))
                        seen.add(text[-1:])
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=client) for _ in range(3)]
        for t in threads:
            t.start()
        tmp_link = f"{self.tmp}/current.new"
        i = 0
        # Swaps go on as long as any client still fetches.
        while any(t.is_alive() for t in threads):
            os.symlink(f"release-{1 + i % 2}", tmp_link)
            os.rename(tmp_link, f"{self.tmp}/current")
            i += 1
        for t in threads:
            t.join(ashdtest.TIMEOUT)
        self.assertEqual(errors, [])
        self.assertTrue(seen <= {"1", "2"} and seen, seen)


def child_pids(pid, name):
    """The pids of pid's children whose command name is name."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm, after = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if comm == name and int(after[1]) == pid:
            found.append(int(entry))
    return found


def dirplex_pid(launcher):
    """The pid of the dirplex that launcher's htparser started."""
    pids = child_pids(launcher.events("started")[0].pid, "dirplex")
    assert len(pids) == 1, pids
    return pids[0]


def open_paths(pid):
    """What the fds of process pid name."""
    paths = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            paths.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass
    return paths


class RootRecheckTest(DirplexTestCase):
    """The root is opened once and kept, yet a root path that comes to name
    another directory (a deploy renaming a new tree in, a directory moved
    away) is noticed at the next check, at most a second later."""

    def make_tree(self):
        write(f"{self.root}/a.txt")
        write(f"{self.tmp}/new/a.txt")
        write(f"{self.tmp}/new/new-only.txt")

    def status(self, target):
        return self.get(target)[0]

    def test_root_kept_open_between_requests(self):
        self.served("/a.txt")
        self.assertIn(os.path.realpath(self.root), open_paths(dirplex_pid(self.launcher)))

    def test_new_tree_renamed_over_the_root(self):
        self.assertEqual(self.status("/new-only.txt"), 404)
        os.rename(self.root, f"{self.tmp}/old")
        os.rename(f"{self.tmp}/new", self.root)
        poll(lambda: self.status("/new-only.txt"), lambda status: status == 200, "the new tree")
        # Named through the root path, not through where the old tree went.
        self.assertEqual(self.served("/a.txt")[1]["X-Ash-File"], self.file("a.txt"))
        self.assertNotIn(f"{os.path.realpath(self.tmp)}/old", open_paths(dirplex_pid(self.launcher)))

    def test_missing_root_fails_until_it_is_back(self):
        self.served("/a.txt")
        os.rename(self.root, f"{self.tmp}/away")
        poll(lambda: self.status("/a.txt"), lambda status: status == 500, "the missing root")
        os.rename(f"{self.tmp}/away", self.root)
        poll(lambda: self.status("/a.txt"), lambda status: status == 200, "the root back")


class RootSymlinkRecheckTest(DirplexTestCase):
    """A root that is a symlink: retargeting it switches trees, and a
    directory moved and linked again is named by its new path."""

    def make_tree(self):
        write(f"{self.tmp}/release-1/a.txt")
        write(f"{self.tmp}/release-2/a.txt")
        write(f"{self.tmp}/release-2/two-only.txt")
        os.symlink("release-1", f"{self.tmp}/current")

    def start(self, root=None):
        DirplexTestCase.start(self, root=os.path.join(self.tmp, "current"))

    def retarget(self, target):
        os.symlink(target, f"{self.tmp}/current.new")
        os.rename(f"{self.tmp}/current.new", f"{self.tmp}/current")

    def x_ash_file(self, target):
        return self.served(target)[1]["X-Ash-File"]

    def test_retargeted_symlink(self):
        self.assertEqual(self.get("/two-only.txt")[0], 404)
        self.retarget("release-2")
        poll(lambda: self.get("/two-only.txt")[0], lambda status: status == 200, "release 2")
        self.assertEqual(self.x_ash_file("/a.txt"), os.path.realpath(self.tmp) + "/release-2/a.txt")

    def test_same_directory_moved(self):
        self.assertEqual(self.x_ash_file("/a.txt"), os.path.realpath(self.tmp) + "/release-1/a.txt")
        # The root path names the same directory throughout; only its path
        # changed, and that is what a handler opens.
        os.rename(f"{self.tmp}/release-1", f"{self.tmp}/moved")
        self.retarget("moved")
        moved = os.path.realpath(self.tmp) + "/moved/a.txt"
        poll(lambda: self.x_ash_file("/a.txt"), lambda path: path == moved, "the moved root's path")


HTRC_VIA = "match\n    filename *.txt\n    handler echo\n    xset via {via}\n"


class HtrcRecheckTest(DirplexTestCase):
    """.htrc files are cached per directory, "none here" included, and
    looked at again at most once a second: a file added, edited in place,
    broken, mended and removed takes effect, in the root as below it."""

    def make_tree(self):
        write(f"{self.root}/a.txt")
        write(f"{self.root}/sub/a.txt")

    def wait_via(self, target, via):
        def fetch():
            status, _, body = self.get(target)
            return status, parse_echo(body)[1].get("X-Ash-via") if status == 200 else None

        poll(fetch, lambda result: result == (200, via), f"{target} via {via}")

    def lifecycle(self, directory, target):
        path = f"{directory}/.htrc"
        self.wait_via(target, "default")
        write(path, HTRC_VIA.format(via="added"))
        self.wait_via(target, "added")
        # The same inode, rewritten with another size.
        write(path, HTRC_VIA.format(via="edited-in-place"))
        self.wait_via(target, "edited-in-place")
        write(path, "nonsense\n")
        poll(lambda: self.get(target)[0], lambda status: status == 500, "the broken .htrc")
        self.launcher.wait_stderr(f"{path}:1")
        write(path, HTRC_VIA.format(via="mended"))
        self.wait_via(target, "mended")
        os.unlink(path)
        self.wait_via(target, "default")

    def test_root_htrc(self):
        self.lifecycle(self.root, "/a.txt")

    def test_subdirectory_htrc(self):
        self.lifecycle(f"{self.root}/sub", "/sub/a.txt")
        self.wait_via("/a.txt", "default")


class SyscallTest(DirplexTestCase):
    """What a request through known directories costs: the root is not
    opened and no .htrc looked at again within a second. dirplex runs under
    strace, which writes each call as it returns (skipped without strace)."""

    REQUESTS = 30

    def setUp(self):
        self.strace = shutil.which("strace")
        if not self.strace or subprocess.run([self.strace, "-o", os.devnull, "true"],
                                             capture_output=True, timeout=ashdtest.TIMEOUT).returncode:
            self.skipTest("strace is missing or cannot trace here")
        super().setUp()

    def make_tree(self):
        self.trace = f"{self.tmp}/trace"
        self.wrapper = (self.strace, "-o", self.trace)
        write(f"{self.root}/sub/a.txt")

    def test_known_directories_cost_no_lookups(self):
        start = time.monotonic()
        for _ in range(1 + self.REQUESTS):
            self.served("/sub/a.txt")
        seconds = time.monotonic() - start
        # A request for a name that is not there: its lookup in the trace
        # says the trace has caught up.
        marker = f"marker-{os.getpid()}"
        self.assertEqual(self.get("/" + marker)[0], 404)
        def trace():
            with open(self.trace) as f:
                return f.read()

        lines = poll(trace, lambda text: marker in text, "the trace").splitlines()
        htrc = [line for line in lines if '".htrc"' in line]
        roots = {f'"{self.root}"', f'"{os.path.realpath(self.root)}"'}
        root = [line for line in lines if any(r in line for r in roots)]
        # Each directory is looked at once, then at most once a second; the
        # root's check is a stat and a readlink, its opening an open too.
        checks = int(seconds) + 2
        self.assertLessEqual(len(htrc), 2 * checks, htrc)
        self.assertLessEqual(len(root), 2 * checks + 1, root)
        self.assertLess(len(htrc), self.REQUESTS)


class WithoutOpenat2:
    """Mixed in before a DirplexTestCase: dirplex runs under no-openat2, as
    in containers and on kernels where openat2 says ENOSYS, so each of the
    test case's tests runs against the userspace resolution."""

    wrapper = (NO_OPENAT2,)
    launch_env = {**os.environ, "ASHD_LOG": "stderr"}

    def test_runs_without_openat2(self):
        for _ in range(3):
            self.get("/")
        htparser = self.launcher.events("started")[0].pid
        pids = child_pids(htparser, "dirplex")
        self.assertEqual(len(pids), 1, pids)
        with open(f"/proc/{pids[0]}/status") as f:
            self.assertIn("Seccomp:\t2\n", f.read())
        # dirplex noticed, once, and took the userspace way from then on.
        self.launcher.wait_stderr("resolving paths in userspace")
        self.assertEqual(self.launcher.stderr.count("openat2() is not available"), 1, self.launcher.stderr)


class MappingWithoutOpenat2Test(WithoutOpenat2, MappingTest):
    pass


class HtrcWithoutOpenat2Test(WithoutOpenat2, HtrcTest):
    pass


class SymlinkWithoutOpenat2Test(WithoutOpenat2, SymlinkTest):
    pass


class FollowSymlinksWithoutOpenat2Test(WithoutOpenat2, FollowSymlinksTest):
    pass


class AtomicSwapWithoutOpenat2Test(WithoutOpenat2, AtomicSwapTest):
    pass


class RootRecheckWithoutOpenat2Test(WithoutOpenat2, RootRecheckTest):
    pass


class RootSymlinkRecheckWithoutOpenat2Test(WithoutOpenat2, RootSymlinkRecheckTest):
    pass


class SymlinkOpenat2EpermTest(WithoutOpenat2, SymlinkTest):
    """openat2 refused with EPERM, as by older seccomp profiles: dirplex
    tells it from a path's own EPERM and resolves in userspace too."""

    wrapper = (NO_OPENAT2, "--eperm")


class NoOpenat2HelperTest(unittest.TestCase):
    # 437 is openat2 in the table all current architectures share; prints
    # its result and errno, and whether other calls still work.
    SCRIPT = ("import ctypes, errno, os\n"
              "libc = ctypes.CDLL(None, use_errno=True)\n"
              "r = libc.syscall(437, -100, b'/', None, 0)\n"
              "print(r, errno.errorcode[ctypes.get_errno()], len(os.listdir('/')) > 0)\n")

    def run_script(self, *options):
        return subprocess.run([NO_OPENAT2, *options, sys.executable, "-c", self.SCRIPT], capture_output=True,
                              timeout=ashdtest.TIMEOUT)

    def test_openat2_says_enosys_and_the_rest_works(self):
        p = self.run_script()
        self.assertEqual((p.returncode, p.stdout), (0, b"-1 ENOSYS True\n"), p.stderr)

    def test_eperm(self):
        p = self.run_script("--eperm")
        self.assertEqual((p.returncode, p.stdout), (0, b"-1 EPERM True\n"), p.stderr)

    def test_missing_program(self):
        p = subprocess.run([NO_OPENAT2, "/nonexistent/program"], capture_output=True, timeout=ashdtest.TIMEOUT)
        self.assertEqual(p.returncode, 127)
