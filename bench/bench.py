#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make bench: ashd's production-shaped chain side by side with nginx.

Three servers on 127.0.0.1, all serving the same document root:

  A  ashd-launch ─ htparser ─(root.sock)─ ashd-launch ─ patplex (root.conf)
        ─ child dirplex -N -c etc/ashd/dirplex.rc ─ child sendfile (persistent)
     with htparser's access log in the journal (bench/run.sh starts a private
     journald in a mount namespace, so /run/systemd/journal/socket is ours,
     and a network namespace with net.unix.max_dgram_qlen=512 as systemd
     sets it); htparser --max-connections is raised for the idle scenario;
  B  the same chain with htparser --access-log=off;
  C  nginx from Debian: one worker, access_log off, sendfile on, config and
     pid/log/temp paths in the scratch folder, run by hand with -c and -p.

wrk runs against them in alternation (A B C, A B C, ...) after one warm-up
run each that is not counted. Every run is checked: wrk's non-2xx count and
socket errors must be zero and the bytes read must fit the number of
responses, or the run counts as failed and is shown as such.

Server CPU is utime+stime (+ reaped children) from /proc/PID/stat of every
process of a server (the launchers' children and grandchildren; nginx's
master and worker), sampled right before and right after each run, so wrk's
own CPU is never counted. Peak RSS is VmHWM, reset through clear_refs
before each run. By default the servers (and journald) are pinned to CPU 0
and wrk plus this driver to CPU 1, so the load generator takes no CPU
from the server under test.

Environment: BUILD (build folder), BENCH_QUICK=1 (one short round of fewer
scenarios), BENCH_SECONDS, BENCH_ROUNDS, BENCH_WARMUP (seconds),
BENCH_SCENARIOS (comma list of scenario keys), BENCH_IDLE_CONNS,
BENCH_SERVER_CPUS / BENCH_CLIENT_CPUS (e.g. "0" and "1"; "" turns pinning
off), BENCH_PROFILE=1 (also count syscalls per request with strace),
BENCH_JOURNALD_PID (set by run.sh).

Writes $BUILD/bench/results.md and results.json; exits 1 if any run failed.
"""

import datetime
import hashlib
import http.client
import json
import os
import resource
import select
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import threading
import time

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.abspath(os.environ.get("BUILD") or os.path.join(SRC, "build"))
os.environ["ASHD_BUILD"] = BUILD
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))

from launch import Launcher, LauncherError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(BUILD, "bench")
SCRATCH = os.path.join(OUT, "run")
DOCROOT = os.path.join(OUT, "www")
LUA = os.path.join(HERE, "report.lua")
CLK_TCK = os.sysconf("SC_CLK_TCK")
MB = 1e6

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
SECONDS = float(os.environ.get("BENCH_SECONDS") or (1 if QUICK else 5))
ROUNDS = int(os.environ.get("BENCH_ROUNDS") or (1 if QUICK else 3))
WARMUP = float(os.environ.get("BENCH_WARMUP") or (0.5 if QUICK else 1))
IDLE_CONNS = int(os.environ.get("BENCH_IDLE_CONNS") or (1000 if QUICK else 10000))
PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
PROFILE_SECONDS = 3

# The document root: one file per body size, random bytes (nothing to
# compress, no precompressed siblings).
FILES = {"/1k.bin": 1024, "/1m.bin": 1 << 20, "/100m.bin": 100 << 20}


class Scenario:
    def __init__(self, key, title, path, conns, unit="req", headers=(), tls=False, free=False):
        self.key, self.title, self.path, self.conns = key, title, path, conns
        self.unit, self.headers, self.tls = unit, list(headers), tls
        # free: no CPU pinning for this run (servers, journald and wrk go
        # where the kernel puts them), as a machine runs them in service.
        self.free = free

    @property
    def body(self):
        return FILES[self.path]


SCENARIOS = [
    Scenario("ka", "1 KiB, keep-alive, 50 conns", "/1k.bin", 50),
    # nginx's one worker can use one core; ashd's chain is four processes
    # and may use both: the rate of the machine as a whole, next to "ka"
    # (one core for the servers) which measures the cost per request.
    Scenario("ka-free", "1 KiB, keep-alive, 50 conns, no pinning", "/1k.bin", 50, free=True),
    Scenario("c1000", "1 KiB, keep-alive, 1000 conns", "/1k.bin", 1000),
    Scenario("close", "1 KiB, Connection: close, 50 conns", "/1k.bin", 50, headers=["Connection: close"]),
    Scenario("1m", "1 MiB, keep-alive, 10 conns", "/1m.bin", 10, unit="MB"),
    Scenario("100m", "100 MiB, keep-alive, 2 conns", "/100m.bin", 2, unit="MB"),
    Scenario("tls", "1 KiB over TLS, keep-alive, 50 conns", "/1k.bin", 50, tls=True),
]
QUICK_SCENARIOS = ["ka", "ka-free", "close", "1m", "tls"]


def cpus(name, default):
    v = os.environ.get(name)
    if v is None:
        return default
    return {int(c) for c in v.replace(",", " ").split()} or None


if os.cpu_count() and os.cpu_count() >= 2:
    SERVER_CPUS = cpus("BENCH_SERVER_CPUS", {0})
    CLIENT_CPUS = cpus("BENCH_CLIENT_CPUS", set(range(1, os.cpu_count())))
else:
    SERVER_CPUS = cpus("BENCH_SERVER_CPUS", None)
    CLIENT_CPUS = cpus("BENCH_CLIENT_CPUS", None)


def pin_server():
    if SERVER_CPUS:
        os.sched_setaffinity(0, SERVER_CPUS)


def pin_client():
    if CLIENT_CPUS:
        os.sched_setaffinity(0, CLIENT_CPUS)


def unpin_client():
    os.sched_setaffinity(0, range(os.cpu_count()))


def set_server_affinity(target, journal, cpus):
    """Moves every process of target (and journald) to cpus."""
    pids = list(target.members()) + list(target.roots())
    if journal and journal.pid:
        pids.append(int(journal.pid))
    for pid in pids:
        try:
            os.sched_setaffinity(pid, cpus)
        except OSError:
            pass  # gone meanwhile


def log(msg):
    print(msg, flush=True)


# --- /proc ------------------------------------------------------------------


def read_stat(pid):
    """(comm, ppid, cpu ticks: utime+stime+cutime+cstime) or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index("(") + 1 : s.rindex(")")]
    f = s[s.rindex(")") + 2 :].split()
    return comm, int(f[1]), int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])


