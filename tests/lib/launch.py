# SPDX-License-Identifier: MIT
"""Runs a program under ashd-launch (socket activation plus a notify socket,
as systemd would) and follows its event lines:

    with Launcher(["-l", "http=tcp:127.0.0.1:0"], [binary("htparser"), ...]) as launcher:
        launcher.wait_ready()
        sock = launcher.connect("http")
        ...

Event lines (see ashd-launch --help) become Event objects: kind, pid (or
None), the remaining words as args, and the raw line. wait_for() returns
events of one kind in order, each at most once; events() lists what arrived.
Lines on ashd-launch's stdout that are not events (PROGRAM shares that
stdout) are kept as kind "output"."""

import os
import signal
import socket
import subprocess
import threading
import time

import ashdtest

KINDS = {"listen", "waiting", "started", "notify", "ready", "exited", "watchdog", "timeout", "gave-up"}
WITH_PID = {"started", "notify", "ready", "exited", "watchdog", "timeout"}


class LauncherError(AssertionError):
    """An awaited event did not come (a test failure, with the output so far)."""


class Event:
    def __init__(self, line, when):
        self.raw = line
        self.when = when  # time.monotonic() when it was read
        words = line.split(" ")
        self.kind = words[0] if words[0] in KINDS else "output"
        self.pid = None
        self.args = words[1:]
        if self.kind in WITH_PID and self.args and self.args[0].isdigit():
            self.pid = int(self.args[0])
            self.args = self.args[1:]
        if self.kind == "output":
            self.args = [line]
        self.consumed = False

    @property
    def assignment(self):
        """For notify events: the whole "NAME=VALUE" (which may contain spaces)."""
        return self.raw.split(" ", 2)[2] if self.kind == "notify" else None

    @property
    def status(self):
        """For exited events: ("status", N) or ("signal", N)."""
        return (self.args[0], int(self.args[1])) if self.kind == "exited" else None

    def __repr__(self):
        return f"<Event {self.raw!r}>"


