/* SPDX-License-Identifier: MIT */
/*
 * Host facts for dmakit probe (include/dmakit/probe.h). Every read is
 * allowed to fail: a missing file is a fact, recorded as absent.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <dmakit/probe.h>

#include "alloc.h"

#define CAP_IPC_LOCK_BIT 14

/* Copy @src into @dst of @len bytes, truncating, always terminated. */
static void copy_string(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void path_join(char *buf, size_t len, const char *root, const char *path)
{
	snprintf(buf, len, "%s%s", root ? root : "", path);
}

static bool exists(const char *root, const char *path)
{
	char full[PATH_MAX];
	struct stat st;

	path_join(full, sizeof(full), root, path);
	return stat(full, &st) == 0;
}

/* The first line of a small file, without its newline; false if unreadable. */
static bool read_line(const char *root, const char *path, char *buf, size_t len)
{
	char full[PATH_MAX];
	FILE *f;
	bool ok;

	path_join(full, sizeof(full), root, path);
	f = fopen(full, "re");
	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

static void read_kernel_release(const char *root, struct dmakit_probe *p)
{
	struct utsname u;

	if (read_line(root, "/proc/sys/kernel/osrelease", p->kernel_release,
		      sizeof(p->kernel_release)))
		return;
	if ((!root || !*root) && uname(&u) == 0)
		copy_string(p->kernel_release, sizeof(p->kernel_release), u.release);
}

static void read_capabilities(const char *root, struct dmakit_probe *p)
{
	char full[PATH_MAX], line[256];
	FILE *f;

	path_join(full, sizeof(full), root, "/proc/self/status");
	f = fopen(full, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long caps;

		if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			p->cap_ipc_lock = (caps >> CAP_IPC_LOCK_BIT) & 1;
			break;
		}
	}
	fclose(f);
}

static int cmp_group(const void *a, const void *b)
{
	const struct dmakit_probe_group *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static int cmp_device(const void *a, const void *b)
{
	const struct dmakit_probe_device *x = a, *y = b;

	return strcmp(x->address, y->address);
}

static int read_group_devices(const char *root, struct dmakit_probe_group *g)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	size_t cap = 0;

	snprintf(link, sizeof(link), "/sys/kernel/iommu_groups/%u/devices", g->id);
	path_join(path, sizeof(path), root, link);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		struct dmakit_probe_device *d;
		char drv[PATH_MAX];
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		if (g->nr_devices == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct dmakit_probe_device *grown =
				dmakit__realloc(g->devices, ncap * sizeof(*grown));

			if (!grown) {
				closedir(dir);
				return -ENOMEM;
			}
			g->devices = grown;
			cap = ncap;
		}
		d = &g->devices[g->nr_devices++];
		memset(d, 0, sizeof(*d));
		copy_string(d->address, sizeof(d->address), de->d_name);
		if (snprintf(link, sizeof(link), "%s/%s/driver", path, de->d_name) >= (int)sizeof(link))
			continue;
		n = readlink(link, drv, sizeof(drv) - 1);
		if (n > 0) {
			const char *base;

			drv[n] = '\0';
			base = strrchr(drv, '/');
			copy_string(d->driver, sizeof(d->driver), base ? base + 1 : drv);
		}
	}
	closedir(dir);
	if (g->nr_devices > 1)
		qsort(g->devices, g->nr_devices, sizeof(*g->devices), cmp_device);
	return 0;
}

/* Open a type1v2 container on the group and read GET_INFO. */
static void query_group(const char *root, struct dmakit_probe_group *g)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c;
	char group_path[PATH_MAX], rel[64], container_path[PATH_MAX];
	int ret;

	snprintf(rel, sizeof(rel), "/dev/vfio/%u", g->id);
	path_join(group_path, sizeof(group_path), root, rel);
	path_join(container_path, sizeof(container_path), root, "/dev/vfio/vfio");
	dmakit_container_config_init(&cfg);
	cfg.backend = DMAKIT_BACKEND_LINUX;
	cfg.group_path = group_path;
	cfg.container_path = container_path;
	ret = dmakit_container_open(&cfg, &c);
	if (ret < 0) {
		g->container_error = ret;
		return;
	}
	ret = dmakit_container_query_info(c, &g->info);
	g->container_error = ret;
	g->queried = ret == 0;
	dmakit_container_close(c);
}

static int read_groups(const char *root, struct dmakit_probe *p)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	size_t cap = 0, i;
	int ret = 0;

	path_join(path, sizeof(path), root, "/sys/kernel/iommu_groups");
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		char *end;
		unsigned long id = strtoul(de->d_name, &end, 10);

		if (de->d_name[0] == '.' || *end || id > UINT_MAX)
			continue;
		if (p->nr_groups == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct dmakit_probe_group *grown =
				dmakit__realloc(p->groups, ncap * sizeof(*grown));

			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			p->groups = grown;
			cap = ncap;
		}
		memset(&p->groups[p->nr_groups], 0, sizeof(p->groups[0]));
		p->groups[p->nr_groups++].id = (unsigned int)id;
	}
	closedir(dir);
	if (ret < 0)
		return ret;
	if (p->nr_groups > 1)
		qsort(p->groups, p->nr_groups, sizeof(*p->groups), cmp_group);
	for (i = 0; i < p->nr_groups; i++) {
		struct dmakit_probe_group *g = &p->groups[i];
		char rel[64];
		size_t d;

		ret = read_group_devices(root, g);
		if (ret < 0)
			return ret;
		snprintf(rel, sizeof(rel), "/dev/vfio/%u", g->id);
		g->vfio_node = exists(root, rel);
		g->all_vfio_pci = g->nr_devices > 0;
		for (d = 0; d < g->nr_devices; d++)
			if (strcmp(g->devices[d].driver, "vfio-pci") != 0)
				g->all_vfio_pci = false;
		g->container_error = -ENODEV;
		if (g->vfio_node && g->all_vfio_pci && p->dev_vfio)
			query_group(root, g);
	}
	return 0;
}

DMAKIT_EXPORT void dmakit_probe_free(struct dmakit_probe *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nr_groups; i++)
		dmakit__free(p->groups[i].devices);
	dmakit__free(p->groups);
	dmakit__free(p);
}

DMAKIT_EXPORT int dmakit_probe_host(const char *root, struct dmakit_probe **out)
{
	struct dmakit_probe *p;
	struct rlimit rl;
	char line[64];
	int ret;

	p = dmakit__calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	read_kernel_release(root, p);
	p->vfio_loaded = exists(root, "/sys/module/vfio");
	p->type1_loaded = exists(root, "/sys/module/vfio_iommu_type1");
	p->vfio_pci_loaded = exists(root, "/sys/module/vfio_pci");
	p->iommufd_loaded = exists(root, "/sys/module/iommufd");
	p->dev_vfio = exists(root, "/dev/vfio/vfio");
	p->dev_iommu = exists(root, "/dev/iommu");
	if (read_line(root, "/sys/module/vfio_iommu_type1/parameters/dma_entry_limit", line,
		      sizeof(line))) {
		char *end;
		unsigned long v = strtoul(line, &end, 10);

		if (end != line && v <= UINT32_MAX) {
			p->has_dma_entry_limit = true;
			p->dma_entry_limit = (uint32_t)v;
		}
	}
	p->memlock_soft = p->memlock_hard = UINT64_MAX;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
		p->memlock_soft = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
		p->memlock_hard = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_max;
	}
	read_capabilities(root, p);
	ret = read_groups(root, p);
	if (ret < 0) {
		dmakit_probe_free(p);
		return ret;
	}
	*out = p;
	return 0;
}
