# SPDX-License-Identifier: MIT
"""System calls per request, counted with strace, for each program of the
static-file chain as the benchmark runs it (htparser → root socket →
patplex → dirplex → sendfile): a budget per program that a change must not
exceed unnoticed. Counts, not times: they are the same on a busy machine.
The request is the benchmark's: a 1 KiB file, one keep-alive connection,
requests one after another (so every wake-up is paid by one request, the
worst case; under load they are shared)."""

import os
import re
import shutil
import socket
import subprocess
import sys
import unittest

import ashdtest
from ashdtest import binary
from httpclient import recv_response
from launch import Launcher

CONFIG = os.path.join(ashdtest.SRC, "etc", "ashd", "dirplex.rc")
REQUESTS = 200

# Measured 2026-12-02 (see bench/RESULTS.md), plus room for a timer or
# two. What they are made of is in the failure message.
BUDGET = {
    "htparser": 18.5,  # 13 for the request, 6 for two wake-ups (sd-event + its own epoll set)
    "patplex": 6.5,  # 3 for the request, 3 for a wake-up (epoll_wait, gettid, recvmsg until EAGAIN)
    "dirplex": 9.5,  # was 10 for the request alone before the root and .htrc were kept
    "sendfile": 9.5,  # was 9 for the request alone before the sibling cache
}


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            out.append(int(d))
    return out


def parse_strace_c(path):
    calls = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
    return calls


@unittest.skipIf(os.environ.get("ASHD_SANITIZE") == "1", "budgets are for the optimised build")
@unittest.skipUnless(shutil.which("strace"), "strace is not installed")
class SyscallBudgetTest(ashdtest.TempDirTestCase):
    def setUp(self):
        super().setUp()
        site = os.path.join(self.tmp, "site")
        os.makedirs(site)
        with open(os.path.join(site, "1k.bin"), "wb") as f:
            f.write(os.urandom(1024))
        sock = os.path.join(self.tmp, "root.sock")
        conf = os.path.join(self.tmp, "root.conf")
        with open(conf, "w") as f:
            f.write(f"child dirplex\n    exec dirplex -N -c {CONFIG} {site}\nmatch\n    default\n    handler dirplex\n")
        env = dict(os.environ, PATH=f"{ashdtest.BUILD}:{os.environ.get('PATH', '/usr/bin:/bin')}")
        patplex = Launcher(["-l", f"root=unix:{sock}"], [binary("patplex"), "-N", conf], env=env)
        self.addCleanup(patplex.close)
        self.pids = {"patplex": patplex.wait_ready().pid}
        htparser = Launcher(
            ["-l", "http=tcp:127.0.0.1:0"], [binary("htparser"), f"--root-socket={sock}", "--access-log=off"], env=env
        )
        self.addCleanup(htparser.close)
        self.pids["htparser"] = htparser.wait_ready().pid
        self.conn = socket.create_connection(htparser.address("http"), timeout=ashdtest.TIMEOUT)
        self.addCleanup(self.conn.close)
        # The first requests start dirplex and sendfile and fill caches.
        for _ in range(5):
            self.get()
        (self.pids["dirplex"],) = children(self.pids["patplex"])
        (self.pids["sendfile"],) = [p for p in children(self.pids["dirplex"]) if self.comm(p) == "sendfile"]

    @staticmethod
    def comm(pid):
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()

    def get(self):
        self.conn.sendall(b"GET /1k.bin HTTP/1.1\r\nHost: h\r\n\r\n")
        status, _, body, _, rest = recv_response(self.conn)
        self.assertEqual((status, len(body), rest), (200, 1024, b""))

    def test_budget_per_program(self):
        tracers = {}
        for name, pid in self.pids.items():
            out = os.path.join(self.tmp, f"strace.{name}")
            p = subprocess.Popen(
                ["strace", "-c", "-o", out, "-p", str(pid)], stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
            )
            self.addCleanup(p.kill)
            # strace says "Process N attached" once it is.
            line = p.stderr.readline().decode()
            self.assertIn("attached", line)
            tracers[name] = (p, out)
        for _ in range(REQUESTS):
            self.get()
        report, over = [], []
        for name, (p, out) in tracers.items():
            p.send_signal(2)
            p.wait(timeout=ashdtest.TIMEOUT)
            calls = parse_strace_c(out)
            per = sum(calls.values()) / REQUESTS
            top = ", ".join(f"{k} {v / REQUESTS:.2f}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1]))
            report.append(f"{name}: {per:.2f} per request ({top})")
            if per > BUDGET[name]:
                over.append(name)
        sys.stderr.write("".join(f"\n  {line}" for line in report) + "\n")
        self.assertFalse(over, "over budget: " + "; ".join(report))
        # Each program did serve them: nobody is at zero.
        self.assertNotIn("0.00 per request", " ".join(report), "; ".join(report))
