# numabuf version, shared by lib/Makefile and tools/Makefile: the release is
# defined once, in the file VERSION at the top of the tree.
# SOVERSION changes only when the ABI of libnumabuf.so breaks.
NUMABUF_VERSION_FILE := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))../VERSION)
NUMABUF_VERSION   := $(shell cat $(NUMABUF_VERSION_FILE) 2>/dev/null)
ifeq ($(NUMABUF_VERSION),)
$(error $(NUMABUF_VERSION_FILE) is missing or empty: it holds the release, e.g. 0.5.0)
endif
NUMABUF_SOVERSION = 0
