# SPDX-License-Identifier: MIT
"""The user stories of a deployment, under a real systemd: a Debian system
booted in a container with ashd installed by `make install`, driven with
the commands an administrator and the users type. The tests run in order
(test_1 …, test_9 …): later stories build on the sites the earlier ones
published."""

import json
import os
import re
import shlex
import subprocess
import unittest

from container import BUILD, USERS, Container


def processes_of(c, unit, user=None):
    """(uid, command) of every process in UNIT's cgroup."""
    group = c.show(unit, "ControlGroup", user=user)
    assert group, f"{unit} has no control group"
    # Unit names in cgroup paths carry escapes ("\\x2d"): quoted for sh.
    files = " ".join(shlex.quote(f"/sys/fs/cgroup{tree}{group}/cgroup.procs") for tree in ("", "/unified", "/systemd"))
    out = c.run("sh", "-c", f"cat {files} 2>/dev/null | sort -u").stdout.split()
    procs = []
    for pid in out:
        ps = c.run("ps", "-o", "uid=,comm=", "-p", pid).stdout.split()
        if ps:
            procs.append((int(ps[0]), ps[1]))
    return procs


class SystemTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.c = Container(os.path.join(BUILD, "system", "base"))
        try:
            cls.c.prepare()
            cls.c.boot()
        except BaseException:
            cls.c.poweroff()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.c.poweroff()

    def assert_served(self, path, text, *args):
        status, body = self.c.curl(path, *args)
        self.assertEqual(status, 200, body)
        self.assertIn(text, body)

    def loaded(self, action, path="/", rate=200, seconds=10):
        """ACTION run while RATE requests a second go to PATH; the load's result."""
        load = self.c.load(path, rate, seconds)
        try:
            self.assertEqual(load.stdout.readline().strip(), "running")
            action()
            result = json.loads(load.stdout.readline())
        finally:
            load.stdout.close()
            load.wait(timeout=60)
        return result

    # 1 -------------------------------------------------------------------
    def test_1_system_site_on_first_connection(self):
        c = self.c
        # Nothing runs before the administrator asks for it.
        self.assertEqual(c.run("systemctl", "is-enabled", "ashd.socket").stdout.strip(), "disabled")
        c.run("systemctl", "enable", "--now", "ashd.socket", check=True)
        self.assertEqual(c.show("ashd.socket", "ActiveState"), "active")
        for unit in ("ashd.service", "ashd-root.service"):
            self.assertEqual(c.show(unit, "ActiveState"), "inactive", unit)
        self.assert_served("/", "the system site")
        self.assertEqual(c.show("ashd.service", "ActiveState"), "active")
        self.assertEqual(c.show("ashd-root.service", "ActiveState"), "active")
        # htparser as ashd, patplex and what it started as www-data.
        ashd = int(c.run("id", "-u", "ashd", check=True).stdout)
        www = int(c.run("id", "-u", "www-data", check=True).stdout)
        self.assertEqual({u for u, _ in processes_of(c, "ashd.service")}, {ashd})
        root = processes_of(c, "ashd-root.service")
        self.assertEqual({u for u, _ in root}, {www})
        self.assertTrue({"patplex", "dirplex", "sendfile"} <= {p for _, p in root}, root)
        status, _ = c.curl("/missing-page")
        self.assertEqual(status, 404)

    def test_1b_https_with_the_key_as_a_credential(self):
        c = self.c
        folder = os.path.join(BUILD, "system")
        cert, key = os.path.join(folder, "site.pem"), os.path.join(folder, "site.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-days",
                        "2", "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=30)
        # The administrator's steps: the pair into /etc/ashd/tls, the https
        # socket on, and ashd restarted to take it.
        for path in (cert, key):
            with open(path) as f:
                c.run("sh", "-c", f"umask 077; cat >/etc/ashd/tls/{os.path.basename(path)}", input=f.read(),
                      check=True)
        self.assertEqual(c.run("stat", "-c", "%U %a", "/etc/ashd/tls", check=True).stdout.strip(), "root 700")
        # systemd passes a service the sockets that are listening when it
        # starts, and starts no socket of a running service: stop htparser
        # (port 80 keeps queueing), start the socket, and the next
        # connection starts htparser with both.
        c.run("systemctl", "enable", "ashd-https.socket", check=True)
        c.run("systemctl", "stop", "ashd.service", check=True)
        c.run("systemctl", "start", "ashd-https.socket", check=True)
        out = c.net("curl", "-sS", "--max-time", "20", "--cacert", cert, "--resolve", "localhost:443:127.0.0.1",
                    "https://localhost/")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("the system site", out.stdout)
        # htparser (ashd) reads the key only as its own credential copy.
        self.assertEqual(c.run("stat", "-c", "%U %a", "/run/credentials/ashd.service/tls_site.key",
                               check=True).stdout.strip(), "ashd 400")

    # 2 -------------------------------------------------------------------
    def test_2_user_enables_own_site(self):
        c = self.c
        # The administrator lets alice's manager run without a login; she
        # publishes her site herself.
        c.run("loginctl", "enable-linger", "alice", check=True)
        c.wait_for("alice's manager", lambda: c.run("systemctl", "--user", "is-system-running", user="alice")
                   .stdout.strip() in ("running", "degraded"))
        c.run("systemctl", "--user", "enable", "--now", "ashd-site.socket", user="alice", check=True)
        st = c.run("stat", "-c", "%U %G %a", "/run/ashd/user/1000", "/run/ashd/user/1000/site.sock",
                   check=True).stdout.split("\n")
        self.assertEqual(st[0], "alice ashd 2750")
        self.assertEqual(st[1], "alice ashd 660")
        self.assert_served("/~alice/", "alice's own page")
        procs = processes_of(c, "ashd-site.service", user="alice")
        self.assertTrue({"dirplex", "sendfile"} <= {p for _, p in procs}, procs)
        self.assertEqual({u for u, _ in procs}, {USERS["alice"]})

    # 3 -------------------------------------------------------------------
    def test_3_admin_enables_a_users_site(self):
        c = self.c
        c.run("systemctl", "enable", "--now", "ashd-user@bob.socket", check=True)
        self.assert_served("/~bob/", "bob's own page")
        procs = processes_of(c, "ashd-user@bob.service")
        self.assertEqual({u for u, _ in procs}, {USERS["bob"]})
        # No login and no lingering manager behind it.
        self.assertNotIn("bob", c.run("loginctl", "list-users", "--no-legend").stdout)
        self.assertEqual(c.show("user@1001.service", "ActiveState"), "inactive")

    # 4 -------------------------------------------------------------------
    def test_4_mallory_can_neither_squat_nor_connect(self):
        c = self.c
        probe = ("import socket, sys\n"
                 "import os\n"
                 "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
                 "try:\n"
                 "    (os.mkdir if sys.argv[1] == 'mkdir' else getattr(s, sys.argv[1]))(sys.argv[2])\n"
                 "    print('allowed')\n"
                 "except OSError as e:\n"
                 "    print(e.errno)\n")
        for op, path in (("connect", "/run/ashd/root.sock"), ("connect", "/run/ashd/userplex.sock"),
                         ("connect", "/run/ashd/user/bob.sock"), ("connect", "/run/ashd/user/1000/site.sock"),
                         ("bind", "/run/ashd/user/alice.sock"), ("bind", "/run/ashd/user/carol.sock"),
                         ("bind", "/run/ashd/user/1000/site.sock"), ("mkdir", "/run/ashd/user/1001"),
                         ("bind", "/run/ashd/mallory.sock")):
            out = c.run("python3", "-c", probe, op, path, user="mallory", check=True).stdout.strip()
            self.assertEqual(out, "13", f"mallory: {op} {path}")  # EACCES
        # bob's site (the system template) has no user directory to squat in.
        out = c.run("python3", "-c", probe, "bind", "/run/ashd/user/1001/site.sock", user="mallory", check=True)
        self.assertEqual(out.stdout.strip(), "2")  # ENOENT
        # Her own site lives in her own directory and is served as /~mallory/
        # only; the others' sites still answer as before.
        c.run("loginctl", "enable-linger", "mallory", check=True)
        c.wait_for("mallory's manager", lambda: c.run("systemctl", "--user", "is-system-running", user="mallory")
                   .stdout.strip() in ("running", "degraded"))
        out = c.run("python3", "-c", probe, "bind", "/run/ashd/user/1002/site.sock", user="mallory", check=True)
        self.assertEqual(out.stdout.strip(), "allowed")
        self.assert_served("/~alice/", "alice's own page")
        self.assert_served("/~bob/", "bob's own page")
        status, _ = c.curl("/~mallory/")
        self.assertEqual(status, 503)

    # 5 -------------------------------------------------------------------
    def test_5_journal(self):
        c = self.c
        status, _ = c.curl("/no-such-page-5")
        self.assertEqual(status, 404)
        c.run("journalctl", "--sync", check=True)
        out = c.run("journalctl", "-u", "ashd", "HTTP_STATUS=404", "-o", "json", check=True).stdout
        entries = [json.loads(line) for line in out.splitlines() if line.strip()]
        mine = [e for e in entries if e.get("HTTP_URL") == "/no-such-page-5"]
        self.assertEqual(len(mine), 1, out[-2000:])
        self.assertEqual(mine[0]["_SYSTEMD_UNIT"], "ashd.service")
        self.assertEqual(mine[0]["MESSAGE_ID"], "31faa4eb3b7b425297f6081c801eee05")
        # alice breaks a .htrc of hers and reads why in her own journal.
        c.run("sh", "-c", "mkdir -p ~/public_html/broken && echo 'nonsense here' >~/public_html/broken/.htrc",
              user="alice", check=True)
        status, _ = c.curl("/~alice/broken/")
        self.assertGreaterEqual(status, 500)
        c.run("journalctl", "--sync", check=True)
        out = c.run("journalctl", "--user", "-u", "ashd-site", "-o", "json", user="alice", check=True).stdout
        errors = [json.loads(line) for line in out.splitlines() if "CONFIG_FILE" in line]
        self.assertTrue(errors, out[-2000:])
        self.assertTrue(errors[-1]["CONFIG_FILE"].endswith("/public_html/broken/.htrc"), errors[-1])
        # mallory cannot read alice's journal.
        out = c.run("journalctl", "--user", "-u", "ashd-site", "-o", "json", "--file",
                    "/var/log/journal/*/user-1000.journal", user="mallory")
        self.assertNotIn("public_html/broken", out.stdout)

    # 6 -------------------------------------------------------------------
    def test_6a_restart_htparser_under_load(self):
        result = self.loaded(lambda: self.c.run("systemctl", "restart", "ashd", check=True))
        self.assertEqual(result["failed"], 0, result)
        self.assertEqual(result["ok"], result["sent"])

    def test_6b_restart_root_handler_under_load(self):
        result = self.loaded(lambda: self.c.run("systemctl", "restart", "ashd-root", check=True))
        self.assertEqual(result["failed"], 0, result)

    def test_6c_reload_root_handler_under_load(self):
        c = self.c
        status, _ = c.curl("/alias")
        self.assertEqual(status, 404)
        conf = c.run("cat", "/etc/ashd/root.conf", check=True).stdout
        edited = conf.replace("match\n    default\n",
                              "match\n    point ^alias$\n    restpat other.html\n    handler dirplex\n\n"
                              "match\n    default\n")
        self.assertNotEqual(conf, edited)

        def edit_and_reload():
            c.run("sh", "-c", "cat >/etc/ashd/root.conf", input=edited, check=True)
            c.run("systemctl", "reload", "ashd-root", check=True)

        result = self.loaded(edit_and_reload)
        self.assertEqual(result["failed"], 0, result)
        self.assert_served("/alias", "another page")
        # A broken edit is refused and the running configuration kept.
        main = c.show("ashd-root.service", "MainPID")
        c.run("sh", "-c", "echo 'match\n    bogus-directive' >>/etc/ashd/root.conf", check=True)
        c.run("systemctl", "reload", "ashd-root", check=True)
        c.run("journalctl", "--sync", check=True)
        c.wait_for("the config error in the journal", lambda: "CONFIG_LINE" in c.run(
            "journalctl", "-u", "ashd-root", "-o", "json", "MESSAGE_ID=ba974794288f445bbe1f0f69a8e0562b").stdout)
        self.assertEqual(c.show("ashd-root.service", "MainPID"), main)
        self.assert_served("/alias", "another page")
        c.run("sh", "-c", "cat >/etc/ashd/root.conf", input=conf, check=True)
        c.run("systemctl", "reload", "ashd-root", check=True)

    # 7 -------------------------------------------------------------------
    def test_7_idle_user_site_exits_and_comes_back(self):
        c = self.c
        # alice shortens her site's idle time with a drop-in of her own.
        c.run("sh", "-c", "mkdir -p ~/.config/systemd/user/ashd-site.service.d && printf '[Service]\\n"
                          "ExecStart=\\nExecStart=/usr/bin/ashd-usersite --upstream-user=ashd --idle-exit=1\\n' "
                          ">~/.config/systemd/user/ashd-site.service.d/idle.conf", user="alice", check=True)
        c.run("systemctl", "--user", "daemon-reload", user="alice", check=True)
        c.run("systemctl", "--user", "restart", "ashd-site.service", user="alice", check=True)
        self.assert_served("/~alice/", "alice's own page")
        c.wait_for("alice's site to exit", lambda: c.show("ashd-site.service", "ActiveState", user="alice")
                   == "inactive", seconds=30)
        self.assertEqual(c.show("ashd-site.service", "Result", user="alice"), "success")
        self.assertEqual(c.show("ashd-site.socket", "ActiveState", user="alice"), "active")
        self.assert_served("/~alice/", "alice's own page")
        self.assertEqual(c.show("ashd-site.service", "ActiveState", user="alice"), "active")

    # 8 -------------------------------------------------------------------
    def test_8_killed_handler_costs_only_its_requests(self):
        c = self.c
        before = c.show("ashd-root.service", "MainPID")
        result = self.loaded(lambda: c.run("systemctl", "kill", "--signal=SIGKILL", "--kill-who=main",
                                           "ashd-root.service", check=True))
        # At most what patplex held when it died; everything else served.
        self.assertLessEqual(result["failed"], 10, result)
        for number, what in result["failures"]:
            self.assertRegex(what, r"^HTTP/1.1 50[23] ", result)
        c.wait_for("ashd-root to be restarted", lambda: c.show("ashd-root.service", "ActiveState") == "active")
        self.assertNotEqual(c.show("ashd-root.service", "MainPID"), before)
        self.assertGreaterEqual(int(c.show("ashd-root.service", "NRestarts")), 1)
        self.assert_served("/", "the system site")

    # 9 -------------------------------------------------------------------
    def test_9_watchdog_restarts_a_stuck_htparser(self):
        c = self.c
        # A short watchdog for the test, set the way an administrator would.
        c.run("sh", "-c", "mkdir -p /etc/systemd/system/ashd.service.d && printf '[Service]\\nWatchdogSec=2\\n"
                          "TimeoutAbortSec=5\\n' >/etc/systemd/system/ashd.service.d/watchdog.conf", check=True)
        c.run("systemctl", "daemon-reload", check=True)
        c.run("systemctl", "restart", "ashd.service", check=True)
        self.assert_served("/", "the system site")
        stuck = c.show("ashd.service", "MainPID")
        restarts = int(c.show("ashd.service", "NRestarts"))
        c.run("kill", "-STOP", stuck, check=True)
        c.wait_for("the watchdog to restart htparser",
                   lambda: int(c.show("ashd.service", "NRestarts")) > restarts and
                   c.show("ashd.service", "ActiveState") == "active", seconds=60)
        self.assertNotEqual(c.show("ashd.service", "MainPID"), stuck)
        self.assert_served("/", "the system site")
        out = c.run("journalctl", "-u", "ashd.service", "-o", "cat", "--no-pager").stdout
        self.assertRegex(out, re.compile("[Ww]atchdog timeout"))


if __name__ == "__main__":
    unittest.main()
