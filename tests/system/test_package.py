# SPDX-License-Identifier: MIT
"""The package story under a real systemd: two packages of the working tree
built with "make deb-build" (the changelog's version and a newer one), put
into a fresh Debian system booted with systemd-nspawn, and used the way an
administrator does: apt-get install, edits under /etc/ashd, an upgrade,
apt-get purge. There is no "make install" here: the package is the only way
ashd gets in. The tests run in order (test_1 …, test_3 …); each builds on
the state the previous one left."""

import glob
import json
import os
import re
import shutil
import subprocess
import unittest

from container import BUILD, SRC, Container

NAME = "ashd-package-test"
PKG_OLD = os.path.join(BUILD, "system", "pkg-old")
PKG_NEW = os.path.join(BUILD, "system", "pkg-new")
# The administrator's command line: no debconf questions, and stdin at EOF
# (run() gets input=""), so that a conffile prompt would fail the command
# rather than wait for an answer.
APT = ("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y")
SYSTEM_SOCKETS = ("ashd.socket", "ashd-root.socket", "ashd-userplex.socket")
SERVICES = ("ashd.service", "ashd-root.service", "ashd-userplex.service")
PROGRAMS = {"htparser", "patplex", "dirplex", "userplex", "sendfile", "htls", "ashd-usersite", "htactivate"}
# A rule of the administrator's: /alias is other.html.
ALIAS_RULE = "match\n    point ^alias$\n    restpat other.html\n    handler dirplex\n\n"


def changelog_version():
    return subprocess.run(["dpkg-parsechangelog", "-l", os.path.join(SRC, "packaging/debian/changelog"), "-S",
                           "Version"], capture_output=True, text=True, check=True).stdout.strip()


def catalog_ids():
    with open(os.path.join(SRC, "catalog", "ashd.catalog")) as f:
        return set(re.findall(r"(?m)^-- ([0-9a-f]{32})$", f.read()))


class PackageTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.old_version = changelog_version()
        cls.new_version = cls.old_version + "+test1"
        # Both packages at once (about 30 s together on two cores).
        builds = []
        for out, extra in ((PKG_OLD, []), (PKG_NEW, [f"DEB_VERSION={cls.new_version}"])):
            builds.append(subprocess.Popen(
                ["make", "--no-print-directory", "-C", SRC, "deb-build", f"BUILD={out}", "LINTIAN_FAIL_ON=none",
                 *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        logs = [b.communicate(timeout=600)[0] for b in builds]
        for b, log in zip(builds, logs):
            assert b.returncode == 0, f"make deb-build: exit {b.returncode}\n{log[-4000:]}"
        cls.debs = {}
        for out, version in ((PKG_OLD, cls.old_version), (PKG_NEW, cls.new_version)):
            found = glob.glob(os.path.join(out, "deb", f"ashd_{version}_*.deb"))
            assert len(found) == 1, found
            cls.debs[version] = found[0]
        assert subprocess.run(["dpkg", "--compare-versions", cls.new_version, "gt", cls.old_version]).returncode == 0
        # Every file and link the package installs.
        listing = subprocess.run(["dpkg-deb", "-c", cls.debs[cls.new_version]], capture_output=True, text=True,
                                 check=True).stdout
        cls.files = [line.split(None, 5)[5].split(" -> ")[0][1:] for line in listing.splitlines()
                     if not line.startswith("d")]
        cls.c = Container(os.path.join(BUILD, "system", "base"), name=NAME)
        try:
            cls.c.copy_base()
            for deb in cls.debs.values():
                shutil.copy(deb, os.path.join(cls.c.root, "root"))
            cls.c.boot()
        except BaseException:
            cls.c.poweroff()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.c.poweroff()

    # --- helpers ----------------------------------------------------------
    def deb_in_container(self, version):
        return "/root/" + os.path.basename(self.debs[version])

    def apt(self, *args):
        """apt-get -y ARGS as the administrator types it; its output."""
        out = self.c.run(*APT, *args, input="", timeout=180)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        # Nothing to fetch: the container has no network to fetch it with.
        self.assertNotRegex(out.stdout, r"Need to get [1-9]")
        self.assertNotIn("Configuration file '", out.stdout)
        return out.stdout

    def is_(self, what, unit):
        return self.c.run("systemctl", what, unit).stdout.strip()

    def assert_sockets_listening(self):
        for unit in SYSTEM_SOCKETS:
            self.assertEqual(self.is_("is-enabled", unit), "enabled", unit)
            state = self.is_("is-active", unit)
            if state != "active":
                log = self.c.run("journalctl", "-u", unit, "-n", "8", "-o", "cat", "--no-pager").stdout
                self.fail(f"{unit} is {state}:\n{log}")

    def assert_served(self, path, text):
        status, body = self.c.curl(path)
        self.assertEqual(status, 200, body)
        self.assertIn(text, body)

    def assert_new_programs_run(self):
        """No process runs a program that the upgrade replaced."""
        out = self.c.run("sh", "-c", "for e in /proc/[0-9]*/exe; do l=$(readlink $e) && "
                                     "case $l in *' (deleted)') echo $e $l;; esac; done").stdout
        self.assertEqual(out, "")

    def version(self):
        return self.c.run("dpkg-query", "-W", "-f", "${Version}", "ashd", check=True).stdout

    def read(self, path):
        return self.c.run("cat", path, check=True).stdout

    def write(self, path, text):
        self.c.run("sh", "-c", f"cat >{path}", input=text, check=True)

    # 1 -------------------------------------------------------------------
    def test_1_install_serves_on_first_connection(self):
        c = self.c
        self.assertNotEqual(c.run("dpkg-query", "-W", "ashd").returncode, 0, "ashd is in the base tree")
        self.assertNotEqual(c.run("test", "-e", "/usr/bin/htparser").returncode, 0)
        out = self.apt("install", self.deb_in_container(self.old_version))
        self.assertIn(f"Setting up ashd ({self.old_version})", out)
        self.assertEqual(self.version(), self.old_version)
        # Enabled and listening with no other step; port 443 waits for a
        # certificate and the administrator.
        self.assert_sockets_listening()
        self.assertEqual(self.is_("is-enabled", "ashd-https.socket"), "disabled")
        self.assertEqual(self.is_("is-active", "ashd-https.socket"), "inactive")
        # Nothing runs until the first request.
        for unit in SERVICES:
            self.assertEqual(c.show(unit, "ActiveState"), "inactive", unit)
        self.assertEqual(c.run("pgrep", "-u", "ashd").stdout, "")
        # The user (sysusers.d) and the runtime directories (tmpfiles.d).
        user = c.run("getent", "passwd", "ashd", check=True).stdout.strip().split(":")
        self.assertLess(int(user[2]), 1000, user)
        self.assertEqual(user[6], "/usr/sbin/nologin")
        self.assertEqual(c.run("stat", "-c", "%U %G %a", "/run/ashd", "/run/ashd/user", "/var/www/html",
                               check=True).stdout.split("\n")[:3], ["root ashd 751", "root ashd 751", "root root 755"])
        # The first request: a listing of the still empty site root.
        self.assertEqual(c.run("ls", "-A", "/var/www/html", check=True).stdout, "")
        self.assert_served("/", "Index of /")
        for unit in ("ashd.service", "ashd-root.service"):
            self.assertEqual(c.show(unit, "ActiveState"), "active", unit)
        self.assertEqual(c.show("ashd.service", "User"), "ashd")
        # The administrator's site.
        self.write("/var/www/html/index.html", "<p>the admin's site</p>\n")
        self.write("/var/www/html/other.html", "<p>another page</p>\n")
        self.assert_served("/", "the admin's site")
        status, _ = c.curl("/missing-page")
        self.assertEqual(status, 404)
        # The journal catalog, through systemd's trigger on its directory.
        listed = c.run("journalctl", "--list-catalog", check=True).stdout
        ids = {line.split()[0] for line in listed.splitlines() if " ashd: " in line}
        self.assertEqual(ids, catalog_ids())

    # 2 -------------------------------------------------------------------
    def test_2_upgrade_keeps_the_administrators_edits(self):
        c = self.c
        conf = self.read("/etc/ashd/root.conf")
        self.assertIn("match\n    default\n", conf)
        root_conf = conf.replace("match\n    default\n", ALIAS_RULE + "match\n    default\n") \
            + "# /alias added by the administrator\n"
        dirplex_rc = self.read("/etc/ashd/dirplex.rc") + "# reviewed by the administrator\n"
        self.write("/etc/ashd/root.conf", root_conf)
        self.write("/etc/ashd/dirplex.rc", dirplex_rc)
        c.run("systemctl", "reload", "ashd-root", check=True)
        self.assert_served("/alias", "another page")

        # No conffile prompt: the new package's /etc/ashd files are the same
        # as the old one's (dpkg compares the md5sums it recorded), so dpkg
        # keeps the edited files without asking.
        out = self.apt("install", self.deb_in_container(self.new_version))
        self.assertIn(f"Unpacking ashd ({self.new_version}) over ({self.old_version})", out)
        self.assertEqual(self.version(), self.new_version)
        self.assertEqual(self.read("/etc/ashd/root.conf"), root_conf)
        self.assertEqual(self.read("/etc/ashd/dirplex.rc"), dirplex_rc)
        self.assertEqual(c.run("ls", "-A", "/etc/ashd", check=True).stdout.split(), ["dirplex.rc", "root.conf", "tls"])
        # dpkg knows them as changed conffiles, and nothing else as changed.
        verify = c.run("dpkg", "--verify", "ashd").stdout.splitlines()
        self.assertEqual(sorted(line.split()[-1] for line in verify), ["/etc/ashd/dirplex.rc", "/etc/ashd/root.conf"],
                         verify)
        self.assertTrue(all(line.split()[1] == "c" for line in verify), verify)
        self.assert_sockets_listening()
        self.assertEqual(self.is_("is-enabled", "ashd-https.socket"), "disabled")
        self.assert_served("/", "the admin's site")
        self.assert_served("/alias", "another page")
        for unit in ("ashd.service", "ashd-root.service"):
            self.assertEqual(c.show(unit, "ActiveState"), "active", unit)
        self.assert_new_programs_run()

    def test_2b_upgrade_under_load(self):
        """The same upgrade on a busy server (a reinstall runs the same
        postinst, "configure OLD-VERSION"), with 200 requests a second: the
        sockets are left alone (restarting one closes its port), the services
        that run are restarted one at a time, handlers first, each draining
        while its socket keeps new connections for its successor."""
        c = self.c
        load = c.load("/", 200, 15)
        try:
            self.assertEqual(load.stdout.readline().strip(), "running")
            out = self.apt("install", "--reinstall", self.deb_in_container(self.new_version))
            overlapped = load.poll() is None
            result = json.loads(load.stdout.readline())
        finally:
            load.stdout.close()
            load.wait(timeout=60)
        self.assertIn(f"Unpacking ashd ({self.new_version}) over ({self.new_version})", out)
        self.assert_sockets_listening()
        self.assert_served("/alias", "another page")
        self.assert_new_programs_run()
        self.assertTrue(overlapped, "the load ended before the upgrade did")
        self.assertEqual(result["failed"], 0, result)

    # 3 -------------------------------------------------------------------
    def test_3_purge_leaves_nothing_but_the_user(self):
        c = self.c
        # A serving system first (test_2b can leave ashd.socket failed).
        c.run("systemctl", "reset-failed")
        c.run("systemctl", "start", *SYSTEM_SOCKETS, check=True)
        self.assert_served("/", "the admin's site")
        out = self.apt("purge", "ashd")
        self.assertIn(f"Purging configuration files for ashd ({self.new_version})", out)
        self.assertNotEqual(c.run("dpkg-query", "-W", "ashd").returncode, 0)

        # Stopped, and systemd has forgotten the units.
        for unit in SYSTEM_SOCKETS + SERVICES + ("ashd-https.socket",):
            self.assertEqual(self.is_("is-active", unit), "inactive", unit)
        self.assertEqual(c.run("systemctl", "list-units", "--all", "--plain", "--no-legend", "ashd*").stdout, "")
        out = c.net("curl", "-sS", "--max-time", "5", "http://127.0.0.1/")
        self.assertEqual(out.returncode, 7, out.stdout + out.stderr)  # could not connect
        self.assertEqual(c.run("ss", "-Htln", "sport = :80", check=True).stdout, "")
        procs = c.run("ps", "-e", "-o", "user:32=,comm=", check=True).stdout.split("\n")
        self.assertEqual([p for p in procs if p.split()[:1] == ["ashd"] or p.split()[1:] and p.split()[1] in PROGRAMS],
                         [])

        # Nothing of the package on disk, its own directories included.
        root = c.root
        left = [f for f in self.files if os.path.lexists(root + f)]
        self.assertEqual(left, [])
        for d in ("/etc/ashd", "/usr/share/doc/ashd", "/run/ashd"):
            self.assertFalse(os.path.lexists(root + d), d)
        # No name with ashd in it anywhere (enablement symlinks under
        # /etc/systemd, deb-systemd-helper's state, dpkg's own records) but
        # the package files copied to /root, nor a link to an ashd unit.
        out = c.run("find", "/", "/run", "/tmp", "-xdev", "(", "-name", "*ashd*", "-o", "-lname", "*ashd*", ")",
                    "-not", "-path", "/root/ashd_*.deb", check=True).stdout
        self.assertEqual(out, "")
        listed = c.run("journalctl", "--list-catalog", check=True).stdout
        self.assertFalse(catalog_ids() & set(re.findall(r"(?m)^([0-9a-f]{32}) ", listed)))

        # What purge leaves, as Debian policy has it: the system user and
        # group (sysusers.d users are never removed), and the administrator's
        # site under /var/www/html.
        self.assertEqual(c.run("getent", "passwd", "ashd").returncode, 0)
        self.assertEqual(c.run("getent", "group", "ashd").returncode, 0)
        self.assertEqual(sorted(c.run("ls", "-A", "/var/www/html", check=True).stdout.split()),
                         ["index.html", "other.html"])


if __name__ == "__main__":
    unittest.main()
