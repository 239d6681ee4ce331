// SPDX-License-Identifier: GPL-2.0
/*
 * A program built with `pkg-config --cflags --libs numabuf` by the host
 * tests that check an installed or packaged library (install.sh, deb.sh,
 * lib-unit.sh): exits 0 when numabuf_open() fails with -ENOENT, as it must
 * on a host without the module, and the header's constants are there.
 */
#include <errno.h>
#include <numabuf.h>

int main(void)
{
	struct numabuf_ctx *ctx;
	int ret = numabuf_open(&ctx);

	if (!ret)
		numabuf_close(ctx);
	return ret == -ENOENT && NUMABUF_NODE_LOCAL == -1 ? 0 : 1;
}
