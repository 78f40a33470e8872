# SPDX-License-Identifier: MIT
"""make install: programs under PREFIX, systemd's directories from
pkg-config, test-only programs left out, the catalog readable by journalctl."""

import os
import pwd
import re
import subprocess

import ashdtest


def pkg(var):
    return subprocess.run(
        ["pkg-config", f"--variable={var}", "systemd"], capture_output=True, text=True, check=True
    ).stdout.strip()


class InstallTest(ashdtest.TempDirTestCase):
    def install(self, *args):
        dest = os.path.join(self.tmp, "root")
        make_vars = os.environ.get("ASHD_MAKE_VARS", f"BUILD={ashdtest.BUILD}").split()
        proc = subprocess.run(
            ["make", "--no-print-directory", "-C", ashdtest.SRC, "install", f"DESTDIR={dest}", *make_vars, *args],
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return dest

    def test_layout(self):
        dest = self.install("PREFIX=/usr")
        for var, name in [
            ("tmpfilesdir", "ashd.conf"),
            ("sysusersdir", "ashd.conf"),
            ("catalogdir", "ashd.catalog"),
        ]:
            path = dest + pkg(var) + "/" + name
            self.assertTrue(os.path.isfile(path), path)
        for var in ("systemdsystemunitdir", "systemduserunitdir"):
            self.assertTrue(os.path.isdir(dest + pkg(var)), var)
        bindir = os.path.join(dest, "usr/bin")
        # Developer tools stay in the build tree.
        self.assertNotIn("ashd-launch", os.listdir(bindir) if os.path.isdir(bindir) else [])

    def test_prefix_moves_programs_not_systemd_directories(self):
        dest = self.install("PREFIX=/opt/ashd")
        self.assertTrue(os.path.isdir(os.path.join(dest, "opt/ashd/bin")))
        self.assertTrue(os.path.isfile(dest + pkg("catalogdir") + "/ashd.catalog"))

    def test_catalog_entries_are_readable(self):
        dest = self.install("PREFIX=/usr")
        os.makedirs(os.path.join(dest, "var/lib/systemd/catalog"), exist_ok=True)
        subprocess.run(["journalctl", f"--root={dest}", "--update-catalog"], check=True, timeout=60)
        listed = subprocess.run(
            ["journalctl", f"--root={dest}", "--list-catalog"], capture_output=True, text=True, check=True
        ).stdout
        with open(os.path.join(ashdtest.SRC, "src/lib/messages.h")) as f:
            ids = re.findall(r'#define MESSAGE_ID_\w+\s+"([0-9a-f]{32})"', f.read())
        self.assertEqual(len(ids), 4)
        for i in ids:
            self.assertIn(i + " ashd: ", listed)


class DemoTest(ashdtest.TempDirTestCase):
    """The README's demo command starts the whole chain — htparser, patplex,
    dirplex, sendfile, htls, userplex and a user's site — answering over http
    and https (run here on free ports instead of 8080 and 8443)."""

    def test_demo_serves_http_and_https(self):
        import socket as socketlib

        ports = []
        for _ in range(2):
            with socketlib.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
        env = dict(os.environ, BUILD=ashdtest.BUILD, DEMO_ADDR=f"127.0.0.1:{ports[0]}",
                   DEMO_TLS_ADDR=f"127.0.0.1:{ports[1]}")
        proc = subprocess.Popen([os.path.join(ashdtest.SRC, "tests/demo.sh")], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            # htparser's launcher starts last, once the others are bound.
            seen = b""
            while b"[htparser] listen" not in seen:
                line = proc.stdout.readline()
                self.assertTrue(line, f"demo ended early: {seen.decode(errors='replace')}")
                seen += line
            cert = os.path.join(ashdtest.BUILD, "demo", "cert.pem")
            for url, extra, want in (
                (f"http://127.0.0.1:{ports[0]}/", [], b"ashd works"),
                (f"http://127.0.0.1:{ports[0]}/docs/", [], b"notes.txt"),
                (f"http://127.0.0.1:{ports[0]}/~nobody/", [], b"A user's own site"),
                (f"https://localhost:{ports[1]}/about", ["--cacert", cert, "--resolve",
                                                           f"localhost:{ports[1]}:127.0.0.1"], b"About this demo"),
            ):
                out = subprocess.run(["curl", "-sS", "--max-time", "10", *extra, url], capture_output=True,
                                     timeout=20)
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertIn(want, out.stdout)
            # Each program was started by its own launcher; the user's site
            # runs as that user.
            while b"[site] ready " not in seen:
                line = proc.stdout.readline()
                self.assertTrue(line, seen.decode(errors="replace"))
                seen += line
            for name in (b"userplex", b"patplex", b"htparser"):
                self.assertIn(b"[" + name + b"] ready ", seen)
            pid = int(re.search(rb"\[site\] ready (\d+)", seen).group(1))
            self.assertEqual(os.stat(f"/proc/{pid}").st_uid, pwd.getpwnam("nobody").pw_uid)
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=ashdtest.TIMEOUT)
            proc.stdout.close()
        # Stopping it leaves no scratch home behind.
        self.assertFalse(any(n.startswith("ashd-demo-home.") for n in os.listdir("/tmp")))
