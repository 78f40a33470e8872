# SPDX-License-Identifier: MIT
"""A Debian system booted with systemd-nspawn, with ashd installed by
`make install`, driven from the host with nsenter (this machine's PID 1 is
not systemd; see shared/notes/testing-with-systemd.md). The container has a
private network, so its port 80 is its own; clients run in its network
namespace."""

import os
import shutil
import signal
import subprocess
import time

SRC = os.environ.get("ASHD_SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("ASHD_BUILD", os.path.join(SRC, "build"))
NAME = "ashd-system-test"
USERS = {"alice": 1000, "bob": 1001, "mallory": 1002}
CGROUP_ROOTS = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd")


def sh(*cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(list(cmd), **kw)


class Container:
    """One booted system; NAME keeps two of them (and their trees and
    cgroups) apart."""

    def __init__(self, base, name=NAME):
        self.base = base
        self.name = name
        self.root = os.path.join(BUILD, "system", name)
        self.console = os.path.join(BUILD, "system", f"{name}.console.log")
        self.cgroups = [os.path.join(r, name) for r in CGROUP_ROOTS if os.path.isdir(r)]
        self.nspawn = None
        self.leader = None

    # --- the tree -------------------------------------------------------
    def copy_base(self):
        shutil.rmtree(self.root, ignore_errors=True)
        sh("cp", "-a", "--reflink=auto", self.base, self.root, check=True)

    def prepare(self):
        """The base tree with `make install` and the test users' sites."""
        self.copy_base()
        make_vars = os.environ.get("ASHD_MAKE_VARS", f"BUILD={BUILD}").split()
        out = sh("make", "--no-print-directory", "-C", SRC, "install", f"DESTDIR={self.root}", "PREFIX=/usr",
                 *make_vars, timeout=600)
        assert out.returncode == 0, out.stdout + out.stderr
        for user, uid in USERS.items():
            self.chroot("useradd", "-m", "-u", str(uid), "-s", "/bin/bash", user)
            if user != "mallory":
                self.write(f"/home/{user}/public_html/index.html", f"<p>{user}'s own page</p>\n", owner=uid)
        self.write("/var/www/html/index.html", "<p>the system site</p>\n")
        self.write("/var/www/html/other.html", "<p>another page</p>\n")
        # A persistent journal, split per user: users read their own.
        os.makedirs(os.path.join(self.root, "var/log/journal"), exist_ok=True)

    def chroot(self, *cmd):
        out = sh("chroot", self.root, *cmd)
        assert out.returncode == 0, f"{cmd}: {out.stdout}{out.stderr}"
        return out.stdout

    def write(self, path, text, owner=None):
        full = self.root + path
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        if owner is not None:
            d = full
            while d != self.root + "/home":
                os.chown(d, owner, owner)
                d = os.path.dirname(d)
        os.chmod(os.path.dirname(full), 0o755)

    # --- boot and power off -----------------------------------------------
    def boot(self):
        for cg in self.cgroups:
            if os.path.isdir(cg):
                self.remove_cgroup(cg)
            os.makedirs(cg, exist_ok=True)

        def enter_cgroup():
            for cg in self.cgroups:
                with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))

        console = open(self.console, "w")
        self.nspawn = subprocess.Popen(
            ["systemd-nspawn", "-q", "-b", "-D", self.root, "-M", self.name, "--register=no", "--keep-unit",
             "--private-network", "--console=read-only"],
            stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT, preexec_fn=enter_cgroup)
        console.close()
        deadline = time.monotonic() + 60
        while self.leader is None:
            assert self.nspawn.poll() is None, self.console_tail()
            assert time.monotonic() < deadline, "no container leader"
            children = open(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children").read().split()
            if children:
                self.leader = int(children[0])
            else:
                time.sleep(0.05)
        # The manager answers once its bus is up; then wait for boot's end.
        while self.run("systemctl", "is-system-running", "--wait", timeout=60).stdout.strip() not in (
                "running", "degraded"):
            assert self.nspawn.poll() is None, self.console_tail()
            assert time.monotonic() < deadline, self.console_tail()
            time.sleep(0.1)

    def console_tail(self):
        try:
            with open(self.console) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def poweroff(self):
        if self.nspawn and self.nspawn.poll() is None:
            self.run("systemctl", "poweroff", "--no-block")
            try:
                self.nspawn.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.nspawn.send_signal(signal.SIGKILL)
                self.nspawn.wait(timeout=30)
        for cg in self.cgroups:
            self.remove_cgroup(cg)
        shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def remove_cgroup(cg):
        # Leaves first; a cgroup with processes in it cannot go.
        for d, subdirs, _ in os.walk(cg, topdown=False):
            for s in subdirs:
                try:
                    os.rmdir(os.path.join(d, s))
                except OSError:
                    pass
        try:
            os.rmdir(cg)
        except OSError:
            pass

    # --- driving it ---------------------------------------------------------
    def run(self, *cmd, user=None, timeout=120, check=False, input=None):
        """CMD in every namespace of the container, as root or as USER with
        what a login session would give that user's systemctl."""
        if user:
            uid = USERS[user]
            cmd = ("runuser", "-u", user, "--", "env", f"XDG_RUNTIME_DIR=/run/user/{uid}",
                   f"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/{uid}/bus", *cmd)
        out = sh("nsenter", "-t", str(self.leader), "-a", *cmd, timeout=timeout, input=input)
        if check:
            assert out.returncode == 0, f"{cmd}: exit {out.returncode}\n{out.stdout}{out.stderr}"
        return out

    def net(self, *cmd, **kw):
        """CMD from the host, in the container's network namespace only."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 120)
        return subprocess.run(["nsenter", "-t", str(self.leader), "-n", *cmd], **kw)

    def curl(self, path, *args):
        """(status, body) of http://127.0.0.1PATH inside the container."""
        out = self.net("curl", "-sS", "--max-time", "20", "-o", "/dev/stdout", "-w", "\n%{http_code}", *args,
                       f"http://127.0.0.1{path}")
        body, _, status = out.stdout.rpartition("\n")
        return int(status or 0), body

    def load(self, path, rate, seconds):
        return subprocess.Popen(
            ["nsenter", "-t", str(self.leader), "-n", "python3", os.path.join(SRC, "tests/system/load.py"),
             "127.0.0.1", "80", path, str(rate), str(seconds)],
            stdout=subprocess.PIPE, text=True)

    def show(self, unit, prop, user=None):
        args = ("systemctl", "--user") if user else ("systemctl",)
        return self.run(*args, "show", "-P", prop, unit, user=user, check=True).stdout.strip()

    def wait_for(self, what, predicate, seconds=60):
        """Polls PREDICATE (a state of the system, not a timer) until it holds."""
        deadline = time.monotonic() + seconds
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)
