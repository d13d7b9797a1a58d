/* SPDX-License-Identifier: MIT */
/*
 * dmakit probe [--json] [--root DIR]: what this host allows. Every missing or
 * forbidden thing is said in one plain sentence with what to do about it.
 * Exit 0 when at least one group's container could be opened and queried,
 * 3 when VFIO is unusable here (the report says why).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <dmakit/dmakit.h>

#include "cli.h"
#include "json.h"

#define MAX_PROBLEMS 64
#define PROBLEM_LEN 320

struct problems {
	size_t n;
	char text[MAX_PROBLEMS][PROBLEM_LEN];
};

static void problem(struct problems *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct problems *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->n == MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->text[ps->n++], PROBLEM_LEN, fmt, ap);
	va_end(ap);
}

static void human_bytes(char *buf, size_t len, uint64_t bytes)
{
	if (bytes == UINT64_MAX)
		snprintf(buf, len, "unlimited");
	else if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0)
		snprintf(buf, len, "%" PRIu64 " GiB", bytes >> 30);
	else if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0)
		snprintf(buf, len, "%" PRIu64 " MiB", bytes >> 20);
	else if (bytes >= (1ull << 10) && bytes % (1ull << 10) == 0)
		snprintf(buf, len, "%" PRIu64 " KiB", bytes >> 10);
	else
		snprintf(buf, len, "%" PRIu64 " bytes", bytes);
}

static void collect_problems(const struct dmakit_probe *p, struct problems *ps)
{
	size_t i, d;

	if (!p->vfio_loaded)
		problem(ps, "VFIO is not loaded: load it as root with 'modprobe vfio-pci'.");
	else if (!p->type1_loaded)
		problem(ps, "The type1 IOMMU driver is not loaded: load it as root with 'modprobe vfio_iommu_type1'.");
	if (p->vfio_loaded && !p->dev_vfio)
		problem(ps, "There is no /dev/vfio/vfio although vfio is loaded: check that devtmpfs is mounted on /dev.");
	if (!p->dev_iommu)
		problem(ps, "There is no /dev/iommu, so iommufd (no mapping-count limit) is not available: it needs Linux 6.2 or later with CONFIG_IOMMUFD and 'modprobe iommufd'.");
	if (p->nr_groups == 0)
		problem(ps, "There are no IOMMU groups: the IOMMU is off or absent; enable VT-d or AMD-Vi in the firmware and boot with intel_iommu=on or amd_iommu=on.");
	if (!p->cap_ipc_lock && p->memlock_soft != UINT64_MAX) {
		char lim[32];

		human_bytes(lim, sizeof(lim), p->memlock_soft);
		problem(ps, "RLIMIT_MEMLOCK is %s and this process lacks CAP_IPC_LOCK, so VFIO will pin at most %s of guest memory: raise it with 'ulimit -l' or limits.conf, or run the VMM with CAP_IPC_LOCK.",
			lim, lim);
	}
	for (i = 0; i < p->nr_groups; i++) {
		const struct dmakit_probe_group *g = &p->groups[i];

		for (d = 0; d < g->nr_devices; d++)
			if (strcmp(g->devices[d].driver, "vfio-pci") != 0 && p->vfio_loaded)
				problem(ps, "Group %u: device %s is bound to %s, not vfio-pci: bind it with 'driverctl set-override %s vfio-pci' to assign it.",
					g->id, g->devices[d].address,
					g->devices[d].driver[0] ? g->devices[d].driver : "no driver",
					g->devices[d].address);
		if (g->all_vfio_pci && !g->vfio_node)
			problem(ps, "Group %u: /dev/vfio/%u does not exist although its devices are bound to vfio-pci: check udev and devtmpfs.",
				g->id, g->id);
		else if (g->all_vfio_pci && !g->queried)
			problem(ps, "Group %u: opening a container on /dev/vfio/%u failed (%s): %s",
				g->id, g->id, dmakit_errno_name(g->container_error),
				g->container_error == -EACCES || g->container_error == -EPERM
					? "run as root or give this user access to the group file."
				: g->container_error == -EBUSY
					? "another process (a running VM?) holds the group."
					: "see the kernel log (dmesg).");
	}
}

static void print_pgsizes(FILE *out, uint64_t pgsizes)
{
	static const char *const names[] = { "4K", "8K", "16K", "32K", "64K", "128K", "256K",
					     "512K", "1M", "2M", "4M", "8M", "16M", "32M", "64M",
					     "128M", "256M", "512M", "1G" };
	unsigned int bit, shown = 0;

	for (bit = 12; bit < 64; bit++) {
		if (!(pgsizes & (1ull << bit)))
			continue;
		if (shown++ == 8) {
			fprintf(out, " ...");
			break;
		}
		if (bit - 12 < sizeof(names) / sizeof(names[0]))
			fprintf(out, " %s", names[bit - 12]);
		else
			fprintf(out, " 2^%u", bit);
	}
	fprintf(out, " (0x%" PRIx64 ")", pgsizes);
}

static void print_human(const struct dmakit_probe *p, const struct problems *ps)
{
	char soft[32], hard[32];
	size_t i, d;

	printf("kernel           %s\n", p->kernel_release[0] ? p->kernel_release : "unknown");
	printf("modules          vfio %s, vfio_iommu_type1 %s, vfio_pci %s, iommufd %s\n",
	       p->vfio_loaded ? "yes" : "no", p->type1_loaded ? "yes" : "no",
	       p->vfio_pci_loaded ? "yes" : "no", p->iommufd_loaded ? "yes" : "no");
	printf("devices          /dev/vfio/vfio %s, /dev/iommu %s\n",
	       p->dev_vfio ? "present" : "absent", p->dev_iommu ? "present" : "absent");
	if (p->has_dma_entry_limit)
		printf("dma_entry_limit  %" PRIu32 " mappings per type1 container\n", p->dma_entry_limit);
	else
		printf("dma_entry_limit  unknown (vfio_iommu_type1 is not loaded)\n");
	human_bytes(soft, sizeof(soft), p->memlock_soft);
	human_bytes(hard, sizeof(hard), p->memlock_hard);
	printf("memlock          %s (hard %s), CAP_IPC_LOCK %s\n", soft, hard,
	       p->cap_ipc_lock ? "yes" : "no");
	printf("iommu groups     %zu\n", p->nr_groups);
	for (i = 0; i < p->nr_groups; i++) {
		const struct dmakit_probe_group *g = &p->groups[i];

		printf("  group %u:", g->id);
		for (d = 0; d < g->nr_devices; d++)
			printf(" %s (%s)", g->devices[d].address,
			       g->devices[d].driver[0] ? g->devices[d].driver : "no driver");
		printf("\n");
		if (!g->queried)
			continue;
		printf("    DMA_AVAIL    ");
		if (g->info.has_dma_avail)
			printf("%" PRIu32 "\n", g->info.dma_avail);
		else
			printf("not reported\n");
		printf("    page sizes  ");
		print_pgsizes(stdout, g->info.pgsizes);
		printf("\n    IOVA ranges ");
		for (d = 0; d < g->info.nr_iova_ranges && d < DMAKIT_INFO_MAX_RANGES; d++)
			printf(" 0x%" PRIx64 "-0x%" PRIx64, g->info.iova_ranges[d].start,
			       g->info.iova_ranges[d].end);
		printf("\n");
	}
	for (i = 0; i < ps->n; i++)
		printf("%s%s\n", i == 0 ? "\n" : "", ps->text[i]);
}

static void print_json(const struct dmakit_probe *p, const struct problems *ps)
{
	struct json j;
	size_t i, d;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "kernel_release", p->kernel_release[0] ? p->kernel_release : NULL);
	json_object_begin(&j, "modules");
	json_bool(&j, "vfio", p->vfio_loaded);
	json_bool(&j, "vfio_iommu_type1", p->type1_loaded);
	json_bool(&j, "vfio_pci", p->vfio_pci_loaded);
	json_bool(&j, "iommufd", p->iommufd_loaded);
	json_object_end(&j);
	json_bool(&j, "dev_vfio", p->dev_vfio);
	json_bool(&j, "dev_iommu", p->dev_iommu);
	if (p->has_dma_entry_limit)
		json_u64(&j, "dma_entry_limit", p->dma_entry_limit);
	else
		json_null(&j, "dma_entry_limit");
	json_object_begin(&j, "memlock");
	if (p->memlock_soft == UINT64_MAX)
		json_null(&j, "soft");
	else
		json_u64(&j, "soft", p->memlock_soft);
	if (p->memlock_hard == UINT64_MAX)
		json_null(&j, "hard");
	else
		json_u64(&j, "hard", p->memlock_hard);
	json_object_end(&j);
	json_bool(&j, "cap_ipc_lock", p->cap_ipc_lock);
	json_array_begin(&j, "groups");
	for (i = 0; i < p->nr_groups; i++) {
		const struct dmakit_probe_group *g = &p->groups[i];

		json_object_begin(&j, NULL);
		json_u64(&j, "id", g->id);
		json_array_begin(&j, "devices");
		for (d = 0; d < g->nr_devices; d++) {
			json_object_begin(&j, NULL);
			json_string(&j, "address", g->devices[d].address);
			json_string(&j, "driver", g->devices[d].driver[0] ? g->devices[d].driver : NULL);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_bool(&j, "vfio_node", g->vfio_node);
		json_bool(&j, "queried", g->queried);
		if (!g->queried) {
			json_string(&j, "error", g->all_vfio_pci && g->vfio_node
					 ? dmakit_errno_name(g->container_error) : "not bound to vfio-pci");
		} else {
			if (g->info.has_dma_avail)
				json_u64(&j, "dma_avail", g->info.dma_avail);
			else
				json_null(&j, "dma_avail");
			json_hex(&j, "iova_pgsizes", g->info.pgsizes);
			json_array_begin(&j, "iova_ranges");
			for (d = 0; d < g->info.nr_iova_ranges && d < DMAKIT_INFO_MAX_RANGES; d++) {
				json_object_begin(&j, NULL);
				json_hex(&j, "start", g->info.iova_ranges[d].start);
				json_hex(&j, "end", g->info.iova_ranges[d].end);
				json_object_end(&j);
			}
			json_array_end(&j);
		}
		json_object_end(&j);
	}
	json_array_end(&j);
	json_array_begin(&j, "problems");
	for (i = 0; i < ps->n; i++)
		json_string(&j, NULL, ps->text[i]);
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

int cmd_probe(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct problems ps;
	struct dmakit_probe *p;
	const char *root = NULL;
	bool json = false, usable = false;
	size_t i;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jr:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'r':
			root = optarg;
			break;
		case 'h':
			printf("usage: dmakit probe [--json] [--root DIR]\n\n"
			       "Report what this host allows for VFIO DMA mappings: kernel, VFIO\n"
			       "modules, dma_entry_limit, RLIMIT_MEMLOCK and CAP_IPC_LOCK, IOMMU groups,\n"
			       "and for each group bound to vfio-pci the container's DMA_AVAIL, page\n"
			       "sizes and IOVA ranges. --root reads /sys, /dev and /proc under DIR.\n"
			       "Exit 0 when a container could be queried, 3 when VFIO is unusable.\n");
			return CLI_EXIT_OK;
		case 'V':
			printf("dmakit %s\n", dmakit_version());
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("probe: unexpected argument '%s'", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	ret = dmakit_probe_host(root, &p);
	if (ret < 0) {
		cli_error("probe: %s", dmakit_strerror(ret));
		return CLI_EXIT_HOST;
	}
	ps.n = 0;
	collect_problems(p, &ps);
	for (i = 0; i < p->nr_groups; i++)
		usable |= p->groups[i].queried;
	if (!usable && p->nr_groups > 0 && ps.n == 0)
		problem(&ps, "No IOMMU group is bound to vfio-pci, so no container could be opened: bind a device to vfio-pci to assign it.");
	if (json)
		print_json(p, &ps);
	else
		print_human(p, &ps);
	dmakit_probe_free(p);
	return usable ? CLI_EXIT_OK : CLI_EXIT_HOST;
}
