# numabuf: top-level build.  `make` builds the module (for the running kernel,
# or the newest installed headers), the library, the tools and the examples.
#
#   make module KVER=<release>   module for one kernel -> build/<release>/numabuf.ko
#   make modules                 module for every installed kernel with headers
#   make test-modules KVER=<release> [KDIR=<tree>]
#                                the guest suite's test modules (tests/modules:
#                                nb_importer.ko) -> build/<release>/tests/modules/
#   make lint                    checkpatch --strict, sparse and W=1 on each kernel
#   make check                   the whole suite in QEMU guests on 6.1 and 6.12
#   make demo                    one guest: load the module, a buffer on each node
#   make bench [BENCH_KERNEL=6.12] [BENCH_ARGS=--quick]
#                                numabuf-bench in one guest (default: the 6.1
#                                line; KVER=... on the command line works
#                                too) -> bench/results/
#   make rdmabench [BENCH_KERNEL=6.12] [BENCH_ARGS=--quick]
#                                numabuf-rdmabench in one guest on soft-RoCE:
#                                ibv_reg_mr cost and RDMA throughput of numabuf,
#                                malloc + mlock and hugetlbfs memory
#                                -> bench/results/rdma-LINE.md

SHELL := /bin/bash
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build

# Kernels with headers installed, newest last.
KVERS := $(shell ls -d /lib/modules/*/build 2>/dev/null | cut -d/ -f4 | sort -V)
# The default: the running kernel, else the newest plain (not -rt or -cloud)
# one, else the newest.
KVER ?= $(if $(wildcard /lib/modules/$(shell uname -r)/build),$(shell uname -r),$(or \
	$(lastword $(filter-out %-rt-amd64 %-cloud-amd64,$(KVERS))),$(lastword $(KVERS))))
KDIR = /lib/modules/$(KVER)/build
MODDIR = $(BUILD)/$(KVER)
KSRC := VERSION Kbuild $(wildcard kmod/*.c kmod/*.h) kmod/uapi/linux/numabuf.h

.PHONY: all module modules test-modules lib tools examples lint check demo bench rdmabench deps install clean

all: module lib tools examples

# Each kernel gets its own copy of the sources, so objects of two kernels
# never mix.
module:
	@test -n "$(KVER)" -a -d "$(KDIR)" || { echo "no kernel headers for '$(KVER)'" >&2; exit 1; }
	@mkdir -p $(MODDIR)
	@cp --parents -u $(KSRC) $(MODDIR)/
	$(MAKE) -C $(KDIR) M=$(MODDIR) $(KBUILD_ARGS) modules

modules:
	@for k in $(KVERS); do $(MAKE) --no-print-directory module KVER=$$k || exit 1; done

# The test modules are built apart from numabuf.ko, in a directory of
# their own, and never installed.
TMODDIR = $(MODDIR)/tests/modules
test-modules:
	@test -n "$(KVER)" -a -d "$(KDIR)" || { echo "no kernel headers for '$(KVER)'" >&2; exit 1; }
	@mkdir -p $(TMODDIR)
	@cp -u tests/modules/Kbuild $(wildcard tests/modules/*.c tests/modules/*.h) $(TMODDIR)/
	$(MAKE) -C $(KDIR) M=$(TMODDIR) $(KBUILD_ARGS) modules

lib:
	$(MAKE) -C lib

# tools/ and examples/ call the library's source directory LIBDIR: given
# explicitly, it replaces the install directory LIBDIR of the command line.
tools: lib
	$(MAKE) -C tools LIBDIR=$(TOP)/lib

# examples/: programs users start from (RDMA and DPDK ones only where
# libibverbs-dev and libdpdk-dev are installed).
examples: lib
	$(MAKE) -C examples LIBDIR=$(TOP)/lib

deps:
	$(TOP)/scripts/install-deps.sh

lint: deps
	$(TOP)/scripts/lint.sh

check: deps
	$(MAKE) lib tools examples
	$(TOP)/tests/check.sh

demo: deps
	$(MAKE) lib tools
	$(TOP)/tests/demo.sh

# A kernel line or release for the benchmark's guest: BENCH_KERNEL, else a
# KVER given on the command line, else the 6.1 line.
BENCH_KERNEL ?= $(if $(filter command line,$(origin KVER)),$(KVER),6.1)

bench: deps
	$(MAKE) lib tools
	BENCH_KERNEL=$(BENCH_KERNEL) $(TOP)/bench/run.sh

rdmabench: deps
	$(MAKE) lib tools
	BENCH_KERNEL=$(BENCH_KERNEL) $(TOP)/bench/rdma.sh

# ---- installing -------------------------------------------------------------
# make install [DESTDIR=...] [KVER=...] [PREFIX=/usr/local] [LIBDIR=...] ...
# installs the module (for KVER), the library, numabufctl, the man pages in
# docs/man/, the udev rule, numabuf.service, /etc/numabuf.conf (never over an
# existing one) and the modprobe.d example.  With DESTDIR everything goes
# under DESTDIR (the module through INSTALL_MOD_PATH) and nothing else
# happens; without it, depmod runs and group "numabuf" is created.
# Parts: install-module, install-lib, install-tools, install-man,
# install-data; install-dkms puts the module's sources under
# DKMSSRCDIR/numabuf-VERSION for DKMS (what the numabuf-dkms package holds).
include lib/version.mk

PREFIX         ?= /usr/local
LIBDIR         ?= $(PREFIX)/lib
INCLUDEDIR     ?= $(PREFIX)/include
SBINDIR        ?= $(PREFIX)/sbin
MANDIR         ?= $(PREFIX)/share/man
DOCDIR         ?= $(PREFIX)/share/doc/numabuf
SYSCONFDIR     ?= /etc
# Where udev and systemd look, whatever the prefix (their own pkg-config
# files say where that is).
UDEVDIR        ?= $(or $(shell pkg-config --variable=udevdir udev 2>/dev/null),/lib/udev)/rules.d
SYSTEMDUNITDIR ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
DKMSSRCDIR     ?= /usr/src
MODPROBE       ?= /sbin/modprobe
UDEVADM        ?= /bin/udevadm
INSTALL        ?= install
# Module directory under /lib/modules/KVER for make install (DKMS uses
# updates/dkms).
INSTALL_MOD_DIR ?= extra

MANPAGES := $(wildcard docs/man/*.[0-9])
DKMS_FILES := VERSION dkms.conf Kbuild $(wildcard kmod/*.c kmod/*.h) kmod/uapi/linux/numabuf.h

.PHONY: install-module install-lib install-tools install-man install-data install-dkms

install: install-module install-lib install-tools install-man install-data
ifeq ($(DESTDIR),)
	@getent group numabuf >/dev/null || groupadd --system numabuf || \
		{ echo "install: cannot create group numabuf (groupadd --system numabuf); /dev/numabuf stays root-only until it exists" >&2; exit 1; }
	@echo "install: done; 'systemctl daemon-reload; systemctl enable --now numabuf' loads the module at boot and applies $(SYSCONFDIR)/numabuf.conf"
endif

# depmod (kbuild's, and ours) only for a real install: a staged one must
# not touch the running system, nor leave a partial modules.dep behind.
install-module: module
	$(MAKE) -C $(KDIR) M=$(MODDIR) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) DEPMOD=true modules_install
ifeq ($(DESTDIR),)
	depmod -a $(KVER)
endif

install-lib: lib
	$(MAKE) -C lib install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) \
		LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR)

install-tools: tools
	$(MAKE) -C tools install DESTDIR=$(DESTDIR) SBINDIR=$(SBINDIR) LIBDIR=$(TOP)/lib

# Whatever man pages docs/man/ has, each into its section's directory.
install-man:
	@for f in $(MANPAGES); do \
		s=$${f##*.}; \
		echo "$(INSTALL) -D -m 0644 $$f $(DESTDIR)$(MANDIR)/man$$s/$${f##*/}"; \
		$(INSTALL) -D -m 0644 $$f $(DESTDIR)$(MANDIR)/man$$s/$${f##*/} || exit 1; \
	done