def process_table():
    table = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = read_stat(int(d))
            if st:
                table[int(d)] = st
    return table


def cpu_times(cpus):
    """(idle, steal) clock ticks summed over these CPUs (all if None)."""
    idle = steal = 0
    with open("/proc/stat") as f:
        for line in f:
            w = line.split()
            if not w[0].startswith("cpu") or w[0] == "cpu":
                continue
            if cpus is None or int(w[0][3:]) in cpus:
                idle += int(w[4]) + int(w[5])
                steal += int(w[8])
    return idle, steal


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_quiet(targets, journal=None, limit=30.0):
    """Waits until no process of targets (nor journald) uses CPU: two
    windows of 0.1 s in a row with at most one clock tick between them all.
    Returns the seconds waited, or None if they were still busy at limit."""
    t0 = time.monotonic()
    quiet = 0
    prev = sum(t.cpu()[0] for t in targets) + (journal.cpu() if journal else 0)
    while quiet < 2:
        if time.monotonic() - t0 > limit:
            return None
        time.sleep(0.1)
        cur = sum(t.cpu()[0] for t in targets) + (journal.cpu() if journal else 0)
        quiet = quiet + 1 if cur - prev <= 1 else 0
        prev = cur
    return time.monotonic() - t0


# --- the servers ------------------------------------------------------------


