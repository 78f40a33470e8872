# SPDX-License-Identifier: MIT
#
# ashd: one non-recursive Makefile. Every program is src/NAME/*.c linked with
# src/lib (libashd.a); every check suite is tests/unit/test-*.c; test helper
# programs are tests/helpers/*.c. New files are picked up by wildcard.
#
#   make            build the programs into $(BUILD)/
#   make check      install missing packages, build, run every test tier
#   make asan       the same test tiers built with ASan and UBSan
#   make demo       run the server chain on 127.0.0.1:8080
#   make install    PREFIX, DESTDIR; systemd directories from pkg-config
#   make deb        a Debian package of the working tree, checked by lintian
#   make rpm        packaging/rpm/ashd.spec built with rpmbuild (a check)
#   make clean

BUILD ?= build
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/ashd
SYSCONFDIR ?= /etc
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

PKG_CONFIG ?= pkg-config
PYTHON ?= /usr/bin/python3
SYSTEMD_VAR = $(shell $(PKG_CONFIG) --variable=$(1) systemd 2>/dev/null)
UNITDIR ?= $(call SYSTEMD_VAR,systemdsystemunitdir)
USERUNITDIR ?= $(call SYSTEMD_VAR,systemduserunitdir)
TMPFILESDIR ?= $(call SYSTEMD_VAR,tmpfilesdir)
SYSUSERSDIR ?= $(call SYSTEMD_VAR,sysusersdir)
CATALOGDIR ?= $(call SYSTEMD_VAR,catalogdir)

CC ?= cc
# Debian's hardening flags (dpkg-buildflags with hardening=+all); a package
# build passes its own CFLAGS/LDFLAGS, which replace these.
CFLAGS ?= -O2 -g -fstack-protector-strong -fstack-clash-protection -fcf-protection \
	  -Wformat -Werror=format-security
CPPFLAGS ?= -D_FORTIFY_SOURCE=2
LDFLAGS ?= -Wl,-z,relro -Wl,-z,now
WARNINGS = -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	   -Wno-unused-parameter -Wno-missing-field-initializers
PKGS = libsystemd libssl libcrypto libmagic
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

ifeq ($(SANITIZE),1)
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CFLAGS := -O1 -g $(SAN_FLAGS)
CPPFLAGS :=
LDFLAGS := $(SAN_FLAGS)
endif

ALL_CFLAGS = $(WARNINGS) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -Isrc/lib -MMD -MP