class Launcher:
    """ashd-launch ARGS -- PROGRAM_ARGV as a subprocess, with its events."""

    def __init__(self, args, program_argv, env=None, stderr=subprocess.PIPE, start=True, **popen_kwargs):
        self.args = list(args)
        self.argv = [ashdtest.binary("ashd-launch"), *self.args, "--", *program_argv]
        self.env = env
        self.stderr_mode = stderr
        self.popen_kwargs = popen_kwargs
        self.proc = None
        self.addresses = {}  # listen name -> address as reported
        self._events = []
        self._stderr = []
        self._cond = threading.Condition()
        self._eof = False
        self._stderr_eof = stderr != subprocess.PIPE  # nothing to wait for
        self._threads = []
        if start:
            self.start()

    def start(self):
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr_mode,
            env=self.env,
            **self.popen_kwargs,
        )
        self._threads.append(threading.Thread(target=self._read_events, daemon=True))
        if self.proc.stderr is not None:
            self._threads.append(threading.Thread(target=self._read_stderr, daemon=True))
        for t in self._threads:
            t.start()
        return self

    # --- reading ---------------------------------------------------------

    def _read_events(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            event = Event(line, time.monotonic())
            with self._cond:
                if event.kind == "listen" and len(event.args) >= 2:
                    self.addresses[event.args[0]] = event.args[1]
                self._events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _read_stderr(self):
        for raw in self.proc.stderr:
            with self._cond:
                self._stderr.append(raw.decode("utf-8", "replace"))
                self._cond.notify_all()
        with self._cond:
            self._stderr_eof = True
            self._cond.notify_all()

    @property
    def stderr(self):
        """What ashd-launch and PROGRAM wrote to stderr so far (when captured)."""
        with self._cond:
            return "".join(self._stderr)

    def wait_stderr(self, text, timeout=ashdtest.TIMEOUT):
        """Waits until stderr (when captured) contains text. stderr is read
        apart from stdout, so it may lag behind the events."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while text not in "".join(self._stderr):
                left = deadline - time.monotonic()
                if left <= 0 or self._stderr_eof:
                    raise LauncherError(f"{text!r} not on stderr; {self._describe()}")
                self._cond.wait(left)

    def events(self, kind=None):
        with self._cond:
            return [e for e in self._events if kind is None or e.kind == kind]

    def _describe(self):
        lines = "\n".join("  " + e.raw for e in self.events())
        return f"events so far:\n{lines}\nstderr:\n{self.stderr}"

    def wait_for(self, kind, timeout=ashdtest.TIMEOUT, pid=None, match=None):
        """The first event of this kind not returned before (and for this pid,
        and for which match(event) is true, if given); waits up to timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for e in self._events:
                    if e.consumed or e.kind != kind:
                        continue
                    if pid is not None and e.pid != pid:
                        continue
                    if match is not None and not match(e):
                        continue
                    e.consumed = True
                    return e
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    why = "ashd-launch exited" if self._eof else f"no '{kind}' within {timeout} s"
                    raise LauncherError(f"{why}; {self._describe()}")
                self._cond.wait(left)

    def wait_listening(self, timeout=ashdtest.TIMEOUT):
        """Waits until every --listen socket is reported; returns addresses."""
        # "-l SPEC", "--listen SPEC", "-lSPEC" and "--listen=SPEC" each bind one.
        want = sum(1 for a in self.args if a == "--listen" or a.startswith(("--listen=", "-l")))
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.addresses) < want:
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    raise LauncherError(f"sockets not bound; {self._describe()}")
                self._cond.wait(left)
            return dict(self.addresses)

    def wait_started(self, timeout=ashdtest.TIMEOUT):
        return self.wait_for("started", timeout)

    def wait_ready(self, timeout=ashdtest.TIMEOUT):
        return self.wait_for("ready", timeout)

    def wait_exited(self, timeout=ashdtest.TIMEOUT, pid=None):
        return self.wait_for("exited", timeout, pid=pid)

    def wait_notify(self, assignment, timeout=ashdtest.TIMEOUT, pid=None, prefix=False):
        """The next notify event whose assignment is exactly this one, or
        starts with it if prefix is true or it ends in '=' ("STATUS=")."""
        if prefix or assignment.endswith("="):
            match = lambda e: e.assignment.startswith(assignment)  # noqa: E731
        else:
            match = lambda e: e.assignment == assignment  # noqa: E731
        return self.wait_for("notify", timeout, pid=pid, match=match)

    # --- sockets ---------------------------------------------------------

    def address(self, name):
        """(host, port) for a TCP socket, the path for a unix one."""
        a = self.wait_listening()[name]
        if a.startswith("["):
            host, _, port = a[1:].rpartition("]:")
            return host, int(port)
        if ":" in a and not a.startswith("/") and not a.startswith("@"):
            host, _, port = a.rpartition(":")
            return host, int(port)
        return a

    def connect(self, name, type=None, timeout=ashdtest.TIMEOUT):
        """A socket connected to the named listener. Unix sockets are
        SOCK_SEQPACKET unless type says otherwise (stream: sockets need
        type=socket.SOCK_STREAM)."""
        a = self.address(name)
        if isinstance(a, tuple):
            s = socket.create_connection(a, timeout=timeout)
        else:
            s = socket.socket(socket.AF_UNIX, type or socket.SOCK_SEQPACKET)
            s.settimeout(timeout)
            s.connect("\0" + a[1:] if a.startswith("@") else a)
        return s

    # --- ending ----------------------------------------------------------

    @property
    def pid(self):
        return self.proc.pid

    def send_signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout=ashdtest.TIMEOUT):
        """Waits for ashd-launch to exit; returns its status."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise LauncherError(f"ashd-launch still running after {timeout} s; {self._describe()}") from None
        for t in self._threads:
            t.join(timeout)
        return rc

    def stop(self, timeout=ashdtest.TIMEOUT, sig=signal.SIGTERM):
        """SIGTERM (PROGRAM gets SIGTERM too), then its exit status; kills it
        if it takes longer than timeout."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.wait(timeout)
        except LauncherError:
            self.kill()
            raise

    def kill(self):
        """SIGKILL; PROGRAM gets SIGTERM as its parent-death signal."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for t in self._threads:
            t.join(2)

    def close(self):
        """Stops ashd-launch if it still runs. Returns a complaint from a
        sanitizer build found on stderr, if any."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.stop(timeout=5)
            except LauncherError:
                pass
        for t in self._threads:
            t.join(2)
        if any(t.is_alive() for t in self._threads):
            # A program that outlived its launcher (seen once in a while in
            # sanitizer builds, hung in LeakSanitizer at exit) keeps our pipes
            # open: kill its session (ashd-launch made it a leader), or the
            # readers, and closing their streams, would block for ever.
            for e in self.events("started"):
                try:
                    os.killpg(e.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            for t in self._threads:
                t.join(2)
        if not any(t.is_alive() for t in self._threads):
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()
        stderr = self.stderr
        for mark in ("Sanitizer", "runtime error:"):
            if mark in stderr:
                return stderr
        return None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        complaint = self.close()
        if complaint and exc_type is None:
            raise LauncherError(f"sanitizer report from ashd-launch:\n{complaint}")
        return False
