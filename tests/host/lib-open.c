// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabuf_open() through the shared library: with NUMABUF_DEVICE naming a
 * missing path it must fail with -ENOENT and leave *ctx alone.
 * Exit status 0 on success.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <numabuf.h>

int main(void)
{
	struct numabuf_ctx *ctx = NULL;
	int ret;

	ret = numabuf_open(&ctx);
	if (ret != -ENOENT || ctx) {
		fprintf(stderr, "lib-open: numabuf_open: %d (%s), want -ENOENT\n",
			ret, ret < 0 ? strerror(-ret) : "success");
		numabuf_close(ctx);
		return 1;
	}
	return 0;
}
