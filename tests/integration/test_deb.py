# SPDX-License-Identifier: MIT
"""make deb: one package build per class (about 20 s). The package holds what
make install installs, in systemd's directories; /etc/ashd is conffiles;
postinst enables the sockets and no service; lintian finds no error and no
warning."""

import glob
import os
import re
import stat
import subprocess
import tempfile
import unittest

import ashdtest

# Not listed in Build-Depends: every Debian build has them (Makefile,
# DEB_BUILD_ESSENTIAL).
BUILD_ESSENTIAL = {"gcc", "g++", "make", "libc6-dev", "libc-dev", "dpkg-dev"}
# Enabled by nobody but the administrator: it needs a certificate first.
NOT_ENABLED_SOCKETS = {"ashd-https.socket"}


def pkg(var):
    return subprocess.run(
        ["pkg-config", f"--variable={var}", "systemd"], capture_output=True, text=True, check=True
    ).stdout.strip()


def src(*parts):
    return os.path.join(ashdtest.SRC, *parts)


def tree_units():
    """(system units, system drop-ins, user units) as the tree has them."""
    system = sorted(os.path.basename(p) for e in ("socket", "service", "target") for p in glob.glob(src("units", f"*.{e}")))
    dropins = sorted(os.path.relpath(p, src("units")) for p in glob.glob(src("units", "*.d", "*.conf")))
    user = sorted(os.path.basename(p) for e in ("socket", "service") for p in glob.glob(src("units", "user", f"*.{e}")))
    return system, dropins, user


def has_install_section(path):
    with open(path) as f:
        return any(line.strip().lower() == "[install]" for line in f)


def man_pages():
    return sorted(glob.glob(src("man", "*.[1-9]")))


def changelog_version():
    with open(src("packaging", "debian", "changelog")) as f:
        return re.match(r"ashd \(([^)]+)\)", f.readline()).group(1)


def postinst_blocks(text):
    """The debhelper snippets of a maintainer script: (tool, body) pairs."""
    return re.findall(r"# Automatically added by (\S+?)/\S+\n(.*?)# End automatically added section", text, re.S)


class DebTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="ashd-deb-")
        cls.tmp = cls._tmp.name
        build = os.path.join(cls.tmp, "build")
        cls.out = os.path.join(build, "deb")
        # lintian's verdict is asserted below, tag by tag, so that a missing
        # man page can be told apart from the rest.
        cls.proc = subprocess.run(
            ["make", "--no-print-directory", "-C", ashdtest.SRC, "deb", f"BUILD={build}", "LINTIAN_FAIL_ON=none"],
            capture_output=True,
            text=True,
            timeout=900,
        )
        cls.deb = None
        debs = glob.glob(os.path.join(cls.out, "ashd_*.deb"))
        if cls.proc.returncode != 0 or len(debs) != 1:
            return
        cls.deb = debs[0]
        listing = subprocess.run(["dpkg-deb", "-c", cls.deb], capture_output=True, text=True, check=True).stdout
        # "-rw-r--r-- root/root 233 2026-12-02 07:33 ./lib/systemd/system/ashd.socket"
        cls.modes = {}  # path: "-rw-r--r--"
        for line in listing.splitlines():
            fields = line.split(None, 5)
            path = fields[5].split(" -> ")[0][1:].rstrip("/")
            if path:
                cls.modes[path] = fields[0]
        cls.paths = set(cls.modes)
        cls.control_dir = os.path.join(cls.tmp, "control")
        subprocess.run(["dpkg-deb", "-e", cls.deb, cls.control_dir], check=True)
        with open(os.path.join(cls.out, "lintian.txt")) as f:
            cls.lintian = f.read().splitlines()

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def setUp(self):
        self.assertIsNotNone(self.deb, f"make deb failed (exit {self.proc.returncode}):\n"
                             + (self.proc.stdout + self.proc.stderr)[-4000:])

    def control_file(self, name):
        path = os.path.join(self.control_dir, name)
        if not os.path.exists(path):
            return ""
        with open(path) as f:
            return f.read()

    def field(self, text, name):
        m = re.search(rf"^{name}:(.*(?:\n[ \t].*)*)", text, re.M)
        return " ".join(m.group(1).split()) if m else None

    def test_lintian_finds_no_error_or_warning(self):
        tags = [t for t in self.lintian if re.match(r"[EW]: ", t)]
        if not man_pages():
            # test_man_pages is skipped too, and says why.
            tags = [t for t in tags if " no-manual-page " not in t]
        self.assertEqual(tags, [], "\n".join(self.lintian))

    def test_man_pages(self):
        pages = man_pages()
        if not pages:
            self.skipTest("no man/*.[1-9] in this tree yet: man pages in the package not checked")
        missing = [t for t in self.lintian if " no-manual-page " in t]
        self.assertEqual(missing, [], "programs without a man page")
        mandir = "/usr/share/man"
        for p in pages:
            name = os.path.basename(p)
            want = f"{mandir}/man{name.rsplit('.', 1)[1]}/{name}.gz"
            self.assertIn(want, self.paths)

    def test_programs(self):
        programs = {os.path.basename(os.path.dirname(p)) for p in glob.glob(src("src", "*", "main.c"))}
        programs.discard("ashd-launch")  # a test tool, not installed
        for name in programs:
            self.assertIn(f"/usr/bin/{name}", self.paths)
        self.assertNotIn("/usr/bin/ashd-launch", self.paths)

    def test_units_in_systemd_directories(self):
        system, dropins, user = tree_units()
        unitdir, userunitdir = pkg("systemdsystemunitdir"), pkg("systemduserunitdir")
        self.assertEqual(unitdir, "/lib/systemd/system")  # bookworm
        self.assertIn("ashd.socket", system)
        self.assertTrue(user, "no user units in units/user/")
        for name in system:
            self.assertIn(f"{unitdir}/{name}", self.paths)
        for name in dropins:
            self.assertIn(f"{unitdir}/{name}", self.paths)
        for name in user:
            self.assertIn(f"{userunitdir}/{name}", self.paths)
        for var, name in (("tmpfilesdir", "ashd.conf"), ("sysusersdir", "ashd.conf"), ("catalogdir", "ashd.catalog")):
            self.assertIn(f"{pkg(var)}/{name}", self.paths)

    def test_etc_is_conffiles(self):
        conffiles = set(self.control_file("conffiles").split())
        want = {f"/etc/ashd/{n}" for n in os.listdir(src("etc", "ashd"))}
        self.assertTrue(want)
        self.assertEqual(conffiles, want)
        etc_files = {p for p, m in self.modes.items() if p.startswith("/etc/") and not m.startswith("d")}
        self.assertEqual(etc_files, want)

    def test_same_files_as_make_install(self):
        """Every file, link and directory of make install PREFIX=/usr is in
        the package with the same mode, and nothing else but the package's
        own documentation (man pages are compressed)."""
        dest = os.path.join(self.tmp, "install")
        make_vars = os.environ.get("ASHD_MAKE_VARS", f"BUILD={ashdtest.BUILD}").split()
        proc = subprocess.run(
            ["make", "--no-print-directory", "-C", ashdtest.SRC, "install", f"DESTDIR={dest}", "PREFIX=/usr",
             *[v for v in make_vars if not v.startswith("SANITIZE=")]],
            capture_output=True, text=True, timeout=300,
        )
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        installed = {}
        for root, dirs, files in os.walk(dest):
            for name in dirs + files:
                path = os.path.join(root, name)
                rel = path[len(dest):]
                if re.match(r"/usr/share/man/man\d/", rel) and not os.path.isdir(path):
                    rel += ".gz"
                installed[rel] = stat.filemode(os.lstat(path).st_mode)
        # The package's own: /usr/share/doc/ashd/{copyright,changelog.gz},
        # its lintian overrides.
        own = ("/usr/share/doc", "/usr/share/lintian")
        packaged = {p: m for p, m in self.modes.items() if not p.startswith(own)}
        if "/usr/share" not in installed:
            del packaged["/usr/share"]
        self.maxDiff = None
        self.assertEqual(packaged, installed)

    def test_postinst_enables_sockets_only(self):
        postinst = self.control_file("postinst")
        enabled = set()  # units enabled on first installation
        for tool, body in postinst_blocks(postinst):
            units = re.findall(r"deb-systemd-helper (?:--user )?enable '([^']+)'", body)
            if "was-enabled defaults to true" in body:
                self.assertEqual(tool, "dh_installsystemd", body)
                enabled.update(units)
            else:
                # Re-enabling on upgrade what the administrator had enabled.
                for u in units:
                    self.assertIn("debian-installed", body, f"{u} enabled unconditionally")
        system, _, _ = tree_units()
        want = {u for u in system if u.endswith(".socket") and "@" not in u
                and has_install_section(src("units", u))} - NOT_ENABLED_SOCKETS
        self.assertIn("ashd.socket", want)
        self.assertEqual(enabled, want)
        # Started on installation: deb-systemd-invoke starts enabled units only.
        self.assertRegex(postinst, r"deb-systemd-invoke (?:\$_dh_action|start) [^\n]*'ashd\.socket'")

    def test_postinst_creates_user_before_directories(self):
        postinst = self.control_file("postinst")
        self.assertIn("systemd-sysusers ${DPKG_ROOT:+--root=\"$DPKG_ROOT\"} ashd.conf", postinst)
        self.assertIn("--create ashd.conf", postinst)
        self.assertLess(postinst.index("systemd-sysusers"), postinst.index("systemd-tmpfiles"))

    def test_catalog_updated_by_systemd_trigger(self):
        # No postinst code for the catalog: systemd's package watches the
        # directory and runs journalctl --update-catalog.
        triggers = "/var/lib/dpkg/info/systemd.triggers"
        if not os.path.exists(triggers):
            self.skipTest("systemd is not installed")
        with open(triggers) as f:
            self.assertRegex(f.read(), r"(?m)^interest(-noawait)? /usr/lib/systemd/catalog$")
        self.assertIn("/usr/lib/systemd/catalog/ashd.catalog", self.paths)

    def test_control(self):
        control = self.control_file("control")
        self.assertEqual(self.field(control, "Version"), changelog_version())
        depends = [d.strip() for d in self.field(control, "Depends").split(",")]
        self.assertIn("media-types", depends)
        self.assertTrue(any(d.startswith("init-system-helpers") for d in depends), depends)
        self.assertTrue(any(d.startswith("libsystemd0") for d in depends), depends)

    def test_build_depends_from_deps_sh(self):
        listed = subprocess.run([src("packaging", "deps.sh"), "list", "build"], capture_output=True, text=True,
                                check=True).stdout.split()
        with open(os.path.join(self.out, f"ashd-{changelog_version()}", "debian", "control")) as f:
            build_depends = [d.strip() for d in self.field(f.read(), "Build-Depends").split(",")]
        self.assertEqual(build_depends[:2], ["debhelper-compat (= 13)", "dh-sequence-installsysusers"])
        self.assertEqual(build_depends[2:], [p for p in listed if p not in BUILD_ESSENTIAL])


if __name__ == "__main__":
    unittest.main()
