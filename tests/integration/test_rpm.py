# SPDX-License-Identifier: MIT
"""make rpm: packaging/rpm/ashd.spec built by rpmbuild on this Debian machine
(about 5 s). Debian ships no systemd rpm macros, so packaging/rpm/
macros.debian stands in for them: this checks the spec's build, install and
file list against the tree (rpmbuild refuses unpackaged and missing files)
and that its scriptlets name every unit, not Fedora's own expansions of
those macros."""

import glob
import os
import re
import subprocess
import tempfile
import unittest

import ashdtest
from test_deb import changelog_version, man_pages, pkg, src, tree_units


class RpmTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="ashd-rpm-")
        build = os.path.join(cls._tmp.name, "build")
        cls.proc = subprocess.run(
            ["make", "--no-print-directory", "-C", ashdtest.SRC, "rpm", f"BUILD={build}"],
            capture_output=True,
            text=True,
            timeout=900,
        )
        rpms = glob.glob(os.path.join(build, "rpm", "RPMS", "*", "ashd-*.rpm"))
        cls.rpm = rpms[0] if cls.proc.returncode == 0 and len(rpms) == 1 else None

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def setUp(self):
        self.assertIsNotNone(self.rpm, f"make rpm failed (exit {self.proc.returncode}):\n"
                             + (self.proc.stdout + self.proc.stderr)[-4000:])

    def query(self, *args):
        return subprocess.run(["rpm", "-qp", *args, self.rpm], capture_output=True, text=True,
                              check=True).stdout.splitlines()

    def test_files(self):
        files = set(self.query("-l"))
        system, dropins, user = tree_units()
        unitdir, userunitdir = pkg("systemdsystemunitdir"), pkg("systemduserunitdir")
        for name in system + dropins:
            self.assertIn(f"{unitdir}/{name}", files)
        for name in user:
            self.assertIn(f"{userunitdir}/{name}", files)
        for var, name in (("tmpfilesdir", "ashd.conf"), ("sysusersdir", "ashd.conf"), ("catalogdir", "ashd.catalog")):
            self.assertIn(f"{pkg(var)}/{name}", files)
        programs = {os.path.basename(os.path.dirname(p)) for p in glob.glob(src("src", "*", "main.c"))}
        for name in programs - {"ashd-launch"}:
            self.assertIn(f"/usr/bin/{name}", files)
        self.assertNotIn("/usr/bin/ashd-launch", files)
        for p in man_pages():
            name = os.path.basename(p)
            page = f"/usr/share/man/man{name.rsplit('.', 1)[1]}/{name}"
            # Fedora's brp-compress gzips man pages, Debian's rpm leaves them.
            self.assertTrue({page, page + ".gz"} & files, page)

    def test_etc_is_config(self):
        want = {f"/etc/ashd/{n}" for n in os.listdir(src("etc", "ashd"))
                if os.path.isfile(src("etc", "ashd", n))}
        self.assertTrue(want)
        self.assertEqual(set(self.query("--configfiles")), want)

    def test_scriptlets_name_every_unit(self):
        """Each stand-in line ": stand-in MACRO UNITS" lists every
        non-template unit of its kind (the spec's lists are by hand)."""
        called = {}
        for line in self.query("--scripts"):
            m = re.match(r": stand-in (\S+) ?(.*)$", line)
            if m:
                called[m.group(1)] = set(m.group(2).split())
        system, _, user = tree_units()
        system = {u for u in system if "@" not in u}
        user = {u for u in user if "@" not in u}
        for macro in ("systemd_post", "systemd_preun", "systemd_postun_with_restart"):
            self.assertEqual(called.get(macro), system, f"%{macro} in packaging/rpm/ashd.spec")
        for macro in ("systemd_user_post", "systemd_user_preun"):
            self.assertEqual(called.get(macro), user, f"%{macro} in packaging/rpm/ashd.spec")
        self.assertEqual(called.get("tmpfiles_create"), {"ashd.conf"})
        # %sysusers_create_compat read sysusers.d/ashd.conf.
        self.assertEqual(called.get("sysusers_create_compat"), {"u", "ashd"})

    def test_version_and_requires(self):
        self.assertEqual(self.query("--qf", "%{VERSION}")[0], changelog_version())
        requires = self.query("--requires")
        self.assertIn("/etc/mime.types", requires)
        self.assertIn("systemd", requires)


if __name__ == "__main__":
    unittest.main()