LIB_SRC := $(sort $(wildcard src/lib/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libashd.a

PROGRAMS := $(sort $(patsubst src/%/main.c,%,$(wildcard src/*/main.c)))
PROGRAM_BINS := $(PROGRAMS:%=$(BUILD)/%)
# Programs for the build tree only (tests, demo), not installed.
NOINST_PROGRAMS := ashd-launch

UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))
HELPER_BINS := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/helpers/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all programs deps deps-test check check-tiers asan demo demo-run install clean format fuzz
.DEFAULT_GOAL := all
# Keep objects of tests and helpers between runs.
.SECONDARY:

# Packages first, then a fresh make: pkg-config flags are read when the
# Makefile is parsed, so they must exist by then.
all: deps
	@$(MAKE) --no-print-directory programs

programs: $(PROGRAM_BINS)

deps:
	@packaging/deps.sh install build

deps-test:
	@packaging/deps.sh install all

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

define program_rule
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard src/$(1)/*.c))) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(PKG_LIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(PKG_LIBS)

$(BUILD)/obj/tests/unit/%.o: ALL_CFLAGS += $(CHECK_CFLAGS) -Itests/unit

$(BUILD)/tests/helpers/%: $(BUILD)/obj/tests/helpers/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The test tiers: tests/run-tiers.sh runs each and prints the sum as the last
# line, "N passed, N failed".
check: deps-test
	@$(MAKE) --no-print-directory check-tiers

# ASHD_MAKE_VARS lets a test run make on this same build (make install).
check-tiers: $(PROGRAM_BINS) $(UNIT_BINS) $(HELPER_BINS) $(if $(filter 1,$(SANITIZE)),,$(FUZZ_BINS))
	@BUILD=$(BUILD) PYTHON=$(PYTHON) ASHD_SANITIZE=$(SANITIZE) ASHD_MAKE_VARS="BUILD=$(BUILD) SANITIZE=$(SANITIZE)" \
		tests/run-tiers.sh

# libFuzzer targets, tests/fuzz/fuzz-NAME.c over the library, built with
# clang; "make fuzz" runs each for FUZZ_SECONDS on its seed corpus (the
# check tiers run them briefly). New inputs go to a scratch corpus under
# $(BUILD), never into the tree.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=gnu11 -Isrc/lib

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(PKG_LIBS)

fuzz: deps-test $(FUZZ_BINS)
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

asan: deps-test
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SANITIZE=1 check-tiers

demo: deps-test
	@$(MAKE) --no-print-directory demo-run

demo-run: $(PROGRAM_BINS) $(HELPER_BINS)
	@BUILD=$(BUILD) tests/demo.sh

# Files installed as they are; units get their ExecStart paths fixed up.
SYSTEM_UNITS := $(wildcard units/*.socket units/*.service units/*.target)
SYSTEM_UNIT_DROPINS := $(wildcard units/*.d/*.conf)
USER_UNITS := $(wildcard units/user/*.socket units/user/*.service)
CONFIGS := $(wildcard etc/ashd/*)
MAN1_PAGES := $(wildcard man/*.1)
MAN7_PAGES := $(wildcard man/*.7)
INSTALL_BINS = $(filter-out $(NOINST_PROGRAMS:%=$(BUILD)/%),$(PROGRAM_BINS))
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

# NODEPS=1: build without asking apt for packages first (a package build,
# whose build dependencies are installed already).
install: $(if $(filter 1,$(NODEPS)),programs,all)
	install -d $(DESTDIR)$(BINDIR)
	$(if $(INSTALL_BINS),install -m 0755 $(INSTALL_BINS) $(DESTDIR)$(BINDIR)/)
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(USERUNITDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(CATALOGDIR)
	for f in $(SYSTEM_UNITS); do $(SUBST) $$f >$(DESTDIR)$(UNITDIR)/$${f##*/} || exit 1; done
	for f in $(SYSTEM_UNIT_DROPINS); do d=$${f#units/}; install -d $(DESTDIR)$(UNITDIR)/$${d%/*} && \
		$(SUBST) $$f >$(DESTDIR)$(UNITDIR)/$$d || exit 1; done
	for f in $(USER_UNITS); do $(SUBST) $$f >$(DESTDIR)$(USERUNITDIR)/$${f##*/} || exit 1; done
	install -m 0644 tmpfiles.d/ashd.conf $(DESTDIR)$(TMPFILESDIR)/ashd.conf
	install -m 0644 sysusers.d/ashd.conf $(DESTDIR)$(SYSUSERSDIR)/ashd.conf
	install -m 0644 catalog/ashd.catalog $(DESTDIR)$(CATALOGDIR)/ashd.catalog
	$(if $(CONFIGS),install -d $(DESTDIR)$(SYSCONFDIR)/ashd && install -m 0644 $(CONFIGS) $(DESTDIR)$(SYSCONFDIR)/ashd/)
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	$(if $(MAN1_PAGES),install -m 0644 $(MAN1_PAGES) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(MAN7_PAGES),install -m 0644 $(MAN7_PAGES) $(DESTDIR)$(MANDIR)/man7/)
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/ashd/tls

format:
	clang-format -i $(wildcard src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h tests/helpers/*.c)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# make deb: a Debian package of the working tree as it is (tracked files and
# untracked ones that are not ignored, so uncommitted work is included),
# built by dpkg-buildpackage in $(BUILD)/deb/ashd-VERSION from
# packaging/debian, then checked by lintian. The .deb, .changes, .buildinfo
# and lintian.txt end up in $(BUILD)/deb/. Build-Depends are generated from
# "packaging/deps.sh list build", less the build-essential packages that
# every Debian build has (and lintian objects to seeing listed). The build
# gets a clean environment: this make's variables (BUILD, PREFIX, DESTDIR…)
# would otherwise reach the package's own make through the environment.
# lintian's scratch files go to $(BUILD)/deb/tmp (it leaves some behind).
# DEB_VERSION=V builds the same tree as version V instead of the changelog's
# (the first line of the package's copy of the changelog is rewritten), e.g.
# a newer package to test an upgrade with: make deb-build DEB_VERSION=0.1.0+test1
.PHONY: deb deb-build
# The working tree's files for a package, NUL-separated (a deleted file that
# git still tracks is left out). Recipes check for a git checkout first.
TREE_FILES = git ls-files -z -co --exclude-standard | \
	xargs -0 sh -c 'for f; do if [ -f "$$f" ] || [ -L "$$f" ]; then printf "%s\0" "$$f"; fi; done' sh
DEB_DIR = $(abspath $(BUILD))/deb
DEB_BUILD_ESSENTIAL = gcc g++ make libc6-dev libc-dev dpkg-dev
LINTIAN_FAIL_ON ?= error,warning

deb:
	@packaging/deps.sh install build
	@packaging/deps.sh install package
	@$(MAKE) --no-print-directory deb-build

deb-build:
	@set -e; \
	version=$$(dpkg-parsechangelog -l packaging/debian/changelog -S Version); \
	debversion='$(DEB_VERSION)'; version=$${debversion:-$$version}; \
	src=$(DEB_DIR)/ashd-$$version; \
	git rev-parse --git-dir >/dev/null; \
	rm -rf $(DEB_DIR); mkdir -p $$src; \
	$(TREE_FILES) | tar --null -T - -cf - | tar -C $$src -xf -; \
	rm -rf $$src/debian; cp -R packaging/debian $$src/debian; rm $$src/debian/control.in; \
	if [ -n "$$debversion" ]; then \
		sed -i "1s/([^)]*)/($$debversion)/" $$src/debian/changelog; \
		test "$$(dpkg-parsechangelog -l $$src/debian/changelog -S Version)" = "$$debversion"; \
	fi; \
	deps=$$(packaging/deps.sh list build | grep -vxF $(DEB_BUILD_ESSENTIAL:%=-e %) | \
		sed 's/^/               /; $$!s/$$/,/'); \
	awk -v deps="$$deps" '{ sub(/^ *@BUILD_DEPENDS@$$/, deps); print }' \
		packaging/debian/control.in >$$src/debian/control; \
	echo "deb: building in $$src"; \
	cd $$src && env -i PATH="$$PATH" HOME="$$HOME" DEB_BUILD_OPTIONS="$$DEB_BUILD_OPTIONS" \
		dpkg-buildpackage -us -uc -b -Jauto
	@echo "deb: lintian"; \
	mkdir -p $(DEB_DIR)/tmp; \
	TMPDIR=$(DEB_DIR)/tmp lintian --display-info --pedantic --fail-on $(LINTIAN_FAIL_ON) \
		$(DEB_DIR)/ashd_*.changes >$(DEB_DIR)/lintian.txt 2>&1; rc=$$?; \
	rm -rf $(DEB_DIR)/tmp; cat $(DEB_DIR)/lintian.txt; ls $(DEB_DIR)/*.deb; exit $$rc

# make rpm: packaging/rpm/ashd.spec built by rpmbuild -bb on this Debian
# machine, from a tarball of the working tree (as for "make deb"), into
# $(BUILD)/rpm/. Debian has neither systemd's rpm macros nor an rpm
# database of the installed packages: packaging/rpm/macros.debian stands in
# for the macros, the directories come from pkg-config, and BuildRequires are
# not checked (--nodeps: apt has installed deps.sh's build list instead).
# This checks the spec's build, install and file list, not Fedora's
# scriptlets.
.PHONY: rpm rpm-build
RPM_DIR = $(abspath $(BUILD))/rpm

rpm:
	@packaging/deps.sh install build
	@packaging/deps.sh install package
	@$(MAKE) --no-print-directory rpm-build

rpm-build:
	@set -e; \
	version=$$(sed -n 's/^Version: *//p' packaging/rpm/ashd.spec); \
	git rev-parse --git-dir >/dev/null; \
	rm -rf $(RPM_DIR); mkdir -p $(RPM_DIR)/SOURCES $(RPM_DIR)/tmp; \
	$(TREE_FILES) | tar --null -T - --transform "s,^,ashd-$$version/," -czf $(RPM_DIR)/SOURCES/ashd-$$version.tar.gz; \
	cp sysusers.d/ashd.conf $(RPM_DIR)/SOURCES/ashd.sysusers; \
	env -i PATH="$$PATH" HOME="$$HOME" rpmbuild -bb --nodeps \
		--load packaging/rpm/macros.debian \
		--define '_topdir $(RPM_DIR)' --define '_tmppath $(RPM_DIR)/tmp' \
		--define '_unitdir $(UNITDIR)' --define '_userunitdir $(USERUNITDIR)' \
		--define '_tmpfilesdir $(TMPFILESDIR)' --define '_sysusersdir $(SYSUSERSDIR)' \
		--define '_journalcatalogdir $(CATALOGDIR)' \
		packaging/rpm/ashd.spec; \
	ls $(RPM_DIR)/RPMS/*/*.rpm

# make bench: the whole chain (htparser → patplex → dirplex → sendfile,
# through ashd-launch) with its access log in a private journald, the same
# without the log, and nginx, side by side under wrk (bench/run.sh,
# bench/bench.py); a table on the terminal and $(BUILD)/bench/results.md.
# BENCH_QUICK=1: one 1 s round of fewer scenarios (under a minute);
# BENCH_SECONDS, BENCH_ROUNDS, BENCH_SCENARIOS, BENCH_PROFILE=1 (strace).
# wrk and nginx come from "deps.sh install bench", not needed by make check.
.PHONY: bench bench-run
bench: deps-test
	@packaging/deps.sh install bench
	@$(MAKE) --no-print-directory bench-run

bench-run: $(PROGRAM_BINS) $(BUILD)/bench/protocol-floor
	@BUILD=$(BUILD) PYTHON=$(PYTHON) bench/run.sh

# What the ashd(7) protocol's own system calls cost per request (bench/RESULTS.md).
$(BUILD)/bench/protocol-floor: bench/protocol-floor.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<
