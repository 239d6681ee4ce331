// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * numabufctl: alloc: allocate a buffer through the device, print it,
 * free it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verify.h"

/* Long options without a short form. */
#define OPT_VERIFY	1000
#define OPT_POOL	1001
#define OPT_NO_POOL	1002
#define OPT_NEAR	1003
#define OPT_DMA32	1004
#define OPT_WC		1005
#define OPT_UC		1006

#include "common.h"

/*
 * Why the allocation failed, from libnumabuf's numabuf_diagnose(), after
 * the errno's text; returns the exit status.
 */
static int alloc_failed(int err, uint64_t size, int node, unsigned int flags,
			const char *where)
{
	struct numabuf_diag d;
	char size_text[SIZE_STRLEN];
	int known;

	format_size(size, size_text, sizeof(size_text));
	fprintf(stderr, "%s: cannot allocate %s %s: %s", prog, size_text, where,
		strerror(-err));
	known = !numabuf_diagnose(err, (size_t)size, node, flags, &d);
	if (known && (d.cause != NUMABUF_CAUSE_UNKNOWN || err == -ENOMEM ||
		      err == -EPERM || err == -EDQUOT))
		fprintf(stderr, ": %s", d.msg);
	fputc('\n', stderr);
	if (known && d.limit_hit)
		return EXIT_LIMIT;
	return exit_status(err);
}

static const char *near_hint(int err)
{
	switch (err) {
	case -ENODEV:
		return " (no such device under /sys/bus/*/devices)";
	case -EINVAL:
		return " (a device name as sysfs shows it, such as 0000:81:00.0)";
	default:
		return "";
	}
}

/* Why the device would not open; returns the exit status. */
static int open_failed(int err)
{
	const char *path = getenv(NUMABUF_DEVICE_ENV);
	int dflt = !path || !*path;

	if (dflt)
		path = NUMABUF_DEVICE_PATH;
	fprintf(stderr, "%s: cannot open %s: %s", prog, path, strerror(-err));
	if (err == -ENOENT && dflt && access("/sys/module/numabuf", F_OK)) {
		fprintf(stderr, " (the numabuf module is not loaded: load it "
			"with 'modprobe numabuf')\n");
		return EXIT_NO_MODULE;
	}
	if (err == -ENOENT && dflt)
		fprintf(stderr, " (the module is loaded but udev made no "
			"device: check udev, or 'mknod %s c' with the numbers "
			"in /sys/class/misc/%s/dev)", path, NUMABUF_DEVICE_NAME);
	else if (err == -ENOENT)
		fprintf(stderr, " ($%s names it)", NUMABUF_DEVICE_ENV);
	else if (err == -EACCES || err == -EPERM)
		fprintf(stderr, " (with numabuf's udev rule the device is "
			"root:numabuf 0660: ask to be added to group numabuf, "
			"then log in again)");
	else if (err == -ENOTTY || err == -EINVAL)
		fprintf(stderr, " (not the numabuf device)");
	fputc('\n', stderr);
	return exit_status(err);
}

static const char *attach_hint(int err)
{
	switch (err) {
	case -EPERM:
		return " (attaching lets the device read and write the"
		       " memory: it needs CAP_SYS_RAWIO or CAP_SYS_ADMIN)";
	case -EBUSY:
		return " (the device is bound to vfio-pci: its DMA belongs to"
		       " user space; map the buffer through VFIO instead)";
	case -ERANGE:
		return " (the device cannot reach this memory: its DMA mask"
		       " ends below the buffer and no IOMMU translates for it;"
		       " allocate on another node, or lower memory)";
	case -ENODEV:
		return " (no such PCI or platform device, or it does no DMA;"
		       " give the name sysfs shows, e.g. 0000:81:00.0)";
	case -EEXIST:
		return " (already attached to it)";
	case -ENOSPC:
		return " (the buffer has the most attachments allowed)";
	default:
		return "";
	}
}

static const char *tristate(int v)
{
	return v > 0 ? "yes" : v == 0 ? "no" : "unknown";
}

/*
 * @near: the device of --near, else NULL; @dev_node: its node, -1 for
 * none (then the buffer is on the caller's node).
 */