SUBST_UNIT = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		 -e 's|@MODPROBE@|$(MODPROBE)|g' -e 's|@UDEVADM@|$(UDEVADM)|g'

install-data:
	$(INSTALL) -D -m 0644 udev/60-numabuf.rules $(DESTDIR)$(UDEVDIR)/60-numabuf.rules
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDUNITDIR)
	$(SUBST_UNIT) systemd/numabuf.service.in >$(DESTDIR)$(SYSTEMDUNITDIR)/numabuf.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/numabuf.service
	$(INSTALL) -D -m 0644 conf/modprobe.conf $(DESTDIR)$(DOCDIR)/examples/modprobe.conf
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/numabuf.conf ]; then \
		echo "install: keeping the existing $(DESTDIR)$(SYSCONFDIR)/numabuf.conf (the new one's comments: conf/numabuf.conf)"; \
	else \
		echo "$(INSTALL) -D -m 0644 conf/numabuf.conf $(DESTDIR)$(SYSCONFDIR)/numabuf.conf"; \
		$(INSTALL) -D -m 0644 conf/numabuf.conf $(DESTDIR)$(SYSCONFDIR)/numabuf.conf; \
	fi

# The module's sources as DKMS wants them: then
# "dkms install numabuf/$(NUMABUF_VERSION)".
install-dkms:
	@for f in $(DKMS_FILES); do \
		$(INSTALL) -D -m 0644 $$f $(DESTDIR)$(DKMSSRCDIR)/numabuf-$(NUMABUF_VERSION)/$$f || exit 1; \
	done
	@echo "install-dkms: sources in $(DESTDIR)$(DKMSSRCDIR)/numabuf-$(NUMABUF_VERSION)"

clean:
	rm -rf $(BUILD)
	-$(MAKE) -C lib clean
	-$(MAKE) -C tools clean
	-$(MAKE) -C examples clean
