# SPDX-License-Identifier: MIT
"""--idle-exit: a handler with nothing to do exits 0; socket activation brings
it back on the next request, and no request is lost — not even one that
arrives while it is exiting."""

import os
import socket
import threading
import time

import ashdtest
from ashdtest import binary
from httpclient import recv_response
from launch import Launcher

HTPARSER = binary("htparser")
CONFIG = os.path.join(ashdtest.SRC, "etc", "ashd", "dirplex.rc")


class IdleExitTest(ashdtest.TempDirTestCase):
    def start(self, idle):
        site = os.path.join(self.tmp, "site")
        os.mkdir(site)
        with open(os.path.join(site, "index.html"), "w") as f:
            f.write("hello\n")
        path = os.path.join(self.tmp, "root.sock")
        env = [f"--setenv=PATH={ashdtest.BUILD}:/usr/bin:/bin"]
        self.handler = Launcher(["--lazy", "--start-limit-burst", "0", "-l", f"root=unix:{path}", *env],
                                [binary("dirplex"), "--idle-exit", str(idle), "-N", "-c", CONFIG, site])
        self.addCleanup(self.handler.close)
        self.handler.wait_listening()
        front = Launcher(["-l", "http=tcp:127.0.0.1:0"], [HTPARSER, "--root-socket", path])
        self.addCleanup(front.close)
        front.wait_ready()
        self.addr = front.address("http")

    def get(self, s):
        s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        status, _, body, _, _ = recv_response(s)
        return status, body

    def test_exits_when_idle_and_comes_back(self):
        self.start(0.3)
        s = socket.create_connection(self.addr, timeout=ashdtest.TIMEOUT)
        self.addCleanup(s.close)
        for cycle in range(3):
            for _ in range(20):
                self.assertEqual(self.get(s), (200, b"hello\n"))
            exited = self.handler.wait_exited()
            # A clean exit, not a crash: systemd would not count a failure.
            self.assertEqual(exited.status, ("status", 0))
        self.assertGreaterEqual(len(self.handler.events("started")), 3)

    def test_no_request_lost_around_the_exit(self):
        # Requests paced near the idle time, so that many arrive while the
        # handler decides to exit or is draining.
        self.start(0.05)
        failures, statuses = [], []

        def load():
            s = socket.create_connection(self.addr, timeout=ashdtest.TIMEOUT)
            try:
                for i in range(80):
                    try:
                        statuses.append(self.get(s)[0])
                    except OSError as e:
                        failures.append(repr(e))
                        s.close()
                        s = socket.create_connection(self.addr, timeout=ashdtest.TIMEOUT)
                    time.sleep(0.04 + 0.02 * (i % 3))  # the load's shape, not synchronisation
            finally:
                s.close()

        t = threading.Thread(target=load)
        t.start()
        t.join(60)
        self.assertFalse(t.is_alive())
        self.assertEqual(failures, [])
        self.assertEqual(statuses, [200] * 80)
        self.assertGreater(len(self.handler.events("exited")), 0, "the handler never went idle")
        self.assertTrue(all(e.status == ("status", 0) for e in self.handler.events("exited")))
