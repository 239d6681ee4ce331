// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libnumabuf: buffers near a device.
 *
 * The kernel shows each device's node (dev_to_node()) as the sysfs
 * attribute numa_node of the device, -1 when it has none; a device is
 * found by its name under /sys/bus/BUS/devices/, the buses tried in
 * alphabetical order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define SYS_BUS	"/sys/bus"

/* A name that can only name a device directory, never reach elsewhere. */
static int device_name_ok(const char *device)
{
	size_t len;

	if (!device)
		return 0;
	len = strlen(device);
	return len > 0 && len < NUMABUF_DEVICE_NAME_MAX &&
	       !strchr(device, '/') && !strstr(device, "..") &&
	       strcmp(device, ".") != 0;
}

/* The number in sysfs file @path: 0, -ENOENT, or another -errno. */
static int read_int(const char *path, long *v)
{
	char text[32], *end;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, text, sizeof(text) - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	text[n] = '\0';
	errno = 0;
	*v = strtol(text, &end, 10);
	if (errno || end == text || (*end && *end != '\n'))
		return -EINVAL;
	return 0;
}

NB_EXPORT int numabuf_device_node(const char *device, int *node)
{
	char path[PATH_MAX];
	struct dirent **bus;
	int i, n, err = -ENODEV;
	long v = -1;

	if (!device_name_ok(device) || !node)
		return -EINVAL;

	n = scandir(SYS_BUS, &bus, NULL, alphasort);
	if (n < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	for (i = 0; i < n && err == -ENODEV; i++) {
		if (bus[i]->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), SYS_BUS "/%s/devices/%s",
			 bus[i]->d_name, device);
		if (access(path, F_OK))
			continue;
		strncat(path, "/numa_node", sizeof(path) - strlen(path) - 1);
		err = read_int(path, &v);
		/* A device without the attribute has no node either. */
		if (err == -ENOENT) {
			v = -1;
			err = 0;
		}
		if (!err)
			*node = v < 0 || v > INT_MAX ? -1 : (int)v;
	}
	for (i = 0; i < n; i++)
		free(bus[i]);
	free(bus);
	return err;
}

NB_EXPORT int numabuf_alloc_near(struct numabuf_ctx *ctx, size_t size,
				 const char *device, unsigned int flags,
				 struct numabuf **buf)
{
	int node, err;

	if (!ctx || !buf)
		return -EINVAL;
	err = numabuf_device_node(device, &node);
	if (err)
		return err;
	if (node >= 0)
		return numabuf_alloc(ctx, size, node, flags, buf);

	err = numabuf_alloc(ctx, size, NUMABUF_NODE_LOCAL, flags, buf);
	return err ? err : NUMABUF_NEAR_NO_NODE;
}
