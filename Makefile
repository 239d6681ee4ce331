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
KSRC := Kbuild $(wildcard kmod/*.c kmod/*.h) kmod/uapi/linux/numabuf.h

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

tools: lib
	$(MAKE) -C tools

# examples/: programs users start from (RDMA and DPDK ones only where
# libibverbs-dev and libdpdk-dev are installed).
examples: lib
	$(MAKE) -C examples

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

UDEVDIR ?= /lib/udev/rules.d

install: module lib tools examples
	$(MAKE) -C $(KDIR) M=$(MODDIR) modules_install
	$(MAKE) -C lib install
	$(MAKE) -C tools install
	install -D -m 0644 udev/60-numabuf.rules $(DESTDIR)$(UDEVDIR)/60-numabuf.rules

clean:
	rm -rf $(BUILD)
	-$(MAKE) -C lib clean
	-$(MAKE) -C tools clean
	-$(MAKE) -C examples clean
