# SPDX-License-Identifier: MIT
"""ashd-launch, the socket-activation launcher every other tier relies on:
each test runs a real program under it and checks what that program saw and
what the launcher reported."""

import grp
import json
import os
import pwd
import signal
import socket
import stat
import subprocess
import sys
import time
import unittest

import ashdtest
from launch import Launcher

# The activated program: describes what it got (fds, environment, ids,
# signal mask) to every connection, speaks sd_notify by hand, and behaves as
# the environment (--setenv) says:
#   SERVE=N          exit with EXIT_CODE (0) after answering N connections
#   TERM_EXIT=N      exit status on SIGTERM (0); SIGINT would exit 99
#   IGNORE_TERM=1    ignore SIGTERM
#   WATCHDOG_PINGS=N send N WATCHDOG=1, WATCHDOG_USEC/4 apart, then STATUS=pings-done
#   FDSTORE=1        send a pipe's write end with FDSTORE=1, report whether it got closed
#   CHILD_NOTIFY=1   a forked child sends STATUS=from-child first
# SIGHUP: RELOADING=1, then READY=1 and STATUS=reloaded.
SERVICE = r"""
import fcntl, json, os, resource, select, signal, socket, sys, time

env = os.environ
pid = os.getpid()
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGABRT must not leave core files


def notify(message, fds=()):
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return
    if address[0] == "@":
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(address)
        if fds:
            socket.send_fds(s, [message.encode()], list(fds))
        else:
            s.send(message.encode())


def open_fds():
    found = []
    for fd in range(3, 1024):
        try:
            os.fstat(fd)
        except OSError:
            continue
        found.append(fd)
    return found


def status_field(name):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1], 16)


fds_at_start = open_fds()
listeners = []
described = []
for fd in range(3, 3 + int(env.get("LISTEN_FDS", "0"))):
    flags = fcntl.fcntl(fd, fcntl.F_GETFD)
    s = socket.socket(fileno=fd)
    described.append({
        "fd": fd,
        "family": int(s.family),
        "type": s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE),
        "listening": s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN),
        "cloexec": bool(flags & fcntl.FD_CLOEXEC),
    })
    s.setblocking(False)
    listeners.append(s)

names = ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
         "FOO", "SPACED", "EMPTY", "USER", "LOGNAME", "HOME")
info = {
    "pid": pid, "sid": os.getsid(0), "uid": os.getuid(), "gid": os.getgid(),
    "groups": sorted(os.getgroups()), "env": {k: env.get(k) for k in names},
    "fds": described, "open_fds": fds_at_start, "stdin": os.readlink("/proc/self/fd/0"),
    "sigblk": status_field("SigBlk"), "served": 0,
}


def on_term(sig, frame):
    notify("STOPPING=1")
    sys.exit(int(env.get("TERM_EXIT", "0")))


def on_hup(sig, frame):
    notify("RELOADING=1")
    notify("READY=1\nSTATUS=reloaded")


signal.signal(signal.SIGTERM, signal.SIG_IGN if env.get("IGNORE_TERM") else on_term)
signal.signal(signal.SIGINT, lambda sig, frame: os._exit(99))
signal.signal(signal.SIGHUP, on_hup)

if env.get("CHILD_NOTIFY"):
    child = os.fork()
    if child == 0:
        notify("STATUS=from-child")
        os._exit(0)
    os.waitpid(child, 0)

if env.get("FDSTORE"):
    r, w = os.pipe()
    notify("FDSTORE=1\nFDNAME=pipe", [w])
    os.close(w)
    readable = select.select([r], [], [], 10)[0]
    notify("STATUS=fdstore-" + ("closed" if readable and os.read(r, 1) == b"" else "kept"))
    os.close(r)

notify("READY=1\nSTATUS=serving")

serve = int(env.get("SERVE", "0"))
pings = int(env.get("WATCHDOG_PINGS", "0"))
interval = int(env.get("WATCHDOG_USEC", "0")) / 4e6
next_ping = time.monotonic() + interval
while True:
    timeout = max(0.0, next_ping - time.monotonic()) if pings > 0 else None
    readable = select.select(listeners, [], [], timeout)[0]
    if pings > 0 and time.monotonic() >= next_ping:
        notify("WATCHDOG=1")
        pings -= 1
        next_ping += interval
        if pings == 0:
            notify("STATUS=pings-done")
    for listener in readable:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            continue
        info["served"] += 1
        conn.setblocking(True)
        conn.sendall((json.dumps(info) + "\n").encode())
        conn.close()
        if serve and info["served"] >= serve:
            sys.exit(int(env.get("EXIT_CODE", "0")))
"""

