# SPDX-License-Identifier: MIT
"""ashd-usersite, what a user's site unit runs: as that user, in the home
directory, ~/.ashd/handler through htactivate when it is executable, else
dirplex on ~/public_html — reached through htparser on the activated socket."""

import os
import pwd
import socket

import ashdtest
from ashdtest import binary
from httpclient import recv_response
from launch import Launcher

HTPARSER = binary("htparser")
NOBODY = pwd.getpwnam("nobody")
CONFIG = os.path.join(ashdtest.SRC, "etc", "ashd", "dirplex.rc")


class UserSiteTest(ashdtest.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(os.path.join(self.home, "public_html"))
        with open(os.path.join(self.home, "public_html", "index.html"), "w") as f:
            f.write("<p>my own page</p>\n")

    def start(self, *args):
        path = os.path.join(self.tmp, "site.sock")
        env = [f"--setenv=HOME={self.home}", f"--setenv=PATH={ashdtest.BUILD}:/usr/bin:/bin"]
        site = Launcher(["--lazy", "--start-limit-burst", "0", "-u", "nobody", "-l", f"site=unix:{path}", *env],
                        [binary("ashd-usersite"), "-c", CONFIG, *args])
        self.addCleanup(site.close)
        site.wait_listening()
        front = Launcher(["-l", "http=tcp:127.0.0.1:0"], [HTPARSER, "--root-socket", path])
        self.addCleanup(front.close)
        front.wait_ready()
        self.site = site
        s = socket.create_connection(front.address("http"), timeout=ashdtest.TIMEOUT)
        self.addCleanup(s.close)
        return s

    def get(self, s, path):
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
        return recv_response(s)

    def test_public_html_through_dirplex(self):
        s = self.start()
        status, _, body, _, _ = self.get(s, "/")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"<p>my own page</p>\n")
        # The site process is the user's, in the home directory.
        pid = self.site.wait_started().pid
        self.assertEqual(os.stat(f"/proc/{pid}").st_uid, NOBODY.pw_uid)
        self.assertEqual(os.readlink(f"/proc/{pid}/cwd"), self.home)
        self.assertEqual(open(f"/proc/{pid}/comm").read().strip(), "dirplex")

    def test_own_handler_through_htactivate(self):
        os.makedirs(os.path.join(self.home, ".ashd"))
        os.symlink(binary("test-handler"), os.path.join(self.home, ".ashd", "handler"))
        s = self.start()
        status, _, body, _, _ = self.get(s, "/mine?x=1")
        self.assertEqual(status, 200)
        self.assertIn(b"rest: mine\n", body)
        self.assertIn(f"uid: {NOBODY.pw_uid}\n".encode(), body)
        pid = self.site.wait_started().pid
        self.assertEqual(open(f"/proc/{pid}/comm").read().strip(), "htactivate")

    def test_idle_exit_is_passed_on(self):
        # Both forms of site exit when idle (as ashd-site.service asks) and
        # come back on the next request.
        for own in (False, True):
            if own:
                os.makedirs(os.path.join(self.home, ".ashd"))
                os.symlink(binary("test-handler"), os.path.join(self.home, ".ashd", "handler"))
            s = self.start("--idle-exit", "0.2")
            for _ in range(2):
                status, _, body, _, _ = self.get(s, "/")
                self.assertEqual(status, 200)
                self.assertEqual(self.site.wait_exited().status, ("status", 0))
            self.assertEqual(len(self.site.events("started")), 2)

    def test_no_home_refuses_to_start(self):
        path = os.path.join(self.tmp, "x.sock")
        site = Launcher(["--once", "--no-notify", "-u", "nobody", "-l", f"site=unix:{path}",
                         "--setenv=HOME=/nonexistent/nowhere"], [binary("ashd-usersite")])
        self.addCleanup(site.close)
        self.assertEqual(site.wait(), 1)
        self.assertIn("Cannot enter /nonexistent/nowhere", site.stderr)
