# SPDX-License-Identifier: MIT
"""userplex behind htparser: /~NAME/ forwarded to NAME's own site socket,
served by a handler running under NAME's real uid, with the listener's uid
checked for both socket forms (system template DIR/NAME.sock bound by root,
user unit DIR/UID/site.sock bound by the user), the 404 and 503 cases, and
recovery when a user's handler restarts. Needs root (it creates users)."""

import os
import pwd
import grp
import re
import socket
import subprocess
import unittest

import ashdtest
from ashdtest import binary
from httpclient import recv_response
from launch import Launcher

USERS = ("ashdtest1", "ashdtest2")
GROUP = "ashdtestg"
ENV = dict(os.environ, ASHD_LOG="stderr")


def uid_in(body):
    m = re.search(rb"^uid: (\d+)$", body, re.M)
    return int(m.group(1)) if m else None


def rest_in(body):
    m = re.search(rb"^rest: (.*)$", body, re.M)
    return m.group(1).decode() if m else None


def pid_in(body):
    return int(re.search(rb"^pid: (\d+)$", body, re.M).group(1))


@unittest.skipUnless(os.geteuid() == 0, "needs root to create users")
class UserplexTest(ashdtest.TempDirTestCase):
    @classmethod
    def setUpClass(cls):
        for name in USERS:
            subprocess.run(["userdel", name], stderr=subprocess.DEVNULL)
        subprocess.run(["groupdel", GROUP], stderr=subprocess.DEVNULL)
        subprocess.run(["groupadd", "--system", GROUP], check=True)
        # ashdtest1 is in GROUP as a supplementary group, ashdtest2 is not.
        subprocess.run(["useradd", "--system", "-M", "-N", "-G", GROUP, "-s", "/usr/sbin/nologin", USERS[0]], check=True)
        subprocess.run(["useradd", "--system", "-M", "-N", "-s", "/usr/sbin/nologin", USERS[1]], check=True)
        cls.pw = {name: pwd.getpwnam(name) for name in USERS}

    @classmethod
    def tearDownClass(cls):
        for name in USERS:
            subprocess.run(["userdel", name], stderr=subprocess.DEVNULL)
        subprocess.run(["groupdel", GROUP], stderr=subprocess.DEVNULL)

    def setUp(self):
        super().setUp()
        self.dir = os.path.join(self.tmp, "user")
        os.mkdir(self.dir, 0o755)
        self.min_uid = min(p.pw_uid for p in self.pw.values())

    # --- set-up helpers ---------------------------------------------------

    def start_userplex(self, *args, launcher_args=(), min_uid=True):
        argv = [binary("userplex"), "--user-dir", self.dir]
        if min_uid:
            argv += ["-m", str(self.min_uid)]
        launcher = Launcher(
            [*launcher_args, "-l", "http=tcp:127.0.0.1:0"],
            [binary("htparser"), "--", *argv, *args],
            env=ENV,
        )
        self.addCleanup(launcher.close)
        launcher.wait_ready()
        self.http = launcher.address("http")
        return launcher

    def start_system_site(self, name, as_user=None, handler_args=()):
        """DIR/name.sock: bound by root (as PID 1 would), handler as name.
        With as_user, the whole launcher runs as that user instead (a squatter)."""
        path = os.path.join(self.dir, f"{name}.sock")
        kwargs = {}
        args = ["-l", f"site=unix:{path}"]
        if as_user:
            p = pwd.getpwnam(as_user)
            kwargs = dict(user=p.pw_uid, group=p.pw_gid, extra_groups=[])
        else:
            args += ["-u", name]
        site = Launcher(args, [binary("test-handler"), *handler_args], env=ENV, **kwargs)
        self.addCleanup(site.close)
        site.wait_ready()
        return site, path

    def start_user_site(self, name, as_user=None):
        """DIR/UID/site.sock of name, bound by a launcher running as as_user
        (name itself unless squatting), as a user's systemd manager would."""
        p = self.pw[name]
        owner = pwd.getpwnam(as_user or name)
        d = os.path.join(self.dir, str(p.pw_uid))
        os.makedirs(d, 0o755, exist_ok=True)
        os.chown(d, owner.pw_uid, owner.pw_gid)
        path = os.path.join(d, "site.sock")
        site = Launcher(
            ["-l", f"site=unix:{path}"],
            [binary("test-handler")],
            env=ENV,
            user=owner.pw_uid,
            group=owner.pw_gid,
            extra_groups=[],
        )
        self.addCleanup(site.close)
        site.wait_ready()
        return site, path

    def get(self, path):
        with socket.create_connection(self.http, timeout=ashdtest.TIMEOUT) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode())
            status, headers, body, _, _ = recv_response(s)
        return status, headers, body

    # --- tests ------------------------------------------------------------

    def test_two_users_under_their_own_uids(self):
        self.start_system_site(USERS[0])
        self.start_user_site(USERS[1])
        self.start_userplex()
        for name in USERS:
            status, _, body = self.get(f"/~{name}/a/b.html?x=1")
            self.assertEqual(status, 200, body)
            self.assertEqual(uid_in(body), self.pw[name].pw_uid)
            self.assertEqual(rest_in(body), "a/b.html")
            self.assertIn(f"url: /~{name}/a/b.html?x=1".encode(), body)
            # htparser's own headers pass through.
            self.assertIn(b"header: X-Ash-", body)

    def test_rest_without_tilde_and_empty_rest(self):
        # Mounted by patplex at "^~" userplex sees "NAME/…": the same as "~NAME/…".
        self.start_system_site(USERS[0])
        self.start_userplex()
        status, _, body = self.get(f"/{USERS[0]}/x")
        self.assertEqual(status, 200, body)
        self.assertEqual(rest_in(body), "x")
        status, _, body = self.get(f"/~{USERS[0]}/")
        self.assertEqual(status, 200, body)
        self.assertEqual(rest_in(body), "")

    def test_user_unit_socket(self):
        self.start_user_site(USERS[0])
        self.start_userplex()
        status, _, body = self.get(f"/~{USERS[0]}/p")
        self.assertEqual(status, 200, body)
        self.assertEqual(uid_in(body), self.pw[USERS[0]].pw_uid)

    def test_system_template_preferred(self):
        self.start_system_site(USERS[0])
        self.start_user_site(USERS[0])
        self.start_userplex()
        for _ in range(3):
            status, _, body = self.get(f"/~{USERS[0]}/")
            self.assertEqual(status, 200, body)
            self.assertIn(b"listen: site", body)
            self.assertEqual(uid_in(body), self.pw[USERS[0]].pw_uid)

    def test_one_connection_per_user_kept(self):
        site, _ = self.start_system_site(USERS[0])
        self.start_userplex()
        pids = set()
        for _ in range(4):
            status, _, body = self.get(f"/~{USERS[0]}/")
            self.assertEqual(status, 200, body)
            pids.add(pid_in(body))
        self.assertEqual(len(pids), 1)
        self.assertEqual(len(site.events("started")), 1)

    def test_squatted_system_socket(self):
        # ashdtest2 binds ashdtest1's template socket itself: not root. (The
        # real directory is root's; a writable one is what this guards against.)
        os.chmod(self.dir, 0o1777)
        _, path = self.start_system_site(USERS[0], as_user=USERS[1])
        up = self.start_userplex()
        status, _, body = self.get(f"/~{USERS[0]}/")
        self.assertEqual(status, 503)
        self.assertIn(b"site not running", body)
        self.assertNotIn(path.encode(), body)
        up.wait_stderr(path)
        up.wait_stderr(f"uid {self.pw[USERS[1]].pw_uid}")

    def test_squatted_user_unit_socket(self):
        # ashdtest2 owns and binds DIR/UID1/site.sock.
        _, path = self.start_user_site(USERS[0], as_user=USERS[1])
        up = self.start_userplex()
        status, _, body = self.get(f"/~{USERS[0]}/")
        self.assertEqual(status, 503)
        self.assertIn(b"site not running", body)
        up.wait_stderr(path)
        up.wait_stderr(f"uid {self.pw[USERS[1]].pw_uid}")

    def test_unknown_and_invalid_users(self):
        self.start_userplex()
        for path in ("/~nosuchuser-ashd/", "/~../", "/~%2e%2e/x", "/~a%2fb/", "/~", "/~-x/"):
            status, _, _ = self.get(path)
            self.assertEqual(status, 404, path)

    def test_below_min_uid(self):
        self.start_system_site(USERS[0])
        # The default minimum (1000) is above a system account's uid.
        self.start_userplex(min_uid=False)
        status, _, _ = self.get(f"/~{USERS[0]}/")
        self.assertEqual(status, 404)
        status, _, _ = self.get("/~root/")
        self.assertEqual(status, 404)

    def test_group_filter(self):
        self.start_system_site(USERS[0])
        self.start_system_site(USERS[1])
        self.start_userplex("-g", GROUP)
        status, _, body = self.get(f"/~{USERS[0]}/")
        self.assertEqual(status, 200, body)
        status, _, _ = self.get(f"/~{USERS[1]}/")
        self.assertEqual(status, 404)

    def test_group_filter_primary_group(self):
        self.start_system_site(USERS[1])
        group = grp.getgrgid(self.pw[USERS[1]].pw_gid).gr_name
        self.start_userplex("-g", group)
        status, _, body = self.get(f"/~{USERS[1]}/")
        self.assertEqual(status, 200, body)

    def test_site_not_running(self):
        self.start_userplex()
        status, _, body = self.get(f"/~{USERS[0]}/")
        self.assertEqual(status, 503)
        self.assertIn(b"site not running", body)
        # A stale socket file with nobody listening is the same.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.bind(os.path.join(self.dir, f"{USERS[0]}.sock"))
        s.close()
        status, _, body = self.get(f"/~{USERS[0]}/")
        self.assertEqual(status, 503)
        self.assertIn(b"site not running", body)

    def test_redirect_without_slash(self):
        self.start_userplex()
        status, headers, _ = self.get(f"/~{USERS[0]}?a=1")
        self.assertEqual(status, 301)
        self.assertTrue(headers["location"].endswith(f"/~{USERS[0]}/?a=1"), headers)
        status, headers, _ = self.get(f"/~{USERS[0]}")
        self.assertEqual(status, 301)
        self.assertTrue(headers["location"].endswith(f"/~{USERS[0]}/"), headers)

    def test_recovery_after_handler_restart(self):
        site, _ = self.start_system_site(USERS[0])
        self.start_userplex()
        status, _, body = self.get(f"/~{USERS[0]}/")
        self.assertEqual(status, 200, body)
        first = pid_in(body)
        status, _, body = self.get(f"/~{USERS[0]}/exit")
        self.assertEqual(status, 200, body)
        site.wait_exited(pid=first)
        status, _, body = self.get(f"/~{USERS[0]}/again")
        self.assertEqual(status, 200, body)
        self.assertEqual(rest_in(body), "again")
        self.assertNotEqual(pid_in(body), first)
        self.assertEqual(uid_in(body), self.pw[USERS[0]].pw_uid)

    def test_site_started_later(self):
        self.start_userplex()
        status, _, _ = self.get(f"/~{USERS[0]}/")
        self.assertEqual(status, 503)
        self.start_user_site(USERS[0])
        status, _, body = self.get(f"/~{USERS[0]}/")
        self.assertEqual(status, 200, body)

    def test_handler_refuses_other_upstream(self):
        # userplex runs as nobody; the user's handler only takes root, itself
        # and its upstream user (daemon here): nobody is refused.
        site, _ = self.start_system_site(USERS[0], handler_args=["--upstream-user", "daemon"])
        self.start_userplex(launcher_args=["-u", "nobody"])
        status, _, _ = self.get(f"/~{USERS[0]}/")
        self.assertIn(status, (502, 503))
        site.wait_stderr(str(pwd.getpwnam("nobody").pw_uid))

    def test_handler_accepts_its_upstream_user(self):
        self.start_system_site(USERS[0], handler_args=["--upstream-user", "nobody"])
        self.start_userplex(launcher_args=["-u", "nobody"])
        status, _, body = self.get(f"/~{USERS[0]}/")
        self.assertEqual(status, 200, body)
        self.assertEqual(uid_in(body), self.pw[USERS[0]].pw_uid)


if __name__ == "__main__":
    unittest.main()
