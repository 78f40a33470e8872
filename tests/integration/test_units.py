# SPDX-License-Identifier: MIT
"""The unit files as installed: systemd's own offline scoring of the
hardening (issue 6 asks exposure ≤ 2.0 for ashd.service)."""

import os
import re
import subprocess

import ashdtest


class UnitsTest(ashdtest.TempDirTestCase):
    def install(self):
        dest = os.path.join(self.tmp, "root")
        make_vars = os.environ.get("ASHD_MAKE_VARS", f"BUILD={ashdtest.BUILD}").split()
        proc = subprocess.run(["make", "--no-print-directory", "-C", ashdtest.SRC, "install", f"DESTDIR={dest}",
                               "PREFIX=/usr", *make_vars], capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return dest

    def test_ashd_service_exposure(self):
        dest = self.install()
        unitdir = subprocess.run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        with open(dest + unitdir + "/ashd.service") as f:
            self.assertIn("ExecStart=/usr/bin/htparser ", f.read())
        out = subprocess.run(["systemd-analyze", "security", "--offline=yes", f"--root={dest}", "--threshold=20",
                              "ashd.service"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout[-2000:] + out.stderr)
        level = float(re.search(r"Overall exposure level for ashd.service: ([0-9.]+)", out.stdout).group(1))
        self.assertLessEqual(level, 2.0)
