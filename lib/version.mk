# numabuf version, shared by lib/Makefile and tools/Makefile.
# SOVERSION changes only when the ABI of libnumabuf.so breaks.
NUMABUF_VERSION   = 0.4.0
NUMABUF_SOVERSION = 0
