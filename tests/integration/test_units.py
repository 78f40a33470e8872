# SPDX-License-Identifier: MIT
"""The unit files as installed, checked offline by systemd's own tools:
`systemd-analyze verify` prints nothing for any system or user unit, and
`systemd-analyze security` scores the hardening (exposure ≤ 2.0 for
ashd.service, ≤ 4.0 for every other service). What only a running systemd
can show is in tests/system/."""

import configparser
import glob
import os
import re
import shutil
import subprocess

import ashdtest


def pkg(var):
    return subprocess.run(["pkg-config", f"--variable={var}", "systemd"], capture_output=True, text=True,
                          check=True).stdout.strip()


UNITDIR = pkg("systemdsystemunitdir")
USERUNITDIR = pkg("systemduserunitdir")
# One instance of each template, as an administrator would name them.
INSTANCES = {"ashd-user@": "alice", "ashd-userdir@": "1000", "ashd-handler@": "sendfile"}


def make_install(dest, *args):
    make_vars = os.environ.get("ASHD_MAKE_VARS", f"BUILD={ashdtest.BUILD}").split()
    proc = subprocess.run(["make", "--no-print-directory", "-C", ashdtest.SRC, "install", *make_vars, *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dest


def unit_names(folder):
    names = []
    for path in sorted(glob.glob(os.path.join(folder, "ashd*.s*"))):
        name = os.path.basename(path)
        stem, dot, kind = name.rpartition(".")
        if stem in INSTANCES:
            name = f"{stem}{INSTANCES[stem]}.{kind}"
        names.append(name)
    return names


def read_unit(path):
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    with open(path) as f:
        parser.read_string(f.read())
    return parser


class UnitsTest(ashdtest.TempDirTestCase):
    def setUp(self):
        super().setUp()
        # The installed tree, plus what verify needs of the system around
        # it: systemd's own units and the commands our units call.
        self.dest = make_install(None, f"DESTDIR={self.tmp}/root", "PREFIX=/usr")
        self.root = f"{self.tmp}/root"
        shutil.copytree(UNITDIR, self.root + UNITDIR, symlinks=True, dirs_exist_ok=True,
                        ignore=lambda d, names: [n for n in names if n.startswith("ashd")])
        for tool in ("/bin/kill", "/usr/bin/install", "/bin/rm"):
            os.makedirs(os.path.dirname(self.root + tool), exist_ok=True)
            shutil.copy(tool, self.root + tool)

    def system_units(self):
        return unit_names(self.root + UNITDIR)

    def verify(self, *units):
        return subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={self.root}", *units],
                              capture_output=True, text=True, timeout=60)

    def test_every_unit_is_installed(self):
        names = self.system_units()
        for unit in ("ashd.socket", "ashd-https.socket", "ashd.service", "ashd-root.socket", "ashd-root.service",
                     "ashd-userplex.socket", "ashd-userplex.service", "ashd-user@alice.socket",
                     "ashd-user@alice.service", "ashd-userdir@1000.service", "ashd-handler@sendfile.socket",
                     "ashd-handler@sendfile.service"):
            self.assertIn(unit, names)
        self.assertTrue(os.path.isfile(self.root + UNITDIR + "/user@.service.d/ashd.conf"))
        for unit in ("ashd-site.socket", "ashd-site.service"):
            self.assertTrue(os.path.isfile(self.root + USERUNITDIR + "/" + unit), unit)
        with open(self.root + UNITDIR + "/ashd.service") as f:
            self.assertIn("ExecStart=/usr/bin/htparser ", f.read())

    def test_system_units_verify_silently(self):
        names = self.system_units() + ["user@1000.service"]
        # user@.service runs systemd itself, which this tree does not hold.
        os.makedirs(self.root + "/lib/systemd", exist_ok=True)
        shutil.copy("/lib/systemd/systemd", self.root + "/lib/systemd/systemd")
        for unit in names:
            out = self.verify(unit)
            self.assertEqual((out.returncode, out.stdout + out.stderr), (0, ""), unit)

    def test_verify_would_notice_a_mistake(self):
        path = self.root + UNITDIR + "/ashd-root.service"
        with open(path, "a") as f:
            f.write("ProtectSystm=strict\n")
        out = self.verify("ashd-root.service")
        self.assertIn("Unknown key", out.stdout + out.stderr)

    def test_user_units_verify_silently(self):
        # systemd-analyze --user has no --root: install with real paths.
        d = f"{self.tmp}/user"
        make_install(None, f"PREFIX={d}/usr", f"UNITDIR={d}/system", f"USERUNITDIR={d}/user",
                     f"TMPFILESDIR={d}/tmpfiles", f"SYSUSERSDIR={d}/sysusers", f"CATALOGDIR={d}/catalog",
                     f"SYSCONFDIR={d}/etc", f"MANDIR={d}/man")
        units = sorted(glob.glob(f"{d}/user/*"))
        self.assertEqual([os.path.basename(u) for u in units], ["ashd-site.service", "ashd-site.socket"])
        os.makedirs(f"{self.tmp}/xdg", mode=0o700)
        out = subprocess.run(["systemd-analyze", "--user", "verify", "--man=no", *units], capture_output=True,
                             text=True, timeout=60, env=dict(os.environ, XDG_RUNTIME_DIR=f"{self.tmp}/xdg"))
        self.assertEqual((out.returncode, out.stdout + out.stderr), (0, ""))

    def test_hardening_exposure(self):
        services = [u for u in self.system_units() if u.endswith(".service")]
        self.assertGreaterEqual(len(services), 6)
        for unit in services:
            limit = 2.0 if unit == "ashd.service" else 4.0
            out = subprocess.run(["systemd-analyze", "security", "--offline=yes", f"--root={self.root}",
                                  f"--threshold={int(limit * 10)}", unit], capture_output=True, text=True,
                                 timeout=60)
            self.assertEqual(out.returncode, 0, out.stdout[-2000:] + out.stderr)
            level = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", out.stdout).group(1))
            self.assertLessEqual(level, limit, unit)

    def test_only_sockets_are_enabled(self):
        # Services start on the first connection: only sockets name a
        # target to be wanted by; services point at their socket.
        for path in glob.glob(self.root + UNITDIR + "/ashd*") + glob.glob(self.root + USERUNITDIR + "/ashd*"):
            unit = read_unit(path)
            install = dict(unit["Install"]) if unit.has_section("Install") else {}
            if path.endswith(".socket"):
                self.assertEqual(install.get("WantedBy"), "sockets.target", path)
            else:
                self.assertNotIn("WantedBy", install, path)

    def test_ashd_service_runtime_settings(self):
        service = read_unit(self.root + UNITDIR + "/ashd.service")["Service"]
        self.assertEqual(service["Type"], "notify")
        self.assertEqual(service["Restart"], "on-failure")
        self.assertEqual(service["LogRateLimitIntervalSec"], "0")
        self.assertIn("-HUP", service["ExecReload"])
        # The stop timeout covers htparser's drain.
        drain = int(re.search(r"--drain-timeout=(\d+)", service["ExecStart"]).group(1)) \
            if "--drain-timeout" in service["ExecStart"] else 30
        self.assertGreater(int(service["TimeoutStopSec"]), drain)
        self.assertGreater(int(service["WatchdogSec"]), 0)
        self.assertEqual(service["User"], "ashd")