class Target:
    key = label = None

    def members(self, table=None):
        """{pid: (name, cpu ticks)} of every process of this server."""
        table = table or process_table()
        children = {}
        for pid, (_, ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        out = {}
        todo = []
        for root in self.roots():
            if self.count_roots and root in table:
                out[root] = table[root]
            todo += children.get(root, [])
        while todo:
            pid = todo.pop()
            if pid in table and pid not in out:
                out[pid] = table[pid]
                todo += children.get(pid, [])
        return {pid: (self.name_of(pid, st[0]), st[2]) for pid, st in out.items()}

    def name_of(self, pid, comm):
        return comm

    def cpu(self):
        """(total ticks, {process name: ticks})."""
        per = {}
        for _, (name, ticks) in self.members().items():
            per[name] = per.get(name, 0) + ticks
        return sum(per.values()), per

    def reset_hwm(self):
        for pid in self.members():
            try:
                with open(f"/proc/{pid}/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                pass

    def memory(self, field):
        """{process name: kB}, summed over processes of the same name."""
        per = {}
        for pid, (name, _) in self.members().items():
            per[name] = per.get(name, 0) + status_kb(pid, field)
        return per

    def url(self, path, tls=False):
        host, port = self.https if tls else self.http
        return f"{'https' if tls else 'http'}://{host}:{port}{path}"


class AshdChain(Target):
    count_roots = False  # the launchers stand in for systemd: not counted

    def __init__(self, key, label, access_log, cert, key_file, max_conns, generation=1):
        self.key, self.label = key, label
        self.dir = os.path.join(SCRATCH, f"{key}{generation}")
        os.makedirs(self.dir)
        sock = os.path.join(self.dir, "root.sock")
        with open(os.path.join(SRC, "etc", "ashd", "root.conf")) as f:
            conf = f.read()
        # As tests/demo.sh does: system paths moved under the scratch folder,
        # root.conf's shape (dirplex as patplex's child) kept.
        conf = conf.replace("/run/ashd/", self.dir + "/")
        old = "exec dirplex /var/www/html"
        assert old in conf, "etc/ashd/root.conf changed shape"
        conf = conf.replace(old, f"exec dirplex -N -c {SRC}/etc/ashd/dirplex.rc {DOCROOT}")
        with open(os.path.join(self.dir, "root.conf"), "w") as f:
            f.write(conf)
        env = dict(os.environ, PATH=BUILD + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
        self.logs = []

        def launcher(name, args, argv):
            logf = open(os.path.join(self.dir, name + ".log"), "wb")
            self.logs.append(logf)
            return Launcher(args, argv, env=env, stderr=logf, preexec_fn=pin_server)

        self.patplex = launcher(
            "patplex", ["-l", f"root=unix:{sock}"], ["patplex", "-N", os.path.join(self.dir, "root.conf")]
        )
        self.patplex.wait_ready()
        args = [
            "htparser",
            f"--root-socket={sock}",
            f"--tls-cert={cert}",
            f"--tls-key={key_file}",
            f"--max-connections={max_conns}",
        ]
        if not access_log:
            args.append("--access-log=off")
        self.htparser = launcher("htparser", ["-l", "http=tcp:127.0.0.1:0", "-l", "https=tcp:127.0.0.1:0"], args)
        ready = self.htparser.wait_ready()
        self.htparser_pid = ready.pid
        self.http = self.htparser.address("http")
        self.https = self.htparser.address("https")
        self.argv = args
        self.max_conns = max_conns

    def roots(self):
        return [self.patplex.pid, self.htparser.pid]

    def stop(self):
        for lch in (self.htparser, self.patplex):
            try:
                lch.close()
            except Exception as e:  # noqa: BLE001
                log(f"{self.key}: stopping: {e}")
        for f in self.logs:
            f.close()

    def stderr_tail(self):
        out = []
        for name in ("htparser", "patplex"):
            try:
                with open(os.path.join(self.dir, name + ".log"), errors="replace") as f:
                    lines = f.read().splitlines()[-5:]
            except OSError:
                lines = []
            out += [f"{name}: {line}" for line in lines]
        return "\n".join(out)


NGINX_CONF = """\
# Written by bench/bench.py; run as nginx -p {dir}/ -c {dir}/nginx.conf
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile {nofile};
user root;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections {worker_connections};
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    # As htparser: keep-alive connections are not closed after N requests.
    keepalive_requests 1000000000;
    keepalive_timeout 60s;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    # As htparser, which asks OpenSSL for kernel TLS (used where the kernel has it).
    ssl_conf_command Options KTLS;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        listen 127.0.0.1:{tls_port} ssl backlog=4096;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {root};
        index index.html;
    }}
}}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Nginx(Target):
    key, label = "C", "nginx"
    count_roots = True

    def __init__(self, cert, key_file, nofile, generation=1):
        self.dir = os.path.join(SCRATCH, f"nginx{generation}")
        os.makedirs(os.path.join(self.dir, "tmp"))
        self.http = ("127.0.0.1", free_port())
        self.https = ("127.0.0.1", free_port())
        conf = NGINX_CONF.format(
            dir=self.dir,
            nofile=nofile,
            worker_connections=max(1024, nofile - 100),
            port=self.http[1],
            tls_port=self.https[1],
            cert=cert,
            key=key_file,
            root=DOCROOT,
        )
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.errlog = os.path.join(self.dir, "error.log")
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.dir + "/", "-c", self.conf, "-e", self.errlog],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "stderr.log"), "wb"),
            preexec_fn=pin_server,
        )
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.stderr_tail()}")
            try:
                socket.create_connection(self.http, timeout=1).close()
                socket.create_connection(self.https, timeout=1).close()
                if len(self.members()) >= 2:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not start within 10 s:\n" + self.stderr_tail())
            time.sleep(0.05)

    def roots(self):
        return [self.proc.pid]

    def name_of(self, pid, comm):
        return "nginx master" if pid == self.proc.pid else "nginx worker"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stderr_tail(self):
        out = []
        for name in ("stderr.log", "error.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out += f.read().splitlines()[-5:]
            except OSError:
                pass
        return "\n".join(out)


# --- journald (target A's access log) ----------------------------------------

ACCESS_ID = "31faa4eb3b7b425297f6081c801eee05"


class Journal:
    """The private journald that bench/run.sh started, if any."""

    def __init__(self):
        pid = os.environ.get("BENCH_JOURNALD_PID")
        self.pid = int(pid) if pid and pid.isdigit() else None

    def cpu(self):
        if self.pid is None:
            return 0
        st = read_stat(self.pid)
        return st[2] if st else 0

    def cursor(self):
        r = subprocess.run(
            ["journalctl", "-q", "-n", "1", "-o", "cat", "--show-cursor"],
            capture_output=True,
            text=True,
        )
        for line in r.stdout.splitlines():
            if line.startswith("-- cursor: "):
                return line[len("-- cursor: ") :]
        return None

    def count(self, cursor, pid):
        """(access entries, entries reported dropped) from pid after cursor."""
        base = ["journalctl", "-q", f"_PID={pid}"]
        if cursor:
            base.append(f"--after-cursor={cursor}")
        r = subprocess.run(base + [f"MESSAGE_ID={ACCESS_ID}", "-o", "cat"], capture_output=True)
        entries = r.stdout.count(b"\n")
        r = subprocess.run(base + ["-o", "json", "--output-fields=ASHD_DROPPED"], capture_output=True, text=True)
        dropped = 0
        for line in r.stdout.splitlines():
            try:
                dropped += int(json.loads(line).get("ASHD_DROPPED", 0))
            except (ValueError, TypeError):
                pass
        return entries, dropped


# --- checks -------------------------------------------------------------------


def make_docroot():
    os.makedirs(DOCROOT, exist_ok=True)
    digests = {}
    for path, size in FILES.items():
        fn = os.path.join(DOCROOT, path.lstrip("/"))
        if not os.path.exists(fn) or os.path.getsize(fn) != size:
            with open(fn + ".tmp", "wb") as f:
                f.write(os.urandom(size))
            os.rename(fn + ".tmp", fn)
        with open(fn, "rb") as f:
            digests[path] = hashlib.sha256(f.read()).hexdigest()
    return digests


def make_cert():
    cert, key = os.path.join(OUT, "cert.pem"), os.path.join(OUT, "key.pem")
    if not (os.path.exists(cert) and os.path.exists(key)):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-days", "3650", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
            check=True,
            capture_output=True,
        )
    return cert, key


def precheck(target, digests, cert):
    """Every file, plain and TLS: 200, Content-Length, the very bytes."""
    problems = []
    ctx = ssl.create_default_context(cafile=cert)
    for tls in (False, True):
        host, port = target.https if tls else target.http
        for path, size in FILES.items():
            if tls:
                c = http.client.HTTPSConnection(host, port, timeout=30, context=ctx)
            else:
                c = http.client.HTTPConnection(host, port, timeout=30)
            try:
                c.request("GET", path)
                r = c.getresponse()
                body = r.read()
                if r.status != 200:
                    problems.append(f"{path}{' (TLS)' if tls else ''}: status {r.status}")
                elif r.getheader("Content-Length") != str(size):
                    problems.append(f"{path}: Content-Length {r.getheader('Content-Length')}, want {size}")
                elif hashlib.sha256(body).hexdigest() != digests[path]:
                    problems.append(f"{path}: {len(body)} bytes that differ from the file")
            except (OSError, http.client.HTTPException) as e:
                problems.append(f"{path}{' (TLS)' if tls else ''}: {e!r}")
            finally:
                c.close()
    return problems


# --- one wrk run --------------------------------------------------------------


def run_wrk(target, sc, seconds, journal=None):
    url = target.url(sc.path, sc.tls)
    threads = min(2, sc.conns)
    cmd = ["wrk", f"-t{threads}", f"-c{sc.conns}", f"-d{seconds:g}s", "--latency", "--timeout", "10s", "-s", LUA]
    for h in sc.headers:
        cmd += ["-H", h]
    cmd.append(url)

    server_cpus = SERVER_CPUS
    if sc.free and SERVER_CPUS:
        server_cpus = None
        set_server_affinity(target, Journal() if journal is None else journal, range(os.cpu_count()))
    target.reset_hwm()
    j0 = journal.cpu() if journal else 0
    c0, per0 = target.cpu()
    i0, s0 = cpu_times(server_cpus)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         preexec_fn=unpin_client if sc.free else pin_client)
    killer = threading.Timer(seconds + 60, p.kill)
    killer.start()
    out = p.stdout.read().decode("utf-8", "replace")
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    killer.cancel()
    run_wall = time.monotonic() - t0
    i1, s1 = cpu_times(server_cpus)
    # The work a run leaves behind (closing its connections, journald
    # catching up) is the run's too: sampled once the server is quiet again.
    settle = wait_quiet([target], journal)
    if server_cpus is not SERVER_CPUS:
        set_server_affinity(target, Journal() if journal is None else journal, SERVER_CPUS)
    wall = time.monotonic() - t0
    c1, per1 = target.cpu()
    j1 = journal.cpu() if journal else 0
    hwm = target.memory("VmHWM")

    run = {"target": target.key, "scenario": sc.key, "ok": False, "why": [], "wall": wall, "run_wall": run_wall,
           "settle": settle}
    res = None
    for line in out.splitlines():
        if line.startswith("BENCH-RESULT "):
            res = json.loads(line[len("BENCH-RESULT ") :])
    if p.returncode != 0 or res is None:
        run["why"].append(f"wrk exited {p.returncode}: {out.strip()[-300:]}")
        return run
    dur = res["duration_us"] / 1e6
    reqs, nbytes = res["requests"], res["bytes"]
    run.update(
        requests=reqs,
        bytes=nbytes,
        duration=dur,
        req_s=reqs / dur,
        mb_s=nbytes / dur / MB,
        p50_ms=res["p50_us"] / 1000,
        p99_ms=res["p99_us"] / 1000,
        max_ms=res["max_us"] / 1000,
        server_cpu=(c1 - c0) / CLK_TCK,
        per_proc={k: (per1.get(k, 0) - per0.get(k, 0)) / CLK_TCK for k in set(per0) | set(per1)},
        journald_cpu=(j1 - j0) / CLK_TCK,
        # Of the server CPUs, over the run: time idle (the server did not
        # saturate them) and stolen by the hypervisor (noise).
        srv_idle=(i1 - i0) / CLK_TCK / run_wall / (len(server_cpus) if server_cpus else os.cpu_count()),
        srv_steal=(s1 - s0) / CLK_TCK / run_wall / (len(server_cpus) if server_cpus else os.cpu_count()),
        client_cpu=ru.ru_utime + ru.ru_stime,
        hwm_kb=sum(hwm.values()),
        hwm_max_kb=max(hwm.values()) if hwm else 0,
        errors={k: res[k] for k in ("connect", "read", "write", "timeout")},
        non2xx=res["status"],
    )
    if settle is None:
        run["why"].append("server still busy 30 s after the run")
    if res["status"]:
        run["why"].append(f"{res['status']} non-2xx/3xx")
    sockerr = sum(run["errors"].values())
    if sockerr:
        run["why"].append("socket errors " + ", ".join(f"{k} {v}" for k, v in run["errors"].items() if v))
    if reqs == 0:
        run["why"].append("no request completed")
    else:
        # Every response has the whole body; at most one partial response
        # per connection when wrk stops; heads are under 1 KiB.
        lo = reqs * sc.body
        hi = (reqs + sc.conns) * (sc.body + 1024)
        if not lo <= nbytes <= hi:
            run["why"].append(f"{nbytes} bytes read for {reqs} responses of {sc.body}")
    run["ok"] = not run["why"]
    return run


# --- idle keep-alive connections ---------------------------------------------


def read_response(s, buf=b""):
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed before the response head")
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for h in lines[1:]:
        name, _, value = h.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed in the body")
        body += d
    return status, len(body)


def idle_test(target, n):
    """Opens n keep-alive connections, one 1 KiB request on each, and holds
    them: RSS growth per connection, CPU while they idle, and whether the
    server kept them all."""
    req = b"GET /1k.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench-idle\r\n\r\n"
    # Every process of the chain started (handlers start on first use).
    for _ in range(10):
        with socket.create_connection(target.http, timeout=10) as s:
            s.sendall(req)
            read_response(s)
    wait_quiet([target])
    time.sleep(0.5)
    rss0 = target.memory("VmRSS")
    socks, bad = [], 0
    t0 = time.monotonic()
    err = None
    try:
        for _ in range(n):
            s = socket.create_connection(target.http, timeout=10)
            socks.append(s)
            s.sendall(req)
            status, length = read_response(s)
            if status != 200 or length != 1024:
                bad += 1
    except OSError as e:
        err = f"after {len(socks)} connections: {e!r}"
    opened = time.monotonic() - t0
    c0, _ = target.cpu()
    time.sleep(2)
    c1, _ = target.cpu()
    rss1 = target.memory("VmRSS")
    # A socket readable now was closed (or written to) by the server.
    closed = 0
    p = select.poll()
    for s in socks:
        p.register(s, select.POLLIN)
    closed = len(p.poll(0))
    # Then all of them reset at once (SO_LINGER 0: no TIME_WAIT here): the
    # CPU the server spends on that, until it is quiet again.
    c2, _ = target.cpu()
    t2 = time.monotonic()
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    settle = wait_quiet([target], limit=120)
    c3, _ = target.cpu()
    close_s = time.monotonic() - t2
    grow = {k: rss1.get(k, 0) - rss0.get(k, 0) for k in set(rss0) | set(rss1)}
    main = "htparser" if "htparser" in grow else "nginx worker"
    why = []
    if err:
        why.append(err)
    if bad:
        why.append(f"{bad} responses not 200 with 1024 bytes")
    if closed:
        why.append(f"{closed} connections closed by the server while idle")
    if settle is None:
        why.append("server still busy 120 s after the connections were reset")
    return {
        "target": target.key,
        "scenario": "idle",
        "conns": len(socks),
        "open_s": opened,
        "rss_before_kb": sum(rss0.values()),
        "rss_after_kb": sum(rss1.values()),
        "grow_kb": grow,
        "per_conn_b": sum(grow.values()) * 1024 / max(1, len(socks)),
        "front": main,
        "front_per_conn_b": grow.get(main, 0) * 1024 / max(1, len(socks)),
        "idle_cpu_ms_s": (c1 - c0) / CLK_TCK * 1000 / 2,
        "close_cpu_s": (c3 - c2) / CLK_TCK,
        "close_s": close_s,
        "ok": not why,
        "why": why,
    }


# --- syscalls per request (BENCH_PROFILE=1) ----------------------------------


def parse_strace_c(path):
    calls = {}
    try:
        with open(path) as f:
            for line in f:
                w = line.split()
                if len(w) >= 5 and w[0][0].isdigit() and w[-1] != "total":
                    # % time, seconds, usecs/call, calls, [errors], syscall
                    calls[w[-1]] = int(w[3])
    except OSError:
        pass
    return calls


def profile(target, seconds):
    """strace -c on each process of target, separately, during a 1 KiB
    keep-alive run: syscalls per request for each."""
    sc = SCENARIOS[0]
    procs = target.members()
    tracers = []
    for pid, (name, _) in sorted(procs.items()):
        out = os.path.join(SCRATCH, f"strace-{target.key}-{pid}.txt")
        t = subprocess.Popen(["strace", "-c", "-o", out, "-p", str(pid)], stderr=subprocess.DEVNULL,
                             preexec_fn=pin_client)
        tracers.append((name, pid, out, t))
    time.sleep(1)
    run = run_wrk(target, sc, seconds)
    for _, _, _, t in tracers:
        t.send_signal(signal.SIGINT)
    for _, _, _, t in tracers:
        try:
            t.wait(10)
        except subprocess.TimeoutExpired:
            t.kill()
    reqs = run.get("requests", 0) or 1
    result = {"target": target.key, "requests": run.get("requests", 0), "req_s": run.get("req_s", 0), "procs": []}
    for name, pid, out, _ in tracers:
        calls = parse_strace_c(out)
        total = sum(calls.values())
        top = sorted(calls.items(), key=lambda kv: -kv[1])[:10]
        result["procs"].append(
            {"name": name, "pid": pid, "per_req": total / reqs, "top": [(k, v / reqs) for k, v in top]}
        )
    return result


# --- statistics and output ----------------------------------------------------


def summarize(runs, sc, key):
    ok = [r for r in runs if r["target"] == key and r["scenario"] == sc.key and r["ok"]]
    bad = [r for r in runs if r["target"] == key and r["scenario"] == sc.key and not r["ok"]]
    s = {"n": len(ok), "failed": len(bad), "why": sorted({w for r in bad for w in r["why"]})}
    if not ok:
        return s
    rate_key = "mb_s" if sc.unit == "MB" else "req_s"
    rates = [r[rate_key] for r in ok]
    eff = [(r[rate_key] * r["duration"]) / r["server_cpu"] for r in ok if r["server_cpu"] > 0]
    s.update(
        rate=statistics.median(rates),
        rate_min=min(rates),
        rate_max=max(rates),
        p50=statistics.median(r["p50_ms"] for r in ok),
        p99=statistics.median(r["p99_ms"] for r in ok),
        eff=statistics.median(eff) if eff else None,
        cpu_util=statistics.median(r["server_cpu"] / r["duration"] for r in ok),
        settle=max(r["settle"] or 0 for r in ok),
        client_util=statistics.median(r["client_cpu"] / r["duration"] for r in ok),
        hwm_kb=max(r["hwm_kb"] for r in ok),
        # CPU microseconds per request, per process, summed over the runs.
        per_proc={
            name: sum(r["per_proc"].get(name, 0) for r in ok) * 1e6 / max(1, sum(r["requests"] for r in ok))
            for name in {n for r in ok for n in r["per_proc"]}
        },
        journald_us=sum(r["journald_cpu"] for r in ok) * 1e6 / max(1, sum(r["requests"] for r in ok)),
        eff_with_journald=statistics.median(
            r["requests"] / (r["server_cpu"] + r["journald_cpu"]) for r in ok if r["server_cpu"] > 0
        ),
    )
    if "logged" in ok[0]:
        s["logged"] = sum(r.get("logged", 0) for r in ok)
        s["dropped"] = sum(r.get("dropped", 0) for r in ok)
        s["requests"] = sum(r["requests"] for r in ok)
    return s


def fmt_rate(v, unit):
    if v is None:
        return "-"
    if unit == "MB":
        return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"
    return f"{v:,.0f}"


def fmt_ms(v):
    if v is None:
        return "-"
    return f"{v:.2f}" if v < 10 else f"{v:.0f}"


def fmt_mib(kb):
    return f"{kb / 1024:.1f}"


def results_rows(scenarios, targets, runs):
    rows = []
    for sc in scenarios:
        ngx = summarize(runs, sc, "C")
        for t in targets:
            s = summarize(runs, sc, t.key)
            unit = "MB/s" if sc.unit == "MB" else "req/s"
            if not s["n"]:
                rows.append([sc.title, t.label, "FAILED", "", "", "", "", "", "", "", "", "; ".join(s["why"])[:120]])
                continue
            ratio = f"{s['rate'] / ngx['rate']:.2f}" if ngx.get("rate") else "-"
            eff_ratio = f"{s['eff'] / ngx['eff']:.2f}" if s.get("eff") and ngx.get("eff") else "-"
            rate = f"{fmt_rate(s['rate'], sc.unit)} {unit} ({fmt_rate(s['rate_min'], sc.unit)}–{fmt_rate(s['rate_max'], sc.unit)})"
            eff_unit = "MB" if sc.unit == "MB" else "req"
            errs = f"{s['failed']} failed run(s): " + "; ".join(s["why"]) if s["failed"] else "ok"
            ncli = len(CLIENT_CPUS) if CLIENT_CPUS else os.cpu_count()
            if s["client_util"] >= 0.9 * ncli:
                errs += "; wrk-bound (its CPU saturated)"
            if s["settle"] > 1:
                errs += f"; busy up to {s['settle']:.1f} s after a run"
            rows.append([
                sc.title, t.label, rate, ratio,
                fmt_ms(s["p50"]), fmt_ms(s["p99"]),
                f"{fmt_rate(s['eff'], sc.unit)} {eff_unit}", eff_ratio,
                f"{s['cpu_util'] * 100:.0f}%", f"{s['client_util'] * 100:.0f}%",
                fmt_mib(s["hwm_kb"]), errs[:160],
            ])
    return rows


HEADERS = ["scenario", "server", "rate: median (min–max)", "×nginx", "p50 ms", "p99 ms",
           "per server CPU-s", "×nginx", "server CPU", "wrk CPU", "peak RSS MiB", "checks"]


def print_table(headers, rows):
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    last = None
    for r in rows:
        if last is not None and r[0] != last:
            print()
        cells = [("" if i == 0 and r[0] == last else str(c)) for i, c in enumerate(r)]
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
        last = r[0]
    print(flush=True)


def md_table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


def machine_info():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = "?"
    try:
        commit = subprocess.run(["git", "-C", SRC, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", SRC, "--no-optional-locks", "status", "--porcelain"],
                               capture_output=True, text=True).stdout.strip()
        if dirty:
            commit += "+dirty"
    except (OSError, subprocess.CalledProcessError):
        pass

    def version(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True)
            return (r.stdout + r.stderr).splitlines()[0].strip()
        except (OSError, IndexError):
            return "?"

    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": os.uname().release,
        "commit": commit,
        "wrk": version(["wrk", "--version"]).split(" [")[0],
        "nginx": version(["nginx", "-v"]),
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }


def protocol_floor():
    """µs per request of the ashd(7) protocol's own 17 system calls
    (bench/protocol-floor.c), on the servers' CPU; None if not built."""
    exe = os.path.join(BUILD, "bench", "protocol-floor")
    if not os.access(exe, os.X_OK):
        return None
    runs = []
    for _ in range(3):
        r = subprocess.run([exe], capture_output=True, text=True, preexec_fn=pin_server)
        if r.returncode != 0:
            log(f"bench: protocol-floor failed: {r.stderr.strip()}")
            return None
        runs.append(float(r.stdout))
    return sorted(runs)[1]


# --- main ---------------------------------------------------------------------


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    pin_client()

    wanted = os.environ.get("BENCH_SCENARIOS")
    keys = [k.strip() for k in wanted.split(",")] if wanted else (QUICK_SCENARIOS if QUICK else None)
    scenarios = [s for s in SCENARIOS if keys is None or s.key in keys]
    do_idle = keys is None or "idle" in keys or QUICK
    if IDLE_CONNS + 200 > nofile:
        log(f"bench: open file limit {nofile} is too low for {IDLE_CONNS} idle connections")
        return 2
    for tool in ("wrk", "nginx", "openssl", "journalctl"):
        if not shutil.which(tool):
            log(f"bench: {tool} is not installed (packaging/deps.sh install bench)")
            return 2
    for prog in ("ashd-launch", "htparser", "patplex", "dirplex", "sendfile"):
        if not os.access(os.path.join(BUILD, prog), os.X_OK):
            log(f"bench: {BUILD}/{prog} is not built (make)")
            return 2

    info = machine_info()
    info["floor"] = protocol_floor()
    journal = Journal()
    if journal.pid is None:
        log("bench: no private journald (BENCH_JOURNALD_PID unset; bench/run.sh starts one): "
            "A logs to whatever /run/systemd/journal/socket is")
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    digests = make_docroot()
    cert, key = make_cert()

    log(f"bench: {info['date']}, {info['nproc']} × {info['cpu']}, Linux {info['kernel']}, ashd {info['commit']}")
    if info["floor"] is not None:
        log(f"bench: the protocol's own system calls: {info['floor']:.1f} µs per request (bench/protocol-floor.c)")
    log(f"bench: {ROUNDS} round(s) × {SECONDS:g} s per run, warm-up {WARMUP:g} s; "
        f"servers on CPU {sorted(SERVER_CPUS) if SERVER_CPUS else 'any'}, "
        f"wrk on CPU {sorted(CLIENT_CPUS) if CLIENT_CPUS else 'any'}; load {' '.join(info['loadavg'])}")

    # htparser's default is (RLIMIT_NOFILE - 64) / 2, two descriptors per
    # connection while a request is in flight: below 10,000 at a limit of
    # 20,000, so the idle scenario raises it as far as idle connections go.
    max_conns = min(nofile - 100, max(IDLE_CONNS + 50, (nofile - 64) // 2))
    targets = []
    runs, idle, profiles = [], [], []
    failed_setup = []
    try:
        def start(generation):
            targets.append(AshdChain("A", "ashd, journal log", True, cert, key, max_conns, generation))
            targets.append(AshdChain("B", "ashd, log off", False, cert, key, max_conns, generation))
            targets.append(Nginx(cert, key, nofile, generation))

        start(1)
        for t in targets:
            problems = precheck(t, digests, cert)
            if problems:
                failed_setup.append(f"{t.label}: " + "; ".join(problems))
        if failed_setup:
            for p in failed_setup:
                log(f"bench: precheck failed: {p}")
            return 1
        log("bench: " + ", ".join(f"{t.key} = {t.label} on {t.http[1]} (TLS {t.https[1]})" for t in targets))
        a = targets[0]
        for sc in scenarios:
            log(f"\n== {sc.title} ({sc.key})")
            for t in targets:
                run_wrk(t, sc, WARMUP)  # warm-up, not counted
            for rnd in range(ROUNDS):
                pending = []
                for t in targets:
                    cur = journal.cursor() if (t is a and journal.pid) else None
                    r = run_wrk(t, sc, SECONDS, journal if t is a else None)
                    r["round"] = rnd + 1
                    if t is a and journal.pid:
                        pending.append((r, cur))
                    runs.append(r)
                    if r["ok"]:
                        v = r["mb_s"] if sc.unit == "MB" else r["req_s"]
                        log(f"  round {rnd + 1} {t.key}: {fmt_rate(v, sc.unit)} {'MB/s' if sc.unit == 'MB' else 'req/s'}, "
                            f"p99 {fmt_ms(r['p99_ms'])} ms, server CPU {r['server_cpu']:.2f} s, "
                            f"wrk CPU {r['client_cpu']:.2f} s, server cores idle {r['srv_idle'] * 100:.0f}%, "
                            f"steal {r['srv_steal'] * 100:.1f}%")
                    else:
                        log(f"  round {rnd + 1} {t.key}: FAILED: {'; '.join(r['why'])}")
                # Counted once journald has caught up (B and C ran meanwhile;
                # only A's htparser logs).
                for r, cur in pending:
                    if r.get("requests"):
                        r["logged"], r["dropped"] = journal.count(cur, a.htparser_pid)
        if do_idle:
            # Fresh servers: a heap that earlier scenarios grew (1,000
            # connections) would take the new connections for free.
            log(f"\n== {IDLE_CONNS} idle keep-alive connections (servers restarted)")
            while targets:
                targets.pop(0).stop()
            start(2)
            for t in targets:
                res = idle_test(t, IDLE_CONNS)
                idle.append(res)
                log(f"  {t.key}: {res['conns']} open, RSS +{sum(res['grow_kb'].values()) / 1024:.1f} MiB "
                    f"({res['per_conn_b']:.0f} B per connection; {res['front']} {res['front_per_conn_b']:.0f} B), "
                    f"reset of all: {res['close_cpu_s']:.2f} CPU-s in {res['close_s']:.1f} s, "
                    f"{'ok' if res['ok'] else 'FAILED: ' + '; '.join(res['why'])}")
                time.sleep(1)
        if PROFILE:
            if shutil.which("strace"):
                log(f"\n== syscalls per request (strace -c, {PROFILE_SECONDS} s of 1 KiB keep-alive)")
                for t in targets[1:]:
                    profiles.append(profile(t, PROFILE_SECONDS))
            else:
                log("bench: BENCH_PROFILE=1 needs strace (apt-get install strace)")
    except (LauncherError, RuntimeError, OSError) as e:
        log(f"bench: {e!r}")
        for t in targets:
            log(t.stderr_tail())
        failed_setup.append(str(e))
    finally:
        for t in targets:
            t.stop()

    report(info, targets, scenarios, runs, idle, profiles, failed_setup)
    nok = sum(1 for r in runs + idle if r["ok"])
    nfail = sum(1 for r in runs + idle if not r["ok"]) + len(failed_setup)
    log(f"bench: {nok} runs ok, {nfail} failed")
    return 1 if nfail else 0


def report(info, targets, scenarios, runs, idle, profiles, failed_setup):
    rows = results_rows(scenarios, targets, runs) if targets else []
    print()
    if rows:
        print_table(HEADERS, rows)

    chain_rows = []
    for sc in scenarios:
        for t in targets:
            if t.key == "C":
                continue
            s = summarize(runs, sc, t.key)
            if not s["n"]:
                continue
            pp = s["per_proc"]
            chain_rows.append([sc.title, t.label] + [f"{pp.get(n, 0):.1f}" for n in ("htparser", "patplex", "dirplex", "sendfile")]
                              + [f"{sum(pp.values()):.1f}", f"{s['journald_us']:.1f}" if t.key == "A" else "-"])
        s = summarize(runs, sc, "C")
        if s["n"]:
            pp = s["per_proc"]
            chain_rows.append([sc.title, "nginx", f"worker {pp.get('nginx worker', 0):.1f}", "-", "-", "-",
                               f"{sum(pp.values()):.1f}", "-"])
    chain_headers = ["scenario", "server", "htparser", "patplex", "dirplex", "sendfile", "total", "journald"]
    if chain_rows:
        print("CPU µs per request, per process (summed over the counted runs):")
        print_table(chain_headers, chain_rows)

    log_rows = []
    a = next((t for t in targets if t.key == "A"), None)
    for sc in scenarios:
        s = summarize(runs, sc, "A")
        if s["n"] and "logged" in s:
            log_rows.append([sc.title, f"{s['requests']:,}", f"{s['logged']:,}", f"{s['dropped']:,}",
                             f"{s['logged'] / max(1, s['requests']) * 100:.1f}%", f"{s['journald_us']:.1f}",
                             f"{s['eff_with_journald']:,.0f}"])
    log_headers = ["scenario", "requests (wrk)", "journal entries", "reported dropped", "logged", "journald µs/req",
                   "req per CPU-s incl. journald"]
    if log_rows:
        print("A's access log in the private journal:")
        print_table(log_headers, log_rows)

    idle_rows = []
    for r in idle:
        t = next(t for t in targets if t.key == r["target"])
        idle_rows.append([t.label, f"{r['conns']:,}", f"{r['open_s']:.1f}", fmt_mib(r["rss_before_kb"]),
                          fmt_mib(r["rss_after_kb"]), f"{r['per_conn_b']:,.0f}",
                          f"{r['front']} {r['front_per_conn_b']:,.0f}", f"{r['idle_cpu_ms_s']:.1f}",
                          f"{r['close_cpu_s']:.2f} CPU-s in {r['close_s']:.1f} s",
                          "ok" if r["ok"] else "FAILED: " + "; ".join(r["why"])])
    idle_headers = ["server", "connections", "open s", "RSS before MiB", "RSS after MiB", "B per conn (all)",
                    "B per conn (front)", "CPU ms/s idle", "reset of all", "checks"]
    if idle_rows:
        print("Idle keep-alive connections (one 1 KiB request each, then held 2 s):")
        print_table(idle_headers, idle_rows)

    prof_lines = []
    for pr in profiles:
        t = next(t for t in targets if t.key == pr["target"])
        prof_lines.append(f"- {t.label}: {pr['requests']:,} requests under strace ({pr['req_s']:,.0f} req/s traced)")
        for p in pr["procs"]:
            top = ", ".join(f"{k} {v:.2f}" for k, v in p["top"])
            prof_lines.append(f"  - {p['name']} (pid {p['pid']}): {p['per_req']:.2f} syscalls/request — {top}")
    if prof_lines:
        print("Syscalls per request:")
        print("\n".join(prof_lines))
        print()

    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    default_mc = (nofile - 64) // 2
    mc = getattr(targets[0], "max_conns", "?") if targets else "?"
    os.makedirs(OUT, exist_ok=True)
    md = [
        "# ashd benchmark",
        "",
        f"- date: {info['date']}",
        f"- machine: {info['nproc']} × {info['cpu']}, Linux {info['kernel']}, load average at start "
        f"{' '.join(info['loadavg'])}",
        f"- ashd: {info['commit']}; {info['nginx']}; {info['wrk']}",
        f"- the ashd(7) protocol's own 17 system calls per request (bench/protocol-floor.c, one process, "
        f"servers' CPU): {info['floor']:.1f} µs" if info.get("floor") is not None else
        "- bench/protocol-floor was not run",
        f"- {ROUNDS} round(s) of {SECONDS:g} s per run (A B C alternating, after one {WARMUP:g} s warm-up run each, "
        f"not counted){' — quick mode' if QUICK else ''}",
        f"- servers pinned to CPU {sorted(SERVER_CPUS) if SERVER_CPUS else 'any'} (journald too), wrk to CPU "
        f"{sorted(CLIENT_CPUS) if CLIENT_CPUS else 'any'}",
        "- A: ashd-launch → htparser → root.sock → ashd-launch → patplex (etc/ashd/root.conf) → dirplex -N -c "
        "etc/ashd/dirplex.rc → persistent sendfile; access log to a private journald. B: the same, "
        "--access-log=off. C: nginx, 1 worker, access_log off, sendfile on, keepalive_requests unlimited.",
        f"- htparser --max-connections={mc} ({'raised from its default, ' if mc != default_mc else 'its default, '}"
        f"(RLIMIT_NOFILE − 64) / 2 = {default_mc:,} here, for {IDLE_CONNS:,} idle connections). "
        "Private network namespace; net.unix.max_dgram_qlen = "
        f"{open('/proc/sys/net/unix/max_dgram_qlen').read().strip()} (systemd's value; the kernel's default is 10).",
        "- rate: median of the rounds (min–max); MB = 10⁶ bytes as read by wrk (heads included). "
        "per server CPU-s: requests (or MB) per CPU-second of all the server's processes (utime+stime). "
        "server CPU / wrk CPU: CPU-seconds per second of the run (100% = one core). "
        "peak RSS: VmHWM summed over the server's processes, reset before each run.",
        "",
    ]
    if failed_setup:
        md += ["**Set-up failed:** " + "; ".join(failed_setup), ""]
    if rows:
        md += [md_table(HEADERS, rows), ""]
    if chain_rows:
        md += ["## CPU µs per request, per process", "", md_table(chain_headers, chain_rows), ""]
    if log_rows:
        md += ["## A's access log in the journal", "", md_table(log_headers, log_rows), ""]
    if idle_rows:
        md += ["## Idle keep-alive connections", "",
               "One 1 KiB request on each connection, then all held for 2 s. RSS growth is VmRSS after minus "
               "before, summed over the server's processes; front: htparser alone, or nginx's worker. "
               "Reset of all: the client then resets every connection at once (SO_LINGER 0); the server's CPU "
               "until it is quiet again.", "",
               md_table(idle_headers, idle_rows), ""]
    if prof_lines:
        md += ["## Syscalls per request (strace -c, 1 KiB keep-alive)", ""] + prof_lines + [""]
    md += ["## Every run", "", md_table(
        ["scenario", "server", "round", "requests", "req/s", "MB/s", "p50 ms", "p99 ms", "server CPU-s",
         "wrk CPU-s", "server cores idle", "steal", "result"],
        [[r["scenario"], r["target"], r.get("round", ""), f"{r.get('requests', 0):,.0f}",
          f"{r.get('req_s', 0):,.0f}", f"{r.get('mb_s', 0):,.1f}", fmt_ms(r.get("p50_ms")), fmt_ms(r.get("p99_ms")),
          f"{r.get('server_cpu', 0):.2f}", f"{r.get('client_cpu', 0):.2f}",
          f"{r.get('srv_idle', 0) * 100:.0f}%", f"{r.get('srv_steal', 0) * 100:.1f}%",
          "ok" if r["ok"] else "FAILED: " + "; ".join(r["why"])] for r in runs]), ""]
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"info": info, "runs": runs, "idle": idle, "profiles": profiles}, f, indent=1)
    log(f"bench: results in {os.path.join(OUT, 'results.md')}")


if __name__ == "__main__":
    sys.exit(main())
