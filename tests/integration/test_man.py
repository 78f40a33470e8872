# SPDX-License-Identifier: MIT
"""The manual pages in man/: mandoc finds nothing to warn about, every
installed program has a page, every long option a program has (in its --help
and in its option table) is documented in its page, so that the pages cannot
go stale unnoticed, references between ashd's own pages resolve, and make
install puts the pages under MANDIR."""

import glob
import os
import re
import shutil
import subprocess

import ashdtest

MAN = os.path.join(ashdtest.SRC, "man")
# "--name" in help text, not "--" alone and not inside a word.
HELP_OPTION = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")
# {"name", required_argument, ...} in a getopt_long table.
TABLE_OPTION = re.compile(r'\{\s*"([a-z][a-z0-9-]*)"\s*,\s*(?:no|required|optional)_argument')


def pages():
    return sorted(glob.glob(os.path.join(MAN, "*.[0-9]")))


def installed_programs():
    """The programs make install installs: src/NAME/main.c, less the
    Makefile's NOINST_PROGRAMS."""
    with open(os.path.join(ashdtest.SRC, "Makefile")) as f:
        m = re.search(r"^NOINST_PROGRAMS\s*:?=\s*(.*)$", f.read(), re.M)
    noinst = set(m.group(1).split()) if m else set()
    names = {os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(ashdtest.SRC, "src/*/main.c"))}
    return sorted(names - noinst)


def page_source(program):
    with open(os.path.join(MAN, program + ".1")) as f:
        return f.read()


def documents_option(source, name):
    """Whether the page has "Fl -NAME" (an option in mdoc) as a whole word."""
    return re.search(r"(?:^|[\s])Fl -" + re.escape(name) + r"(?![\w-])", source, re.M) is not None


def help_text(program):
    """What --help prints; -h for a program that does not take --help (so
    that its other options are still checked)."""
    path = ashdtest.binary(program)
    for flag in ("--help", "-h"):
        proc = subprocess.run([path, flag], capture_output=True, text=True, timeout=ashdtest.TIMEOUT,
                              stdin=subprocess.DEVNULL)
        if proc.returncode == 0:
            return proc.stdout + proc.stderr
    raise AssertionError(f"{program}: neither --help nor -h succeeds: {proc.stderr}")


class ManLintTest(ashdtest.TempDirTestCase):
    def test_pages_exist(self):
        names = [os.path.basename(p) for p in pages()]
        for name in ("ashd.7", "ashd.systemd.7"):
            self.assertIn(name, names)

    def test_mandoc_lint_is_silent(self):
        mandoc = shutil.which("mandoc")
        self.assertIsNotNone(mandoc, "mandoc is not installed (packaging/deps.sh install test)")
        for page in pages():
            with self.subTest(page=os.path.basename(page)):
                proc = subprocess.run([mandoc, "-Tlint", "-W", "warning", page], capture_output=True, text=True,
                                      timeout=60)
                self.assertEqual(proc.stdout + proc.stderr, "")
                self.assertEqual(proc.returncode, 0)

    def test_page_names_match_files(self):
        for page in pages():
            name, section = os.path.basename(page).rsplit(".", 1)
            with open(page) as f:
                text = f.read()
            with self.subTest(page=os.path.basename(page)):
                self.assertRegex(text, rf"(?m)^\.Dt {re.escape(name.upper())} {section}$")
                self.assertRegex(text, rf"(?m)^\.Nm {re.escape(name)}$")

    def test_references_to_own_pages_resolve(self):
        # sendfile(2) is the system call's page, not ours.
        own = {f"{p}.1" for p in installed_programs()} | {"ashd.7", "ashd.systemd.7"}
        present = {os.path.basename(p) for p in pages()}
        for page in pages():
            with open(page) as f:
                refs = re.findall(r"Xr (\S+) ([0-9])", f.read())
            for name, section in refs:
                if f"{name}.{section}" in own:
                    self.assertIn(f"{name}.{section}", present, f"{os.path.basename(page)}: Xr {name} {section}")


class ManCoverageTest(ashdtest.TempDirTestCase):
    def test_every_installed_program_has_a_page(self):
        programs = installed_programs()
        self.assertIn("htparser", programs)
        self.assertNotIn("ashd-launch", programs)
        for program in programs:
            self.assertTrue(os.path.isfile(os.path.join(MAN, program + ".1")), f"no man/{program}.1")

    def test_every_option_in_help_is_documented(self):
        for program in installed_programs():
            source = page_source(program)
            options = set(HELP_OPTION.findall(help_text(program)))
            with self.subTest(program=program):
                missing = sorted(o for o in options if not documents_option(source, o))
                self.assertEqual(missing, [], f"man/{program}.1 lacks these options of {program} --help")

    def test_every_option_in_the_source_is_documented(self):
        for program in installed_programs():
            source = page_source(program)
            options = set()
            for path in glob.glob(os.path.join(ashdtest.SRC, "src", program, "*.c")):
                with open(path) as f:
                    text = f.read()
                options |= set(TABLE_OPTION.findall(text))
                if "HANDLER_IDLE_EXIT_OPTION" in text:
                    options.add("idle-exit")
            with self.subTest(program=program):
                self.assertTrue(options, f"no option table found for {program}")
                missing = sorted(o for o in options if not documents_option(source, o))
                self.assertEqual(missing, [], f"man/{program}.1 lacks these long options of src/{program}")


class ManInstallTest(ashdtest.TempDirTestCase):
    def test_install_puts_pages_in_mandir(self):
        dest = os.path.join(self.tmp, "root")
        make_vars = os.environ.get("ASHD_MAKE_VARS", f"BUILD={ashdtest.BUILD}").split()
        proc = subprocess.run(
            ["make", "--no-print-directory", "-C", ashdtest.SRC, "install", f"DESTDIR={dest}", "PREFIX=/usr",
             *make_vars],
            capture_output=True, text=True, timeout=300,
        )
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        for page in pages():
            name = os.path.basename(page)
            installed = os.path.join(dest, "usr/share/man", "man" + name.rsplit(".", 1)[1], name)
            self.assertTrue(os.path.isfile(installed), installed)
            self.assertEqual(os.stat(installed).st_mode & 0o777, 0o644, installed)
            with open(page, "rb") as a, open(installed, "rb") as b:
                self.assertEqual(a.read(), b.read(), installed)
