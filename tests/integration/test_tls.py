# SPDX-License-Identifier: MIT
"""htparser with TLS: certificates chosen by SNI, real clients (curl,
openssl s_client, Python's ssl), X-Ash-TLS-* headers, certificates from
$CREDENTIALS_DIRECTORY, and SIGHUP reloads, good and bad, under load."""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading

import ashdtest
from ashdtest import binary
from launch import Launcher
from httpclient import recv_response

HTPARSER = binary("htparser")
HANDLER = binary("test-handler")


def make_cert(folder, name, days=2):
    """A self-signed certificate for name (and *.name) and its key."""
    cert, key = os.path.join(folder, f"{name}.pem"), os.path.join(folder, f"{name}.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name},DNS:*.{name}", "-days", str(days),
         "-keyout", key, "-out", cert],
        check=True, capture_output=True, timeout=30,
    )
    return cert, key


def fingerprint(der):
    import hashlib

    return hashlib.sha256(der).hexdigest()


class TlsTest(ashdtest.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.a_cert, self.a_key = make_cert(self.tmp, "a.test")
        self.b_cert, self.b_key = make_cert(self.tmp, "b.test")

    def start(self, *args, env=()):
        launcher = Launcher(
            ["-l", "http=tcp:127.0.0.1:0", "-l", "https=tcp:127.0.0.1:0", *[f"--setenv={e}" for e in env]],
            [HTPARSER, *args, "--", HANDLER],
        )
        self.addCleanup(launcher.close)
        launcher.wait_ready()
        # Taken now, so that a reload's READY=1 cannot be confused with it.
        launcher.wait_notify("READY=1")
        self.launcher = launcher
        self.port = launcher.address("https")[1]
        return launcher

    def start_two_names(self):
        return self.start(
            f"--tls-cert={self.a_cert}", f"--tls-key={self.a_key}",
            f"--tls-cert={self.b_cert}", f"--tls-key={self.b_key}",
        )

    def tls_connect(self, name, cafile):
        ctx = ssl.create_default_context(cafile=cafile)
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=ashdtest.TIMEOUT)
        s = ctx.wrap_socket(raw, server_hostname=name)
        self.addCleanup(s.close)
        return s

    def get(self, s, path, host="h"):
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        return recv_response(s)

    def curl(self, name, cafile, path="/"):
        return subprocess.run(
            ["curl", "-sS", "--max-time", "10", "--cacert", cafile,
             "--resolve", f"{name}:{self.port}:127.0.0.1", f"https://{name}:{self.port}{path}"],
            capture_output=True, timeout=20,
        )

    def test_sni_chooses_certificate_for_curl(self):
        self.start_two_names()
        for name, cafile in (("a.test", self.a_cert), ("b.test", self.b_cert), ("www.b.test", self.b_cert)):
            out = self.curl(name, cafile, "/tls")
            self.assertEqual(out.returncode, 0, out.stderr)
            text = out.stdout.decode()
            self.assertIn("rest: tls\n", text)
            self.assertIn("header: X-Ash-Protocol: https\n", text)
            self.assertIn(f"header: X-Ash-TLS-Server-Name: {name}\n", text)
            self.assertRegex(text, r"header: X-Ash-TLS-Protocol: TLSv1\.[23]\n")
            self.assertIn("header: X-Ash-TLS-Cipher: ", text)

    def test_unknown_name_gets_default_certificate(self):
        self.start_two_names()
        out = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", "-servername", "nobody.example"],
            input=b"", capture_output=True, timeout=20,
        )
        self.assertIn(b"CN = a.test", out.stdout)

    def test_old_protocols_refused(self):
        self.start_two_names()
        out = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
            input=b"", capture_output=True, timeout=20,
        )
        self.assertNotEqual(out.returncode, 0)

    def test_keep_alive_and_plain_side_by_side(self):
        self.start_two_names()
        s = self.tls_connect("a.test", self.a_cert)
        for i in range(3):
            status, _, body, _, _ = self.get(s, f"/k{i}")
            self.assertEqual(status, 200)
            self.assertIn(f"rest: k{i}\n".encode(), body)
        plain = socket.create_connection(self.launcher.address("http"), timeout=ashdtest.TIMEOUT)
        self.addCleanup(plain.close)
        status, _, body, _, _ = self.get(plain, "/plain")
        self.assertIn(b"header: X-Ash-Protocol: http\n", body)

    def test_large_body_both_ways(self):
        self.start_two_names()
        s = self.tls_connect("a.test", self.a_cert)
        payload = os.urandom(300000)
        s.sendall(b"POST /body HTTP/1.1\r\nHost: h\r\n" + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        status, _, body, _, _ = recv_response(s)
        self.assertEqual(body, f"body: {len(payload)}\n".encode())

    def test_certificates_from_credentials_directory(self):
        creds = os.path.join(self.tmp, "creds")
        os.mkdir(creds)
        shutil.copy(self.a_cert, os.path.join(creds, "tls.pem"))
        shutil.copy(self.a_key, os.path.join(creds, "tls.key"))
        self.start("--tls-cert=tls.pem", "--tls-key=tls.key", env=[f"CREDENTIALS_DIRECTORY={creds}"])
        out = self.curl("a.test", self.a_cert, "/cred")
        self.assertEqual(out.returncode, 0, out.stderr)

    def test_every_pair_of_a_credential_directory(self):
        # As LoadCredential=tls:/etc/ashd/tls copies a directory: tls_FILE.
        creds = os.path.join(self.tmp, "creds")
        os.mkdir(creds)
        for cert, key, name in ((self.a_cert, self.a_key, "a.test"), (self.b_cert, self.b_key, "b.test")):
            shutil.copy(cert, os.path.join(creds, f"tls_{name}.pem"))
            shutil.copy(key, os.path.join(creds, f"tls_{name}.key"))
        shutil.copy(self.a_cert, os.path.join(creds, "other_x.pem"))
        self.start("--tls-credentials=tls", env=[f"CREDENTIALS_DIRECTORY={creds}"])
        for name, cert in (("a.test", self.a_cert), ("b.test", self.b_cert)):
            s = self.tls_connect(name, cert)
            self.assertEqual(self.get(s, "/")[0], 200)
        # An unknown name gets the first in sorted order.
        ctx = ssl.create_default_context(cafile=self.a_cert)
        ctx.check_hostname = False
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.port), timeout=ashdtest.TIMEOUT),
                             server_hostname="c.test") as s:
            self.assertEqual(self.get(s, "/")[0], 200)

    def test_credential_without_key_or_directory_refuses_to_start(self):
        creds = os.path.join(self.tmp, "creds")
        os.mkdir(creds)
        shutil.copy(self.a_cert, os.path.join(creds, "tls_a.pem"))
        for env, want in (([f"--setenv=CREDENTIALS_DIRECTORY={creds}"], "tls_a.pem has no key tls_a.key"),
                          ([], "no $CREDENTIALS_DIRECTORY")):
            launcher = Launcher(["--once", "-l", "https=tcp:127.0.0.1:0", *env],
                                [HTPARSER, "--tls-credentials=tls", "--", HANDLER])
            self.addCleanup(launcher.close)
            self.assertEqual(launcher.wait(), 1)
            self.assertIn(want, launcher.stderr)

    def test_missing_certificate_refuses_to_start(self):
        launcher = Launcher(
            ["--once", "-l", "https=tcp:127.0.0.1:0"],
            [HTPARSER, f"--tls-cert={self.tmp}/nope.pem", f"--tls-key={self.a_key}", "--", HANDLER],
        )
        self.addCleanup(launcher.close)
        self.assertEqual(launcher.wait(), 1)
        self.assertIn("nope.pem", launcher.stderr)

    def test_https_socket_without_certificate_refuses_to_start(self):
        launcher = Launcher(["--once", "-l", "https=tcp:127.0.0.1:0"], [HTPARSER, "--", HANDLER])
        self.addCleanup(launcher.close)
        self.assertEqual(launcher.wait(), 1)
        self.assertIn("needs a certificate", launcher.stderr)

    def test_reload_swaps_certificate_and_keeps_connections(self):
        self.start_two_names()
        old = self.tls_connect("a.test", self.a_cert)
        self.assertEqual(self.get(old, "/before")[0], 200)
        old_fp = fingerprint(old.getpeercert(binary_form=True))

        new_dir = os.path.join(self.tmp, "new")
        os.mkdir(new_dir)
        cert, key = make_cert(new_dir, "a.test")
        shutil.copy(cert, self.a_cert)
        shutil.copy(key, self.a_key)
        self.launcher.send_signal(signal.SIGHUP)
        self.launcher.wait_notify("RELOADING=1")
        self.launcher.wait_notify("READY=1")

        new = self.tls_connect("a.test", self.a_cert)
        self.assertEqual(self.get(new, "/after")[0], 200)
        self.assertNotEqual(fingerprint(new.getpeercert(binary_form=True)), old_fp)
        # The connection made before the reload goes on with its session.
        self.assertEqual(self.get(old, "/still")[0], 200)

    def test_bad_reload_keeps_old_certificate(self):
        self.start_two_names()
        s = self.tls_connect("a.test", self.a_cert)
        fp = fingerprint(s.getpeercert(binary_form=True))
        good = open(self.a_cert, "rb").read()
        with open(self.a_cert, "w") as f:
            f.write("not a certificate\n")
        self.launcher.send_signal(signal.SIGHUP)
        self.launcher.wait_notify("READY=1")
        self.launcher.wait_stderr("keeping the ones in use")
        # The file is broken, but the server still presents the old one.
        with open(os.path.join(self.tmp, "ca.pem"), "wb") as f:
            f.write(good)
        s2 = self.tls_connect("a.test", os.path.join(self.tmp, "ca.pem"))
        self.assertEqual(fingerprint(s2.getpeercert(binary_form=True)), fp)
        self.assertEqual(self.get(s2, "/ok")[0], 200)

    def test_reload_under_load_fails_no_request(self):
        self.start_two_names()
        failures, done = [], []

        def load():
            ctx = ssl.create_default_context(cafile=self.a_cert)
            for i in range(150):
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=ashdtest.TIMEOUT) as raw:
                        with ctx.wrap_socket(raw, server_hostname="a.test") as s:
                            status = self.get(s, f"/load{i}")[0]
                            if status != 200:
                                failures.append(status)
                except Exception as e:  # noqa: BLE001 - every failure counts
                    failures.append(repr(e))
                done.append(i)

        t = threading.Thread(target=load)
        t.start()
        for _ in range(5):
            self.launcher.send_signal(signal.SIGHUP)
            self.launcher.wait_notify("RELOADING=1")
            self.launcher.wait_notify("READY=1")
        t.join(60)
        self.assertFalse(t.is_alive())
        self.assertEqual(failures, [])
        self.assertEqual(len(done), 150)

    def test_session_resumption_and_alpn(self):
        self.start_two_names()
        ctx = ssl.create_default_context(cafile=self.a_cert)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", self.port), timeout=ashdtest.TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname="a.test") as s:
                self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
                self.assertEqual(self.get(s, "/first")[0], 200)
                session = s.session
                self.assertFalse(s.session_reused)
        with socket.create_connection(("127.0.0.1", self.port), timeout=ashdtest.TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname="a.test", session=session) as s:
                self.assertEqual(self.get(s, "/second")[0], 200)
                self.assertTrue(s.session_reused)