static void print_alloc(const struct numabuf *buf, uint64_t phys,
			uint32_t source, const char *near, int dev_node,
			const struct verify_result *vr,
			const struct numabuf_attachinfo *ai, uint32_t n_attach)
{
	uint32_t i;
	const char *src = source_name(source);
	char size[SIZE_STRLEN];
	struct json j;

	if (opts.json) {
		json_init(&j, stdout, opts.pretty);
		json_begin_object(&j, NULL);
		json_u64(&j, "size", numabuf_size(buf));
		json_int(&j, "node", numabuf_node(buf));
		if (phys)
			json_u64(&j, "phys", phys);
		if (src)
			json_string(&j, "source", src);
		if (near) {
			json_string(&j, "device", near);
			if (dev_node < 0)
				json_null(&j, "device-node");
			else
				json_int(&j, "device-node", dev_node);
		}
		if (vr) {
			json_begin_object(&j, "verify");
			json_u64(&j, "pages", vr->pages);
			json_u64(&j, "pages_on_node", vr->on_node);
			if (vr->contiguous < 0)
				json_null(&j, "contiguous");
			else
				json_bool(&j, "contiguous", vr->contiguous);
			json_end_object(&j);
		}
		if (n_attach) {
			json_begin_array(&j, "attach");
			for (i = 0; i < n_attach; i++) {
				json_begin_object(&j, NULL);
				json_string(&j, "device", ai[i].device);
				json_u64(&j, "dma-addr", ai[i].dma_addr);
				json_end_object(&j);
			}
			json_end_array(&j);
		}
		json_end_object(&j);
		json_finish(&j);
	} else {
		format_size(numabuf_size(buf), size, sizeof(size));
		printf("size %s node %d phys ", size, numabuf_node(buf));
		if (phys)
			printf("%#" PRIx64, phys);
		else
			printf("-");
		if (src)
			printf(" source %s", src);
		if (near && dev_node < 0)
			printf(" device %s device-node -", near);
		else if (near)
			printf(" device %s device-node %d", near, dev_node);
		printf("\n");
		if (vr)
			printf("verify pages %zu on_node %zu contiguous %s\n",
			       vr->pages, vr->on_node,
			       tristate(vr->contiguous));
		for (i = 0; i < n_attach; i++)
			printf("attach %s dma-addr %#" PRIx64 "\n",
			       ai[i].device, ai[i].dma_addr);
	}
	fflush(stdout);
}

/* Wait for SIGINT or SIGTERM, blocked by the caller. */
static void hold(const sigset_t *set)
{
	int sig;

	while (sigwait(set, &sig))
		;
}