PROGRAM = [sys.executable, "-c", SERVICE]


def setenv(**env):
    return [f"--setenv={k}={v}" for k, v in env.items()]


def ask(launcher, name, type=None):
    """Connects to a listener and returns the program's description of itself."""
    with launcher.connect(name, type=type) as s:
        if s.type == socket.SOCK_SEQPACKET:
            data = s.recv(65536)
        else:
            data = ashdtest.read_all(s)
    return json.loads(data)


def run_launcher(args, program, timeout=ashdtest.TIMEOUT):
    return subprocess.run(
        [ashdtest.binary("ashd-launch"), *args, "--", *program],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def kinds(launcher):
    return [e.kind for e in launcher.events() if e.kind != "output"]


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class LaunchTest(ashdtest.TempDirTestCase):
    def path(self, name):
        return os.path.join(self.tmp, name)

    def test_fds_in_option_order_with_names(self):
        # An fd the launcher inherits without CLOEXEC must not reach PROGRAM.
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        args = ["-l", "web=tcp:127.0.0.1:0", "-l", f"root=unix:{self.path('root.sock')}",
                "-l", f"plain=stream:{self.path('plain.sock')}"]
        with Launcher(args, PROGRAM, pass_fds=(w,)) as launcher:
            info = ask(launcher, "web")
            started = launcher.wait_started()
            self.assertEqual(info["pid"], started.pid)
            self.assertEqual(info["env"]["LISTEN_PID"], str(info["pid"]))
            self.assertEqual(info["env"]["LISTEN_FDS"], "3")
            self.assertEqual(info["env"]["LISTEN_FDNAMES"], "web:root:plain")
            self.assertEqual(
                [(d["fd"], d["family"], d["type"]) for d in info["fds"]],
                [(3, socket.AF_INET, socket.SOCK_STREAM), (4, socket.AF_UNIX, socket.SOCK_SEQPACKET),
                 (5, socket.AF_UNIX, socket.SOCK_STREAM)])
            self.assertTrue(all(d["listening"] and not d["cloexec"] for d in info["fds"]))
            self.assertEqual(info["open_fds"], [3, 4, 5])
            self.assertEqual(info["stdin"], "/dev/null")
            self.assertEqual(info["sid"], info["pid"])
            self.assertEqual(info["sigblk"], 0)
            # The same program answers on the other two.
            self.assertEqual(ask(launcher, "root")["pid"], info["pid"])
            self.assertEqual(ask(launcher, "plain", type=socket.SOCK_STREAM)["pid"], info["pid"])
            self.assertEqual(launcher.addresses["root"], self.path("root.sock"))
            self.assertEqual(launcher.stop(), 0)

    def test_tcp_port_zero_is_reported(self):
        with Launcher(["-l", "a=tcp:127.0.0.1:0", "-l", "b=tcp:127.0.0.1:0"], PROGRAM) as launcher:
            addresses = launcher.wait_listening()
            for name in ("a", "b"):
                host, port = launcher.address(name)
                self.assertEqual(host, "127.0.0.1")
                self.assertNotEqual(port, 0)
                self.assertEqual(addresses[name], f"127.0.0.1:{port}")
            self.assertNotEqual(launcher.address("a"), launcher.address("b"))
            self.assertEqual(ask(launcher, "b")["env"]["LISTEN_FDNAMES"], "a:b")

    @unittest.skipUnless(ipv6_loopback(), "no IPv6 loopback")
    def test_ipv6(self):
        with Launcher(["--no-notify", "-l", "v6=tcp:[::1]:0"], PROGRAM) as launcher:
            host, port = launcher.address("v6")
            self.assertEqual(launcher.addresses["v6"], f"[::1]:{port}")
            self.assertEqual(ask(launcher, "v6")["fds"][0]["family"], socket.AF_INET6)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give sockets away")
    def test_unix_socket_mode_owner_and_cleanup(self):
        seq, stream = self.path("seq.sock"), self.path("stream.sock")
        # A socket file left behind by an earlier run is replaced.
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as old:
            old.bind(seq)
        nobody = pwd.getpwnam("nobody")
        group = grp.getgrgid(nobody.pw_gid).gr_name
        args = ["--lazy", "--socket-mode", "0660", "--socket-user", "nobody", "--socket-group", group,
                "-l", f"seq=unix:{seq}", "-l", f"stream=stream:{stream}"]
        with Launcher(args, PROGRAM) as launcher:
            launcher.wait_for("waiting")
            for path in (seq, stream):
                st = os.stat(path)
                self.assertTrue(stat.S_ISSOCK(st.st_mode))
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
                self.assertEqual((st.st_uid, st.st_gid), (nobody.pw_uid, nobody.pw_gid))
            # The stale socket's replacement works.
            self.assertEqual(ask(launcher, "seq")["fds"][0]["type"], socket.SOCK_SEQPACKET)
            self.assertEqual(launcher.stop(), 0)
        self.assertFalse(os.path.exists(seq))
        self.assertFalse(os.path.exists(stream))

    def test_default_socket_mode_and_abstract(self):
        path = self.path("s.sock")
        name = f"@ashd-test/{os.getpid()}/{id(self)}"
        with Launcher(["--lazy", "-l", f"s=unix:{path}", "-l", f"a=unix:{name}"], PROGRAM) as launcher:
            launcher.wait_for("waiting")
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o666)
            self.assertEqual(launcher.addresses["a"], name)
            self.assertEqual(ask(launcher, "a")["env"]["LISTEN_FDNAMES"], "s:a")

    def test_refuses_to_replace_a_regular_file(self):
        path = self.path("data")
        with open(path, "w") as f:
            f.write("keep me")
        result = run_launcher(["-l", f"x=unix:{path}"], ["/bin/true"])
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot listen", result.stderr)
        with open(path) as f:
            self.assertEqual(f.read(), "keep me")

    def test_lazy_starts_on_first_connection(self):
        with Launcher(["--lazy", "-l", "a=tcp:127.0.0.1:0"], PROGRAM) as launcher:
            launcher.wait_for("waiting")
            # Nothing started before "waiting", and nothing runs now.
            self.assertEqual(kinds(launcher), ["listen", "waiting"])
            children = f"/proc/{launcher.pid}/task/{launcher.pid}/children"
            if os.path.exists(children):
                with open(children) as f:
                    self.assertEqual(f.read().split(), [])
            info = ask(launcher, "a")
            self.assertEqual(launcher.wait_started().pid, info["pid"])
            self.assertEqual(info["served"], 1)

    def test_restarts_on_next_connection_after_exit(self):
        with Launcher(["-l", "a=tcp:127.0.0.1:0", *setenv(SERVE=1)], PROGRAM) as launcher:
            first = ask(launcher, "a")
            # Connect before or after the first program is gone: either way the
            # connection waits in the backlog and the next program serves it.
            second = ask(launcher, "a")
            self.assertNotEqual(first["pid"], second["pid"])
            self.assertEqual(launcher.wait_exited(pid=first["pid"]).status, ("status", 0))
            self.assertEqual(launcher.wait_started().pid, first["pid"])
            self.assertEqual(launcher.wait_started().pid, second["pid"])
            launcher.wait_exited(pid=second["pid"])
            launcher.wait_for("waiting")
            launcher.wait_for("waiting")
            third = ask(launcher, "a")
            self.assertEqual(launcher.wait_started().pid, third["pid"])
            self.assertEqual(len({first["pid"], second["pid"], third["pid"]}), 3)

    def test_notify_lines_and_ready(self):
        args = ["-l", "a=tcp:127.0.0.1:0", *setenv(FDSTORE=1, CHILD_NOTIFY=1)]
        with Launcher(args, PROGRAM) as launcher:
            pid = launcher.wait_started().pid
            ready = launcher.wait_ready()
            self.assertEqual(ready.pid, pid)
            # FDSTORE=1: the fd is closed at once (no fd store here).
            self.assertEqual(launcher.wait_notify("FDSTORE=1").pid, pid)
            fdstore = launcher.wait_notify("STATUS=fdstore-", prefix=True)
            self.assertEqual(fdstore.assignment, "STATUS=fdstore-closed")
            notify_ready = launcher.wait_notify("READY=1", pid=pid)
            serving = launcher.wait_notify("STATUS=serving", pid=pid)
            # One datagram, two lines; "ready" after both.
            events = launcher.events()
            self.assertLess(events.index(notify_ready), events.index(serving))
            self.assertLess(events.index(serving), events.index(ready))
            # NotifyAccess=main: the forked child's message was dropped, and
            # it was sent before READY=1, so it would have shown by now.
            self.assertEqual([e for e in launcher.events("notify") if e.pid != pid], [])
            launcher.wait_stderr("ignoring notification from pid")
            self.assertRegex(ask(launcher, "a")["env"]["NOTIFY_SOCKET"], r"^@ashd-launch/\d+/[0-9a-f]{16}$")

    def test_notify_access_all(self):
        args = ["--notify-access", "all", "-l", "a=tcp:127.0.0.1:0", *setenv(CHILD_NOTIFY=1)]
        with Launcher(args, PROGRAM) as launcher:
            pid = launcher.wait_started().pid
            child = launcher.wait_notify("STATUS=from-child")
            self.assertNotEqual(child.pid, pid)
            launcher.wait_ready()

    def test_no_notify(self):
        env = dict(os.environ, NOTIFY_SOCKET="@somewhere-else")
        with Launcher(["--no-notify", "-l", "a=tcp:127.0.0.1:0"], PROGRAM, env=env) as launcher:
            launcher.wait_ready()
            self.assertEqual(kinds(launcher), ["listen", "started", "ready"])
            info = ask(launcher, "a")
            self.assertIsNone(info["env"]["NOTIFY_SOCKET"])
            self.assertEqual(launcher.events("notify"), [])

    def test_once_exit_status(self):
        result = run_launcher(["--once", "--no-notify"], ["/bin/sh", "-c", "exit 7"])
        self.assertEqual(result.returncode, 7)
        self.assertRegex(result.stdout, r"(?m)^exited \d+ status 7$")
        result = run_launcher(["--once", "--no-notify"], ["/bin/sh", "-c", "kill -KILL $$"])
        self.assertEqual(result.returncode, 128 + 9)
        self.assertRegex(result.stdout, r"(?m)^exited \d+ signal 9$")
        # Exec failures show as systemd's 203/EXEC.
        result = run_launcher(["--once", "--no-notify"], [self.path("no-such-program")])
        self.assertEqual(result.returncode, 203)
        self.assertIn("cannot execute", result.stderr)

    def test_clean_signal_state_and_listen_pid(self):
        # sh, not python, which ignores SIGPIPE itself; exec so that the pid
        # that reads /proc/self/status is the one LISTEN_PID names.
        script = 'test "$LISTEN_PID" = "$$" || exit 9; exec grep -E "^Sig(Blk|Ign):" /proc/self/status'
        with Launcher(["--once", "--no-notify", "-l", "a=tcp:127.0.0.1:0"], ["/bin/sh", "-c", script]) as launcher:
            self.assertEqual(launcher.wait(), 0)
            masks = dict(e.raw.split(":\t") for e in launcher.events("output"))
            self.assertEqual(int(masks["SigBlk"], 16), 0)
            # Signals 32 and 33 belong to the C library, which refuses to
            # change them (systemd cannot either): a parent that ignored
            # them, as some do, shows through.
            reserved = (1 << 31) | (1 << 32)
            self.assertEqual(int(masks["SigIgn"], 16) & ~reserved, 0)

    def test_sigterm_is_forwarded(self):
        with Launcher(["-l", "a=tcp:127.0.0.1:0"], PROGRAM) as launcher:
            pid = launcher.wait_ready().pid
            self.assertEqual(launcher.stop(), 0)
            launcher.wait_notify("STOPPING=1", pid=pid)
            self.assertEqual(launcher.wait_exited(pid=pid).status, ("status", 0))

    def test_sigint_becomes_sigterm_and_status_is_passed_on(self):
        with Launcher(["-l", "a=tcp:127.0.0.1:0", *setenv(TERM_EXIT=3)], PROGRAM) as launcher:
            launcher.wait_ready()
            # PROGRAM would exit 99 on SIGINT.
            self.assertEqual(launcher.stop(sig=signal.SIGINT), 3)

    def test_stop_timeout_kills(self):
        args = ["--timeout-stop-sec", "0.3", "-l", "a=tcp:127.0.0.1:0", *setenv(IGNORE_TERM=1)]
        with Launcher(args, PROGRAM) as launcher:
            pid = launcher.wait_ready().pid
            self.assertEqual(launcher.stop(), 128 + 9)
            launcher.wait_for("timeout", pid=pid)
            self.assertEqual(launcher.wait_exited().status, ("signal", 9))

    def test_sighup_is_forwarded(self):
        with Launcher(["-l", "a=tcp:127.0.0.1:0"], PROGRAM) as launcher:
            pid = launcher.wait_ready().pid
            launcher.send_signal(signal.SIGHUP)
            launcher.wait_notify("RELOADING=1", pid=pid)
            launcher.wait_notify("STATUS=reloaded", pid=pid)
            # READY=1 after RELOADING=1 is reported as ready again.
            self.assertEqual(launcher.wait_ready().pid, pid)
            self.assertEqual(launcher.events("started")[0].pid, pid)
            self.assertEqual(len(launcher.events("started")), 1)

    def test_watchdog_kills_with_sigabrt(self):
        args = ["--once", "--watchdog-usec", "500000", "-l", "a=tcp:127.0.0.1:0", *setenv(WATCHDOG_PINGS=6)]
        with Launcher(args, PROGRAM) as launcher:
            pid = launcher.wait_ready().pid
            info = ask(launcher, "a")
            self.assertEqual(info["env"]["WATCHDOG_USEC"], "500000")
            self.assertEqual(info["env"]["WATCHDOG_PID"], str(pid))
            done = launcher.wait_notify("STATUS=pings-done", pid=pid)
            watchdog = launcher.wait_for("watchdog", pid=pid)
            # Six pings over 1.5 timeouts kept it alive; silence then killed it.
            events = launcher.events()
            self.assertLess(events.index(done), events.index(watchdog))
            self.assertEqual(len([e for e in launcher.events("notify") if e.assignment == "WATCHDOG=1"]), 6)
            self.assertEqual(launcher.wait_exited(pid=pid).status, ("signal", signal.SIGABRT))
            self.assertEqual(launcher.wait(), 128 + signal.SIGABRT)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to change user")
    def test_user(self):
        nobody = pwd.getpwnam("nobody")
        groups = [g.gr_gid for g in grp.getgrall() if "nobody" in g.gr_mem]
        with Launcher(["-u", "nobody", "-l", "a=tcp:127.0.0.1:0"], PROGRAM) as launcher:
            info = ask(launcher, "a")
            self.assertEqual((info["uid"], info["gid"]), (nobody.pw_uid, nobody.pw_gid))
            self.assertEqual(info["groups"], sorted(set([nobody.pw_gid] + groups)))
            self.assertEqual(info["env"]["USER"], "nobody")
            self.assertEqual(info["env"]["LOGNAME"], "nobody")
            self.assertEqual(info["env"]["HOME"], nobody.pw_dir)
            # The notify socket is reachable for it, too.
            self.assertEqual(launcher.wait_ready().pid, info["pid"])

    def test_start_limit_gives_up(self):
        # /bin/true never accepts: the pending connection restarts it until
        # the limit (5 starts in 10 s) is hit, as systemd's socket unit would.
        with Launcher(["--no-notify", "-l", "a=tcp:127.0.0.1:0"], ["/bin/true"]) as launcher:
            launcher.wait_for("waiting")
            with launcher.connect("a"):
                launcher.wait_for("gave-up")
                self.assertEqual(launcher.wait(), 1)
            self.assertEqual(len(launcher.events("started")), 5)
            self.assertEqual(len(launcher.events("exited")), 5)

    def test_start_limit_options(self):
        args = ["--no-notify", "--start-limit-burst", "2", "--start-limit-interval-sec", "60", "-l",
                "a=tcp:127.0.0.1:0"]
        with Launcher(args, ["/bin/true"]) as launcher:
            with launcher.connect("a"):
                self.assertEqual(launcher.wait(), 1)
            self.assertEqual(len(launcher.events("started")), 2)

    def test_setenv_and_stale_activation_variables(self):
        env = dict(os.environ, LISTEN_FDS="7", LISTEN_PID="1", LISTEN_FDNAMES="x", WATCHDOG_USEC="5",
                   WATCHDOG_PID="1")
        args = ["-l", "a=tcp:127.0.0.1:0", "--setenv", "FOO=bar", "--setenv", "SPACED=a b", "--setenv", "EMPTY="]
        with Launcher(args, PROGRAM, env=env) as launcher:
            got = ask(launcher, "a")["env"]
            self.assertEqual((got["FOO"], got["SPACED"], got["EMPTY"]), ("bar", "a b", ""))
            self.assertEqual((got["LISTEN_FDS"], got["LISTEN_FDNAMES"]), ("1", "a"))
            self.assertNotEqual(got["LISTEN_PID"], "1")
            self.assertIsNone(got["WATCHDOG_USEC"])
            self.assertIsNone(got["WATCHDOG_PID"])
        # --setenv comes last, so a test can hand a program a wrong LISTEN_PID.
        result = run_launcher(["--once", "--no-notify", "-l", "a=tcp:127.0.0.1:0", "--setenv", "LISTEN_PID=1"],
                              ["/bin/sh", "-c", 'test "$LISTEN_PID" = 1'])
        self.assertEqual(result.returncode, 0)

    def test_launcher_killed_takes_program_down(self):
        with Launcher(["-l", "a=tcp:127.0.0.1:0"], PROGRAM) as launcher:
            pid = launcher.wait_ready().pid
            launcher.kill()
            # PR_SET_PDEATHSIG: PROGRAM gets SIGTERM and ends (or is a zombie
            # of whoever adopted it).
            for _ in poll():
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                            break
                except FileNotFoundError:
                    break
            else:
                self.fail(f"program {pid} outlived its launcher")

    def test_bad_arguments(self):
        cases = [
            ["-l", "novalue"],
            ["-l", "a:b=tcp:127.0.0.1:0"],
            ["-l", "a b=tcp:127.0.0.1:0"],
            ["-l", "a=tcp:127.0.0.1"],
            ["-l", "a=tcp:127.0.0.1:65536"],
            ["-l", "a=tcp:localhost:80"],
            ["-l", "a=tcp:[::1:80"],
            ["-l", "a=udp:127.0.0.1:80"],
            ["-l", "a=unix:"],
            ["-l", "a=unix:/" + "x" * 120],
            ["--lazy"],
            ["--watchdog-usec", "0"],
            ["--socket-mode", "999"],
            ["--setenv", "NOEQUALS"],
            ["--notify-access", "some"],
            ["--user", "no-such-user-ashd"],
        ]
        for args in cases:
            with self.subTest(args=args):
                result = run_launcher(args, ["/bin/true"])
                self.assertEqual(result.returncode, 1)
                self.assertIn("ashd-launch:", result.stderr)
                self.assertEqual(result.stdout, "")
        result = subprocess.run([ashdtest.binary("ashd-launch")], capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 1)
        self.assertIn("no PROGRAM", result.stderr)


def poll(step=0.01, timeout=ashdtest.TIMEOUT):
    """Yields until timeout, step apart: for waiting on what sends no event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        yield
        time.sleep(step)


if __name__ == "__main__":
    unittest.main()
