# SPDX-License-Identifier: MIT
"""log.h against a real journald (started by tests/journal/run.sh, whose pid
is in ASHD_JOURNALD_PID): entries are read back with journalctl."""

import json
import os
import re
import select
import signal
import subprocess
import time
import unittest
import uuid

import ashdtest

TIMEOUT = ashdtest.TIMEOUT


def message_ids():
    """{name: id} of the MESSAGE_IDs in src/lib/messages.h."""
    with open(os.path.join(ashdtest.SRC, "src", "lib", "messages.h")) as f:
        return dict(re.findall(r'#define\s+MESSAGE_ID_(\w+)\s+"([0-9a-f]{32})"', f.read()))


def field(entry, name):
    """A field of a journalctl -o json entry as str: journalctl writes
    values that are not printable text as arrays of bytes."""
    value = entry.get(name)
    if isinstance(value, list) and all(isinstance(b, int) for b in value):
        return bytes(value).decode("utf-8", "replace")
    return value


def journal(*matches):
    """Every entry matching all of matches, oldest first, once journald has
    written out everything it received."""
    subprocess.run(["journalctl", "--sync"], check=True, timeout=TIMEOUT)
    out = subprocess.run(["journalctl", "--no-pager", "--all", "-o", "json", *matches],
                         capture_output=True, timeout=TIMEOUT, check=False)
    if out.returncode != 0 and out.stdout.strip():
        raise AssertionError(f"journalctl failed: {out.stderr.decode(errors='replace')}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def probe_env():
    """The environment of a program started by hand: no forced target."""
    env = dict(os.environ)
    for name in ("ASHD_LOG", "ASHD_LOG_LEVEL", "JOURNAL_STREAM"):
        env.pop(name, None)
    return env


def read_line(proc, timeout):
    """One line of proc's stdout, failing after timeout seconds."""
    deadline = time.monotonic() + timeout
    data = b""
    fd = proc.stdout.fileno()
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no line from log-probe within {timeout} s (got {data!r})")
        chunk = os.read(fd, 1)
        if not chunk:
            raise AssertionError(f"log-probe closed stdout (got {data!r})")
        data += chunk
    return data.decode()


class JournalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.journald = int(os.environ["ASHD_JOURNALD_PID"])
        cls.probe = ashdtest.binary("log-probe")

    def tearDown(self):
        # Whatever a test did, journald runs again for the next one.
        os.kill(self.journald, signal.SIGCONT)

    def identifier(self):
        return f"ashd-journal-{uuid.uuid4().hex[:12]}"

    def log(self, identifier, priority, message, *fields):
        """Runs log-probe with stderr a pipe (not a terminal) and no ASHD_LOG;
        returns its pid."""
        proc = subprocess.run([self.probe, identifier, str(priority), message, *fields],
                              capture_output=True, env=probe_env(), timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.decode().splitlines(), ["target journal", "result 0"])
        self.assertEqual(proc.stderr, b"", "nothing falls back to stderr")

    def test_fields(self):
        ident = self.identifier()
        access = message_ids()["ACCESS"]
        self.log(ident, 3, "handler dirplex refused", "HANDLER=dirplex", "SOCKET=/run/ashd/root.sock",
                 f"MESSAGE_ID={access}", "UNTRUSTED=a\x1b[31mb")
        entries = journal(f"SYSLOG_IDENTIFIER={ident}")
        self.assertEqual(len(entries), 1)
        e = entries[0]
        self.assertEqual(field(e, "PRIORITY"), "3")
        self.assertEqual(field(e, "MESSAGE"), "handler dirplex refused")
        self.assertEqual(field(e, "HANDLER"), "dirplex")
        self.assertEqual(field(e, "SOCKET"), "/run/ashd/root.sock")
        self.assertEqual(field(e, "MESSAGE_ID"), access)
        self.assertEqual(field(e, "UNTRUSTED"), "a\x1b[31mb")
        # The native protocol, not stdout or syslog; journald adds _PID itself.
        # (_COMM is not asserted: journald reads it from /proc, and the probe
        # may have exited by then.)
        self.assertEqual(field(e, "_TRANSPORT"), "journal")
        self.assertTrue((field(e, "_PID") or "").isdigit())

    def test_priorities(self):
        ident = self.identifier()
        for priority in range(8):
            self.log(ident, priority, f"priority {priority}")
        got = [(field(e, "PRIORITY"), field(e, "MESSAGE")) for e in journal(f"SYSLOG_IDENTIFIER={ident}")]
        self.assertEqual(got, [(str(p), f"priority {p}") for p in range(8)])
        only_errors = journal(f"SYSLOG_IDENTIFIER={ident}", "PRIORITY=3")
        self.assertEqual([field(e, "MESSAGE") for e in only_errors], ["priority 3"])

    def test_multiline_message(self):
        ident = self.identifier()
        message = "first line\nsecond line\n\tindented third\n"
        self.log(ident, 6, message, "DETAIL=one\ntwo")
        entries = journal(f"SYSLOG_IDENTIFIER={ident}")
        self.assertEqual(len(entries), 1)
        self.assertEqual(field(entries[0], "MESSAGE"), message)
        self.assertEqual(field(entries[0], "DETAIL"), "one\ntwo")

    def test_message_ids(self):
        ident = self.identifier()
        ids = message_ids()
        self.assertGreaterEqual(len(ids), 4)
        for name, message_id in ids.items():
            self.log(ident, 5, f"event {name}", f"MESSAGE_ID={message_id}")
        for name, message_id in ids.items():
            found = journal(f"MESSAGE_ID={message_id}", f"SYSLOG_IDENTIFIER={ident}")
            self.assertEqual([field(e, "MESSAGE") for e in found], [f"event {name}"])

    def test_stalled_journald_drops_and_reports(self):
        ident = self.identifier()
        proc = None
        try:
            os.kill(self.journald, signal.SIGSTOP)
            try:
                proc = subprocess.Popen([self.probe, "--flood", "20000", ident], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=probe_env())
                start = time.monotonic()
                line = read_line(proc, TIMEOUT)
                took = time.monotonic() - start
            finally:
                os.kill(self.journald, signal.SIGCONT)
            m = re.fullmatch(r"sent (\d+) dropped (\d+)\n", line)
            self.assertIsNotNone(m, line)
            sent, dropped = int(m.group(1)), int(m.group(2))
            self.assertGreater(dropped, 0)
            self.assertEqual(sent + dropped, 20000)
            # A stopped journald must not stall the program.
            self.assertLess(took, 5.0)

            # Once journald has emptied its queue there is room again.
            subprocess.run(["journalctl", "--sync"], check=True, timeout=TIMEOUT)
            proc.stdin.write(b"go\n")
            proc.stdin.close()
            self.assertEqual(read_line(proc, TIMEOUT), "final 0\n")
            self.assertEqual(proc.wait(timeout=TIMEOUT), 0)
            self.assertEqual(proc.stderr.read(), b"")
        finally:
            if proc is not None:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                for f in (proc.stdin, proc.stdout, proc.stderr):
                    f.close()

        entries = journal(f"SYSLOG_IDENTIFIER={ident}")
        flood = [e for e in entries if field(e, "FLOOD_SEQ") is not None]
        self.assertEqual(len(flood), sent, "every entry that was sent arrived")
        reports = [i for i, e in enumerate(entries) if field(e, "ASHD_DROPPED") is not None]
        self.assertEqual(len(reports), 1)
        report = entries[reports[0]]
        self.assertEqual(field(report, "ASHD_DROPPED"), str(dropped))
        self.assertEqual(field(report, "MESSAGE"), f"{dropped} log entries were dropped")
        self.assertEqual(field(report, "PRIORITY"), "4")
        # The report comes just before the entry that got through after it.
        self.assertEqual(reports[0], len(entries) - 2)
        self.assertEqual(field(entries[-1], "MESSAGE"), "flood done")


if __name__ == "__main__":
    unittest.main()