int do_alloc(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "size",	required_argument,	NULL, 's' },
		{ "node",	required_argument,	NULL, 'n' },
		{ "preferred",	no_argument,		NULL, 'P' },
		{ "hold",	no_argument,		NULL, 'H' },
		{ "verify",	no_argument,		NULL, OPT_VERIFY },
		{ "pool",	no_argument,		NULL, OPT_POOL },
		{ "no-pool",	no_argument,		NULL, OPT_NO_POOL },
		{ "attach",	required_argument,	NULL, 'a' },
		{ "near",	required_argument,	NULL, OPT_NEAR },
		{ "dma32",	no_argument,		NULL, OPT_DMA32 },
		{ "wc",		no_argument,		NULL, OPT_WC },
		{ "uc",		no_argument,		NULL, OPT_UC },
		{ NULL,		0,			NULL, 0 },
	};
	const char *size_arg = NULL, *node_arg = NULL, *near = NULL;
	unsigned int flags = 0;
	int node, dev_node = -1, do_hold = 0, do_verify = 0, c, err;
	int ret = EXIT_FAILURE;
	struct verify_result vr;
	struct numabuf_ctx *ctx;
	struct numabuf *buf;
	struct numabuf_bufinfo info;
	struct numabuf_attachinfo attach[NUMABUF_ATTACH_MAX];
	uint32_t n_attach = 0, i;
	uint64_t size;
	char where[NUMABUF_DEVICE_NAME_MAX + 32];
	sigset_t sigs;

	memset(attach, 0, sizeof(attach));
	optind = 0;	/* glibc: start over on this argv */
	while ((c = ctl_getopt(argc, argv, "alloc", "s:n:PHa:",
				long_opts)) != -1) {
		switch (c) {
		case 's':
			size_arg = optarg;
			break;
		case 'n':
			node_arg = optarg;
			break;
		case 'P':
			flags |= NUMABUF_F_PREFERRED;
			break;
		case 'H':
			do_hold = 1;
			break;
		case OPT_VERIFY:
			do_verify = 1;
			break;
		case OPT_POOL:
			flags |= NUMABUF_F_POOL;
			break;
		case OPT_NO_POOL:
			flags |= NUMABUF_F_NO_POOL;
			break;
		case 'a':
			if (n_attach == NUMABUF_ATTACH_MAX)
				return usage_error("alloc: at most %d --attach",
						   NUMABUF_ATTACH_MAX);
			if (!*optarg ||
			    strlen(optarg) >= sizeof(attach[0].device))
				return usage_error("alloc: invalid device '%s'",
						   optarg);
			strcpy(attach[n_attach++].device, optarg);
			break;
		case OPT_NEAR:
			near = optarg;
			break;
		case OPT_DMA32:
			flags |= NUMABUF_F_DMA32;
			break;
		case OPT_WC:
			flags |= NUMABUF_F_WC;
			break;
		case OPT_UC:
			flags |= NUMABUF_F_UC;
			break;
		default:
			return opt_exit;
		}
	}
	if (optind < argc)
		return usage_error("alloc: unexpected argument '%s'",
				   argv[optind]);
	if (!size_arg)
		return usage_error("alloc: --size is required");
	if ((flags & NUMABUF_F_POOL) && (flags & NUMABUF_F_NO_POOL))
		return usage_error("alloc: --pool and --no-pool exclude each other");
	if ((flags & NUMABUF_F_WC) && (flags & NUMABUF_F_UC))
		return usage_error("alloc: --wc and --uc exclude each other");
	if (near && node_arg)
		return usage_error("alloc: --node and --near exclude each other");
	if (!node_arg)
		node_arg = "local";

	err = parse_size(size_arg, &size);
	if (err == -ERANGE)
		return usage_error("alloc: size '%s' is too large", size_arg);
	if (err)
		return usage_error("alloc: invalid size '%s' (examples: 4096, "
				   "4K, 4KiB, 1.5M, 2G)", size_arg);
	if (!size)
		return usage_error("alloc: size '%s' is zero", size_arg);
	if (size > SIZE_MAX)
		return usage_error("alloc: size '%s' is too large", size_arg);
	if (parse_node(node_arg, &node))
		return usage_error("alloc: invalid node '%s' (a node id or "
				   "'local')", node_arg);

	/* Blocked from the start: a signal must not skip the free. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (do_hold)
		sigprocmask(SIG_BLOCK, &sigs, NULL);

	err = numabuf_open(&ctx);
	if (err) {
		return open_failed(err);
	}

	if (near) {
		err = numabuf_device_node(near, &dev_node);
		if (err) {
			fprintf(stderr, "%s: device '%s': %s%s\n", prog, near,
				strerror(-err), near_hint(err));
			goto out_close;
		}
		err = numabuf_alloc_near(ctx, (size_t)size, near, flags, &buf);
	} else {
		err = numabuf_alloc(ctx, (size_t)size, node, flags, &buf);
	}
	if (err < 0) {
		if (near && dev_node >= 0)
			snprintf(where, sizeof(where), "near %s (node %d)",
				 near, dev_node);
		else if (near)
			snprintf(where, sizeof(where), "near %s", near);
		else
			snprintf(where, sizeof(where), "on node %s", node_arg);
		ret = alloc_failed(err, size, near ? (dev_node >= 0 ?
				   dev_node : NUMABUF_NODE_LOCAL) : node,
				   flags, where);
		goto out_close;
	}
	if (err == NUMABUF_NEAR_NO_NODE)
		fprintf(stderr, "%s: device %s has no NUMA node; allocated on the caller's node %d\n",
			prog, near, numabuf_node(buf));

	err = numabuf_info(buf, &info);
	if (err) {
		fprintf(stderr, "%s: cannot query the buffer: %s\n", prog,
			strerror(-err));
		goto out_free;
	}

	if (do_verify) {
		err = verify_buffer(numabuf_addr(buf), numabuf_size(buf),
				    numabuf_node(buf), &vr);
		if (err) {
			fprintf(stderr, "%s: cannot verify the buffer: %s\n",
				prog, strerror(-err));
			goto out_free;
		}
	}

	for (i = 0; i < n_attach; i++) {
		err = numabuf_attach(buf, attach[i].device,
				     &attach[i].dma_addr);
		if (err) {
			fprintf(stderr, "%s: cannot attach the buffer to %s: "
				"%s%s\n", prog, attach[i].device,
				strerror(-err), attach_hint(err));
			ret = exit_status(err);
			goto out_free;
		}
	}

	print_alloc(buf, info.phys, info.source, near, dev_node,
		    do_verify ? &vr : NULL, attach, n_attach);
	if (do_verify && (vr.on_node != vr.pages || vr.contiguous == 0)) {
		if (vr.other_node >= 0)
			fprintf(stderr, "%s: %zu of %zu pages are not on node "
				"%d (one is on node %d)\n", prog,
				vr.pages - vr.on_node, vr.pages,
				numabuf_node(buf), vr.other_node);
		if (vr.unplaced)
			fprintf(stderr, "%s: move_pages(2) gives no node for "
				"%zu of %zu pages (%s)\n", prog, vr.unplaced,
				vr.pages, strerror(-vr.unplaced_err));
		if (vr.contiguous == 0)
			fprintf(stderr, "%s: the buffer is not physically "
				"contiguous\n", prog);
		goto out_free;
	}
	if (do_hold)
		hold(&sigs);
	ret = EXIT_SUCCESS;

out_free:
	err = numabuf_free(buf);
	if (err) {
		fprintf(stderr, "%s: cannot free the buffer: %s\n", prog,
			strerror(-err));
		ret = EXIT_FAILURE;
	}
out_close:
	numabuf_close(ctx);
	return ret;
}
