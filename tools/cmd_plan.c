/* SPDX-License-Identifier: MIT */
/*
 * dmakit plan [OPTIONS] FILE | -- QEMU-ARGS...: will this VM's DMA mappings
 * fit? FILE is a QEMU command line, a libvirt domain XML or a scenario file
 * (docs/scenario-format.md). The layout is built in the library and every
 * number is read from the listeners over the emulated kernel (docs/plan.md).
 * Exit: 0 fits, 1 fails, 2 bad input, 3 the host refuses (no iommufd).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dmakit/dmakit.h>
#include <dmakit/profiles.h>

#include "cli.h"
#include "json.h"
#include "plan.h"

struct sec_row {
	uint64_t gpa, size, granularity, granules, mappings;
	const char *mr, *what, *manager;
};

#define MAX_ROWS 64

struct cplan {
	const struct plan_container *pc;
	size_t nrows;
	struct sec_row rows[MAX_ROWS];
	struct dmakit_listener_budget b;
	uint64_t boot_mappings, boot_locked;
	bool check_runs;
	uint64_t est_boot, est_worst, limit;
	bool fails_boot, fails_runtime;
	uint64_t peak, required;
	bool viommu_unbounded;
	uint64_t locked_peak, iopt_peak, kobj_peak;
	bool memlock_fails;
	bool fits;
	/* the virtio-mem block size fix */
	bool bs_fix_found;
	const char *bs_dev;
	uint64_t bs_value;
	bool bs_impossible;
};

static const char *disp_name(enum dmakit_section_disposition d)
{
	switch (d) {
	case DMAKIT_SECTION_PLAIN: return "plain";
	case DMAKIT_SECTION_RAM_DEVICE: return "ram-device";
	case DMAKIT_SECTION_DISCARD_MANAGED: return "discard-managed";
	case DMAKIT_SECTION_IOMMU: return "viommu";
	case DMAKIT_SECTION_SKIP_NOT_RAM: return "skipped (not RAM)";
	case DMAKIT_SECTION_SKIP_PROTECTED: return "skipped (protected)";
	case DMAKIT_SECTION_SKIP_EMPTY: return "skipped (empty)";
	default: return "skipped";
	}
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* IO page-table bytes to map @bytes with 4 KiB IOMMU pages (4-level
 * tables): one table page per 2 MiB, per 1 GiB and per 512 GiB, plus the
 * top. */
static uint64_t iopt_bytes(uint64_t bytes)
{
	if (!bytes)
		return 4096;
	return (ceil_div(bytes, 2ull << 20) + ceil_div(bytes, 1ull << 30) +
		ceil_div(bytes, 512ull << 30) + 1) * 4096;
}

struct vmem_worst {
	uint64_t granules, sections, chunks_present, granules_present, sections_present;
};

static void vmem_terms(const struct plan_vm *vm, const struct plan_layout *L, size_t i,
		       uint64_t bs, struct vmem_worst *w)
{
	struct dmakit_virtio_mem_info info;
	uint64_t slot;
	unsigned int nb = 1;

	dmakit_virtio_mem_info(L->vmem[i], &info);
	if (!bs)
		bs = info.block_size;
	memset(w, 0, sizeof(*w));
	w->granules = info.region_size / bs;
	if (vm->vmems[i].dynamic_memslots)
		dmakit_virtio_mem_decide_memslots(info.region_size, bs, 256, &slot, &nb);
	w->sections = nb;
	/* what the layout at boot counts of it now */
	if (!vm->vmems[i].hotplug && !vm->vmems[i].dynamic_memslots) {
		w->granules_present = info.region_size / info.block_size;
		w->chunks_present = w->granules_present;
		w->sections_present = 1;
	}
}

static void compute(const struct plan_vm *vm, const struct plan_host *host,
		    const struct plan_layout *L, const struct plan_container *pc, struct cplan *p)
{
	struct dmakit_listener_stats st;
	struct dmakit_container_stats cs;
	struct dmakit_listener *l = pc->listener;
	uint64_t base_g, base_s, worst_g = 0, worst_s = 0, base_chunks, rdm_bytes = 0;
	uint64_t plain_bytes = 0;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->pc = pc;
	dmakit_listener_budget(l, &p->b);
	dmakit_listener_stats(l, &st);
	dmakit_container_stats(dmakit_listener_container(l), &cs);
	p->boot_mappings = st.live_mappings;
	p->boot_locked = cs.locked_bytes;
	for (i = 0; i < dmakit_as_section_count(L->as) && p->nrows < MAX_ROWS; i++) {
		struct dmakit_section s;
		struct dmakit_listener_section_info si;
		struct sec_row *r = &p->rows[p->nrows];
		struct dmakit_discard_manager *dm;

		dmakit_as_section(L->as, i, &s);
		if (dmakit_listener_section_info(l, s.gpa, &si) < 0)
			continue;
		r->gpa = s.gpa;
		r->size = s.size;
		r->mr = dmakit_mr_name(s.mr);
		r->what = disp_name(si.disposition);
		r->granularity = si.granularity;
		r->granules = si.granularity ? si.size / si.granularity : 0;
		r->mappings = si.mappings;
		dm = dmakit_mr_discard_manager(s.mr);
		r->manager = !dm ? "" : dmakit_discard_kind(dm) == DMAKIT_DISCARD_VIRTIO_MEM ? "virtio-mem" : "guest_memfd";
		if (si.disposition == DMAKIT_SECTION_PLAIN || si.disposition == DMAKIT_SECTION_RAM_DEVICE)
			plain_bytes += si.size;
		if (si.disposition == DMAKIT_SECTION_DISCARD_MANAGED && dm &&
		    dmakit_discard_kind(dm) == DMAKIT_DISCARD_GUEST_MEMFD)
			rdm_bytes += si.size;
		p->nrows++;
	}
	/* The worst case: every virtio-mem device present with all its
	 * memslots active and every block plugged; every shared page shared. */
	base_g = p->b.rdm_granules_as;
	base_s = p->b.rdm_sections;
	base_chunks = p->b.rdm_chunks;
	if (L->as == L->sysmem) {
		for (i = 0; i < vm->nr_vmems; i++) {
			struct vmem_worst w;

			vmem_terms(vm, L, i, 0, &w);
			base_g -= w.granules_present;
			base_s -= w.sections_present;
			base_chunks -= w.chunks_present;
			worst_g += w.granules;
			worst_s += w.sections;
			rdm_bytes += vm->vmems[i].size;
		}
	}
	p->limit = pc->iommufd ? 0 : host->dma_entry_limit;
	p->check_runs = !pc->iommufd && p->b.rdm_sections > 0;
	p->est_boot = p->b.qemu_estimate;
	if (base_s + worst_s)
		p->est_worst = base_g + worst_g + L->max_memslots - (base_s + worst_s);
	p->fails_boot = p->check_runs && p->est_boot > p->limit;
	p->fails_runtime = !pc->iommufd && (base_s + worst_s) && p->est_worst > p->limit;
	p->peak = p->b.plain_mappings + base_chunks + worst_g;
	if (p->b.iommu_sections) {
		if (vm->viommu_bound)
			p->peak += vm->viommu_bound * p->b.iommu_sections;
		else
			p->viommu_unbounded = true;
	}
	p->required = p->peak;
	if (p->est_boot > p->required && p->check_runs)
		p->required = p->est_boot;
	if (p->est_worst > p->required && !pc->iommufd)
		p->required = p->est_worst;
	p->locked_peak = plain_bytes + rdm_bytes + vm->viommu_bound * 4096;
	if (p->b.iommu_sections)
		p->locked_peak = vm->viommu_bound * 4096;
	p->iopt_peak = iopt_bytes(p->locked_peak);
	p->kobj_peak = p->peak * DMAKIT_KERNEL_VFIO_DMA_BYTES;
	p->memlock_fails = host->memlock != UINT64_MAX && p->locked_peak > host->memlock;
	p->fits = !p->memlock_fails &&
		  (pc->iommufd || (!p->fails_boot && !p->fails_runtime && p->peak <= p->limit));
	if (p->viommu_unbounded)
		p->fits = p->fits && true; /* guest-driven; said in the output */
	/* The smallest virtio-mem block size that fits (type1, no CVM). */
	if (!pc->iommufd && !p->fits && vm->nr_vmems && !L->gmfd && L->as == L->sysmem) {
		p->bs_impossible = true;
		for (i = 0; i < vm->nr_vmems; i++) {
			struct vmem_worst cur, w;
			uint64_t bs, page = vm->vmems[i].page_size;

			vmem_terms(vm, L, i, 0, &cur);
			for (bs = 1ull << 20; bs <= vm->vmems[i].size; bs <<= 1) {
				uint64_t g, s, est, peak;

				if (bs < page || vm->vmems[i].size % bs ||
				    vm->vmems[i].requested_size % bs)
					continue;
				vmem_terms(vm, L, i, bs, &w);
				g = base_g + worst_g - cur.granules + w.granules;
				s = base_s + worst_s - cur.sections + w.sections;
				est = g + L->max_memslots - s;
				peak = p->peak - cur.granules + w.granules;
				if (est <= p->limit && peak <= p->limit) {
					p->bs_fix_found = true;
					p->bs_impossible = false;
					p->bs_dev = vm->vmems[i].id;
					p->bs_value = bs;
					break;
				}
			}
			if (p->bs_fix_found)
				break;
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Limit profiles (docs/profiles.md)                                          */

/* One profile's answer for one type1 container. */
struct prow {
	enum dmakit_limit_policy policy;
	bool absent_unlimited;
	uint64_t vmm_limit;       /* what QEMU's check compares with; 0: unchecked */
	bool starts, worst_ok;
	uint64_t boot_bytes, worst_bytes; /* vfio_dma + IO page tables (plan's figure) */
	const char *charged_to;
	struct dmakit_profile_bound force;
	uint64_t budget;
};

static uint64_t kernel_bytes(uint64_t mappings, uint64_t locked)
{
	return mappings * DMAKIT_KERNEL_VFIO_DMA_BYTES + iopt_bytes(locked);
}

static void profile_eval(const struct plan_host *host, const struct cplan *p,
			 enum dmakit_limit_policy pol, bool absent_unlimited, struct prow *r)
{
	bool check_ok_boot, check_ok_worst;

	memset(r, 0, sizeof(*r));
	r->policy = pol;
	r->absent_unlimited = absent_unlimited;
	r->budget = host->budget ? host->budget : DMAKIT_DEFAULT_KERNEL_BUDGET;
	r->boot_bytes = kernel_bytes(p->boot_mappings, p->boot_locked);
	r->worst_bytes = kernel_bytes(p->peak, p->locked_peak);
	switch (pol) {
	case DMAKIT_LIMIT_COUNT:
		r->vmm_limit = p->limit;
		r->charged_to = "nobody (vfio_dma not memcg-charged)";
		break;
	case DMAKIT_LIMIT_REPORT_UNLIMITED:
		r->vmm_limit = DMAKIT_VFIO_DMA_AVAIL_UNLIMITED;
		r->charged_to = "memcg (proposed GFP_KERNEL_ACCOUNT)";
		break;
	case DMAKIT_LIMIT_ACCOUNT_BYTES:
		r->vmm_limit = DMAKIT_VFIO_DMA_AVAIL_UNLIMITED;
		r->charged_to = "the container's budget";
		break;
	case DMAKIT_LIMIT_DROP_CAP:
		r->vmm_limit = absent_unlimited ? 0 : DMAKIT_QEMU_DEFAULT_DMA_MAX_MAPPINGS;
		r->charged_to = "memcg (proposed GFP_KERNEL_ACCOUNT)";
		break;
	}
	dmakit_profile_force_bound(pol, host->dma_entry_limit, host->budget, &r->force);
	check_ok_boot = !p->check_runs || !r->vmm_limit || p->est_boot <= r->vmm_limit;
	check_ok_worst = !r->vmm_limit || !p->est_worst || p->est_worst <= r->vmm_limit;
	r->starts = check_ok_boot;
	r->worst_ok = check_ok_worst && !p->memlock_fails;
	if (pol == DMAKIT_LIMIT_COUNT) {
		r->starts = r->starts && p->boot_mappings <= p->limit;
		r->worst_ok = p->fits;
	} else if (pol == DMAKIT_LIMIT_ACCOUNT_BYTES) {
		/* the top table is the domain's: not charged */
		r->starts = r->starts && r->boot_bytes - 4096 <= r->budget;
		r->worst_ok = r->worst_ok && r->worst_bytes - 4096 <= r->budget;
	}
	if (!r->starts)
		r->worst_ok = false;
}

static const char *profile_label(const struct prow *r, char *buf, size_t len)
{
	if (r->policy == DMAKIT_LIMIT_DROP_CAP)
		snprintf(buf, len, "drop-cap, VMM reads absent as %s",
			 r->absent_unlimited ? "unlimited" : "65535");
	else
		snprintf(buf, len, "%s", dmakit_limit_policy_name(r->policy));
	return buf;
}

static void force_text(const struct prow *r, char *buf, size_t len)
{
	char a[32];

	plan_fmt_size(a, len < sizeof(a) ? len : sizeof(a), r->force.bytes);
	if (r->policy == DMAKIT_LIMIT_COUNT) {
		struct dmakit_profile_mapping_cost w;

		dmakit_profile_mapping_worst(&w);
		snprintf(buf, len, "%s (limit x %" PRIu64 " B)", a, w.total);
	} else if (r->policy == DMAKIT_LIMIT_ACCOUNT_BYTES)
		snprintf(buf, len, "%s (the budget)", a);
	else
		snprintf(buf, len, "no type1 bound (IOVA space: %s)", a);
}

/* The profiles side by side for one container: count, report-unlimited,
 * account-bytes, drop-cap with both VMM readings. */
#define NR_PROWS 5
static void profile_rows(const struct plan_host *host, const struct cplan *p, struct prow *rows)
{
	profile_eval(host, p, DMAKIT_LIMIT_COUNT, false, &rows[0]);
	profile_eval(host, p, DMAKIT_LIMIT_REPORT_UNLIMITED, false, &rows[1]);
	profile_eval(host, p, DMAKIT_LIMIT_ACCOUNT_BYTES, false, &rows[2]);
	profile_eval(host, p, DMAKIT_LIMIT_DROP_CAP, false, &rows[3]);
	profile_eval(host, p, DMAKIT_LIMIT_DROP_CAP, true, &rows[4]);
}

static bool prow_selected(const struct plan_host *host, const struct prow *r)
{
	return r->policy == host->profile &&
	       (r->policy != DMAKIT_LIMIT_DROP_CAP || r->absent_unlimited == host->absent_unlimited);
}

static void print_profiles_human(const struct plan_host *host, const struct cplan *p)
{
	struct prow rows[NR_PROWS];
	char lab[64], a[32], b[32], f[96];
	size_t i;

	profile_rows(host, p, rows);
	printf("  kernel profiles    (PROPOSALS except count; docs/profiles.md; * selected)\n");
	printf("    %-40s %-6s %-10s %-22s %-14s %s\n", "profile", "starts", "worst case",
	       "mappings boot/worst", "kernel memory", "most a process can force");
	for (i = 0; i < NR_PROWS; i++) {
		const struct prow *r = &rows[i];
		char m[48];

		snprintf(m, sizeof(m), "%" PRIu64 " / %" PRIu64, p->boot_mappings, p->peak);
		plan_fmt_size(a, sizeof(a), r->worst_bytes);
		force_text(r, f, sizeof(f));
		printf("  %c %-40s %-6s %-10s %-22s %-14s %s\n", prow_selected(host, r) ? '*' : ' ',
		       profile_label(r, lab, sizeof(lab)), r->starts ? "yes" : "NO",
		       r->worst_ok ? "fits" : "FAILS", m, a, f);
	}
	plan_fmt_size(b, sizeof(b), rows[2].budget);
	printf("    kernel memory: vfio_dma objects and IO page tables at worst; account-bytes budget %s\n", b);
}

static void iommufd_line(const struct plan_vm *vm, const struct plan_container *pc, char *buf,
			 size_t len)
{
	size_t i, n;

	n = (size_t)snprintf(buf, len, "-object iommufd,id=iommufd0");
	for (i = 0; i < vm->nr_vfios && n < len; i++)
		if (!vm->vfios[i].iommufd)
			n += (size_t)snprintf(buf + n, len - n, " -device vfio-pci,host=%s,id=%s,iommufd=iommufd0",
					      vm->vfios[i].host, vm->vfios[i].id);
	(void)pc;
}

static const char *cvm_name(enum plan_cvm c)
{
	return c == PLAN_CVM_TDX ? "tdx" : c == PLAN_CVM_SEV_SNP ? "sev-snp" : "none";
}

static const char *viommu_name(enum plan_viommu v)
{
	return v == PLAN_VIOMMU_INTEL ? "intel-iommu" : v == PLAN_VIOMMU_VIRTIO ? "virtio-iommu" : "none";
}

static void print_human(const struct plan_vm *vm, const struct plan_host *host,
			const struct plan_layout *L, struct cplan *ps, size_t n, bool boot_list)
{
	char a[32], b[32], c[32];
	size_t i, k;

	plan_fmt_size(a, sizeof(a), vm->ram);
	plan_fmt_size(b, sizeof(b), L->below_4g);
	plan_fmt_size(c, sizeof(c), L->above_4g);
	printf("plan of %s\n", vm->source);
	printf("VM         %s, %s (max_memslots %u), %s RAM (%s below 4 GiB, %s above)\n",
	       vm->machine == PLAN_Q35 ? "q35" : "pc (i440fx)", vm->kvm ? "KVM" : "TCG",
	       L->max_memslots, a, b, c);
	if (vm->cvm != PLAN_CVM_NONE)
		printf("           confidential guest %s: guest RAM is guest_memfd, shared/private in 4 KiB pages\n",
		       cvm_name(vm->cvm));
	for (i = 0; i < vm->nr_vmems; i++) {
		struct dmakit_virtio_mem_info in;

		dmakit_virtio_mem_info(L->vmem[i], &in);
		plan_fmt_size(a, sizeof(a), in.region_size);
		plan_fmt_size(b, sizeof(b), in.block_size);
		printf("           virtio-mem %s: %s at 0x%" PRIx64 ", block %s, %" PRIu64 " blocks, %u memslot%s%s\n",
		       vm->vmems[i].id, a, in.addr, b, in.region_size / in.block_size, in.nb_memslots,
		       in.nb_memslots == 1 ? "" : "s", vm->vmems[i].hotplug ? " (hotplugged later)" : "");
	}
	if (vm->viommu != PLAN_VIOMMU_NONE)
		printf("           %s: the devices' DMA goes through guest I/O page tables\n",
		       viommu_name(vm->viommu));
	plan_fmt_size(a, sizeof(a), host->memlock);
	printf("host       dma_entry_limit %" PRIu32 ", memlock %s, kernel %s (%s)\n",
	       host->dma_entry_limit, a, host->kernel == DMAKIT_KERNEL_6_18 ? "6.18" :
	       host->kernel == DMAKIT_KERNEL_6_12 ? "6.12" : "6.1",
	       host->source);
	if (n == 0)
		printf("\nno vfio-pci device: nothing is mapped for DMA; the VM fits.\n");
	for (k = 0; k < n; k++) {
		struct cplan *p = &ps[k];
		const struct plan_container *pc = p->pc;
		int fix = 0;

		printf("\ncontainer %zu: %s, devices:", k + 1,
		       pc->iommufd ? "iommufd (no entry limit, QEMU's check off)" : "type1 (/dev/vfio/vfio)");
		for (i = 0; i < pc->nr_devices; i++)
			printf(" %s", pc->devices[i]);
		printf("\n  %-26s %-10s %-12s %-16s %-11s %s\n", "guest addresses", "size", "region",
		       "mapped as", "granularity", "granules");
		for (i = 0; i < p->nrows; i++) {
			const struct sec_row *r = &p->rows[i];
			char rng[48];

			snprintf(rng, sizeof(rng), "0x%" PRIx64 "-0x%" PRIx64, r->gpa, r->gpa + r->size - 1);
			plan_fmt_size(a, sizeof(a), r->size);
			if (r->granularity) {
				plan_fmt_size(b, sizeof(b), r->granularity);
				printf("  %-26s %-10s %-12s %-16s %-11s %" PRIu64 " (%s)\n", rng, a, r->mr,
				       r->what, b, r->granules, r->manager);
			} else
				printf("  %-26s %-10s %-12s %s\n", rng, a, r->mr, r->what);
		}
		if (pc->iommufd)
			printf("  QEMU's check       not run: iommufd reports no dma_max_mappings\n");
		else if (!p->check_runs && !p->fails_runtime)
			printf("  QEMU's check       not run: no discard-managed section\n");
		else {
			if (p->check_runs)
				printf("  QEMU's check       estimate %" PRIu64 " %s limit %" PRIu64 ": %s\n",
				       p->est_boot, p->fails_boot ? ">" : "<=", p->limit,
				       p->fails_boot ? "FAILS at start" : "passes at start");
			if (p->est_worst != p->est_boot || !p->check_runs)
				printf("                     at run time (every memslot active) estimate %" PRIu64 ": %s\n",
				       p->est_worst, p->fails_runtime ? "FAILS" : "passes");
			if (p->fails_boot)
				printf("                     QEMU 10.2+ refuses to start (\"possibly running out of DMA mappings\");\n"
				       "                     QEMU 10.1 and older warn, start, and fail with ENOSPC when the mappings run out\n");
			else if (p->fails_runtime)
				printf("                     QEMU 10.2+ aborts when the guest activates the memslot that crosses it\n");
		}
		printf("  mappings           at boot %" PRIu64 ", at worst %" PRIu64 "%s (type1 limit %" PRIu64 ")\n",
		       p->boot_mappings, p->peak,
		       p->viommu_unbounded ? " + what the guest maps through the vIOMMU" : "",
		       (uint64_t)host->dma_entry_limit);
		if (p->viommu_unbounded)
			printf("                     vIOMMU: one mapping per guest IOTLB entry, churned at guest will; bound: the\n"
			       "                     type1 limit minus the static mappings (65535 x 4 KiB = 256 MiB mapped at once)\n");
		plan_fmt_size(a, sizeof(a), p->boot_locked);
		plan_fmt_size(b, sizeof(b), p->locked_peak);
		printf("  locked memory      at boot %s, at worst %s%s\n", a, b,
		       p->memlock_fails ? "  (MORE than memlock: FAILS)" : "");
		plan_fmt_size(a, sizeof(a), p->iopt_peak);
		plan_fmt_size(b, sizeof(b), p->kobj_peak);
		printf("  kernel memory      IO page tables %s (4 KiB IOMMU pages), vfio_dma objects %s\n", a, b);
		printf("  verdict            %s\n", p->fits ? "FITS" : "FAILS");
		if (host->profile_given && !pc->iommufd)
			print_profiles_human(host, p);
		if (p->fits && !p->memlock_fails)
			continue;
		printf("  fixes\n");
		if (!pc->iommufd && p->required <= UINT32_MAX && !p->memlock_fails) {
			printf("    %d. dma_entry_limit >= %" PRIu64 " (QEMU's check and the worst case):\n", ++fix, p->required);
			printf("         kernel command line  vfio_iommu_type1.dma_entry_limit=%" PRIu64 "\n", p->required);
			printf("         /etc/modprobe.d/     options vfio_iommu_type1 dma_entry_limit=%" PRIu64 "\n", p->required);
		}
		if (p->bs_fix_found) {
			plan_fmt_size(a, sizeof(a), p->bs_value);
			printf("    %d. virtio-mem %s block-size=%s (the smallest that fits)\n", ++fix, p->bs_dev, a);
		}
		if (!pc->iommufd) {
			char line[1024];

			iommufd_line(vm, pc, line, sizeof(line));
			printf("    %d. iommufd (no entry limit%s):\n         %s\n", ++fix,
			       host->iommufd_available ? "" : "; this host has no /dev/iommu", line);
		}
		if (p->memlock_fails) {
			plan_fmt_size(a, sizeof(a), p->locked_peak);
			printf("    %d. memlock >= %s (ulimit -l, LimitMEMLOCK=, or CAP_IPC_LOCK)\n", ++fix, a);
		}
	}
	if (boot_list) {
		for (k = 0; k < n; k++) {
			struct dmakit_container *ct = dmakit_listener_container(ps[k].pc->listener);
			struct dmakit_mapping m;
			uint64_t iova = 0;

			printf("\nboot mappings, container %zu (iova range, size, flags)\n", k + 1);
			while (dmakit_container_seek_mapping(ct, iova, &m) == 0) {
				plan_fmt_size(a, sizeof(a), m.size);
				printf("  0x%" PRIx64 "-0x%" PRIx64 " %s %s\n", m.iova, m.iova + m.size - 1, a,
				       (m.flags & DMAKIT_VFIO_DMA_MAP_FLAG_WRITE) ? "rw" : "r");
				if (m.iova + m.size < m.iova)
					break;
				iova = m.iova + m.size;
			}
		}
	}
}

static void json_check(struct json *j, const struct cplan *p)
{
	json_object_begin(j, "qemu_check");
	json_bool(j, "runs", p->check_runs);
	if (p->check_runs)
		json_u64(j, "estimate", p->est_boot);
	else
		json_null(j, "estimate");
	json_u64(j, "estimate_runtime_worst", p->est_worst);
	json_u64(j, "limit", p->limit);
	json_bool(j, "fails", p->fails_boot);
	json_bool(j, "fails_at_runtime", p->fails_runtime);
	json_string(j, "qemu_10_2", p->fails_boot ? "refuses to start" : p->fails_runtime ? "aborts at run time" : "starts");
	json_string(j, "qemu_10_1", p->fails_boot || p->fails_runtime ? "warns, fails later with ENOSPC" : "starts");
	json_object_end(j);
	json_u64(j, "boot_mappings", p->boot_mappings);
	json_u64(j, "peak_mappings", p->peak);
	json_bool(j, "viommu_guest_driven", p->viommu_unbounded);
	if (p->pc->iommufd)
		json_null(j, "required_dma_entry_limit");
	else
		json_u64(j, "required_dma_entry_limit", p->required);
}

static void print_json(const struct plan_vm *vm, const struct plan_host *host,
		       const struct plan_layout *L, struct cplan *ps, size_t n, bool boot_list)
{
	struct json j;
	size_t i, k;
	const struct cplan *head = NULL;
	bool fits = true;

	for (k = 0; k < n; k++) {
		fits = fits && ps[k].fits;
		if (!head && !ps[k].pc->iommufd)
			head = &ps[k];
	}
	if (!head && n)
		head = &ps[0];
	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "source", vm->source);
	json_bool(&j, "fits", fits);
	json_object_begin(&j, "vm");
	json_string(&j, "machine", vm->machine == PLAN_Q35 ? "q35" : "pc");
	json_string(&j, "accel", vm->kvm ? "kvm" : "tcg");
	json_u64(&j, "max_memslots", L->max_memslots);
	json_u64(&j, "ram", vm->ram);
	json_u64(&j, "ram_below_4g", L->below_4g);
	json_u64(&j, "ram_above_4g", L->above_4g);
	json_string(&j, "cvm", cvm_name(vm->cvm));
	json_string(&j, "viommu", viommu_name(vm->viommu));
	json_object_end(&j);
	json_object_begin(&j, "host");
	json_u64(&j, "dma_entry_limit", host->dma_entry_limit);
	if (host->memlock == UINT64_MAX)
		json_null(&j, "memlock");
	else
		json_u64(&j, "memlock", host->memlock);
	json_object_end(&j);
	if (head) {
		json_check(&j, head);
	}
	json_array_begin(&j, "containers");
	for (k = 0; k < n; k++) {
		const struct cplan *p = &ps[k];

		json_object_begin(&j, NULL);
		json_string(&j, "kind", p->pc->iommufd ? "iommufd" : "type1");
		json_array_begin(&j, "devices");
		for (i = 0; i < p->pc->nr_devices; i++)
			json_string(&j, NULL, p->pc->devices[i]);
		json_array_end(&j);
		json_array_begin(&j, "sections");
		for (i = 0; i < p->nrows; i++) {
			const struct sec_row *r = &p->rows[i];

			json_object_begin(&j, NULL);
			json_hex(&j, "gpa", r->gpa);
			json_u64(&j, "size", r->size);
			json_string(&j, "region", r->mr);
			json_string(&j, "mapped_as", r->what);
			if (r->granularity) {
				json_string(&j, "manager", r->manager);
				json_u64(&j, "granularity", r->granularity);
				json_u64(&j, "granules", r->granules);
			}
			json_u64(&j, "mappings_at_boot", r->mappings);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_check(&j, p);
		json_u64(&j, "locked_bytes_boot", p->boot_locked);
		json_u64(&j, "locked_bytes_peak", p->locked_peak);
		json_u64(&j, "iopt_bytes_peak", p->iopt_peak);
		json_u64(&j, "vfio_dma_bytes_peak", p->kobj_peak);
		json_bool(&j, "memlock_fails", p->memlock_fails);
		json_bool(&j, "fits", p->fits);
		if (host->profile_given && !p->pc->iommufd) {
			struct prow rows[NR_PROWS];
			size_t q;

			profile_rows(host, p, rows);
			json_array_begin(&j, "profiles");
			for (q = 0; q < NR_PROWS; q++) {
				const struct prow *r = &rows[q];

				json_object_begin(&j, NULL);
				json_string(&j, "profile", dmakit_limit_policy_name(r->policy));
				json_string(&j, "vmm_absent_dma_avail", r->absent_unlimited ? "unlimited" : "65535");
				json_bool(&j, "selected", prow_selected(host, r));
				if (r->vmm_limit)
					json_u64(&j, "vmm_dma_max_mappings", r->vmm_limit);
				else
					json_null(&j, "vmm_dma_max_mappings");
				json_bool(&j, "starts", r->starts);
				json_bool(&j, "worst_case_fits", r->worst_ok);
				json_u64(&j, "kernel_bytes_boot", r->boot_bytes);
				json_u64(&j, "kernel_bytes_worst", r->worst_bytes);
				json_string(&j, "charged_to", r->charged_to);
				json_bool(&j, "force_bounded", r->force.bounded);
				json_u64(&j, "force_bytes", r->force.bytes);
				json_object_end(&j);
			}
			json_array_end(&j);
		}
		json_array_begin(&j, "fixes");
		if (!p->fits && !p->pc->iommufd && p->required <= UINT32_MAX) {
			char line[160];

			json_object_begin(&j, NULL);
			json_string(&j, "kind", "dma_entry_limit");
			json_u64(&j, "value", p->required);
			snprintf(line, sizeof(line), "vfio_iommu_type1.dma_entry_limit=%" PRIu64, p->required);
			json_string(&j, "kernel_cmdline", line);
			snprintf(line, sizeof(line), "options vfio_iommu_type1 dma_entry_limit=%" PRIu64, p->required);
			json_string(&j, "modprobe", line);
			json_object_end(&j);
		}
		if (p->bs_fix_found) {
			json_object_begin(&j, NULL);
			json_string(&j, "kind", "virtio_mem_block_size");
			json_string(&j, "device", p->bs_dev);
			json_u64(&j, "value", p->bs_value);
			json_object_end(&j);
		}
		if (!p->fits && !p->pc->iommufd) {
			char line[1024];

			iommufd_line(vm, p->pc, line, sizeof(line));
			json_object_begin(&j, NULL);
			json_string(&j, "kind", "iommufd");
			json_string(&j, "qemu", line);
			json_bool(&j, "host_has_iommufd", host->iommufd_available);
			json_object_end(&j);
		}
		json_array_end(&j);
		if (boot_list) {
			struct dmakit_container *c = dmakit_listener_container(p->pc->listener);
			struct dmakit_mapping m;
			uint64_t iova = 0;

			json_array_begin(&j, "boot_mapping_list");
			while (dmakit_container_seek_mapping(c, iova, &m) == 0) {
				json_object_begin(&j, NULL);
				json_hex(&j, "iova", m.iova);
				json_hex(&j, "size", m.size);
				json_string(&j, "flags", (m.flags & DMAKIT_VFIO_DMA_MAP_FLAG_WRITE) ? "rw" : "r");
				json_object_end(&j);
				if (m.iova + m.size < m.iova)
					break;
				iova = m.iova + m.size;
			}
			json_array_end(&j);
		}
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dmakit plan [OPTIONS] FILE\n"
		"       dmakit plan [OPTIONS] -- QEMU-ARGS...\n"
		"FILE: a QEMU command line, a libvirt domain XML or a scenario file.\n"
		"  --json                 JSON instead of the table\n"
		"  --host FILE            host facts from 'dmakit probe --json'\n"
		"  --dma-entry-limit N    vfio_iommu_type1.dma_entry_limit (default 65535)\n"
		"  --memlock SIZE|unlimited  RLIMIT_MEMLOCK of QEMU (default unlimited)\n"
		"  --kernel 6.1|6.12|6.18 the emulated kernel's profile\n"
		"  --no-iommufd           the host has no /dev/iommu\n"
		"  --boot-mappings        list the mappings made at boot (iova, size, flags)\n"
		"  --profile count|report-unlimited|account-bytes|drop-cap\n"
		"                         the type1 limit profile (PROPOSALS but count;\n"
		"                         docs/profiles.md); shows every profile side by side\n"
		"  --budget SIZE          account-bytes: the container's budget (default 1G)\n"
		"  --absent-cap 65535|unlimited  how the VMM reads an absent DMA_AVAIL\n"
		"  --compare-profiles FILE...  a markdown table of every profile on each FILE\n"
		"exit status: 0 fits, 1 fails, 2 bad input, 3 the host refuses.\n");
}

/* Shared with sim: the host options. 1 handled, 0 not ours, -1 error. */
int plan_host_option(int opt, const char *arg, struct plan_host *host, bool *given);
int plan_host_option(int opt, const char *arg, struct plan_host *host, bool *given)
{
	char err[512];
	uint64_t v;

	switch (opt) {
	case 'H':
		if (plan_parse_host_json(arg, host, err, sizeof(err)) < 0) {
			cli_error("%s", err);
			return -1;
		}
		*given = true;
		return 1;
	case 'L':
		if (plan_parse_size(arg, 1, &v) < 0 || v > UINT32_MAX) {
			cli_error("--dma-entry-limit: bad number '%s'", arg);
			return -1;
		}
		host->dma_entry_limit = (uint32_t)v;
		*given = true;
		return 1;
	case 'M':
		if (!strcmp(arg, "unlimited"))
			host->memlock = UINT64_MAX;
		else if (plan_parse_size(arg, 1, &host->memlock) < 0) {
			cli_error("--memlock: bad size '%s'", arg);
			return -1;
		}
		*given = true;
		return 1;
	case 'K':
		if (!strcmp(arg, "6.1"))
			host->kernel = DMAKIT_KERNEL_6_1;
		else if (!strcmp(arg, "6.12"))
			host->kernel = DMAKIT_KERNEL_6_12;
		else if (!strcmp(arg, "6.18"))
			host->kernel = DMAKIT_KERNEL_6_18;
		else {
			cli_error("--kernel: bad value '%s' (6.1, 6.12, 6.18)", arg);
			return -1;
		}
		return 1;
	case 'F':
		host->iommufd_available = false;
		return 1;
	case 'P':
		if (dmakit_limit_policy_parse(arg, &host->profile) < 0) {
			cli_error("--profile: bad value '%s' (count, report-unlimited, account-bytes, drop-cap)", arg);
			return -1;
		}
		host->profile_given = true;
		return 1;
	case 'G':
		if (!strcmp(arg, "unlimited"))
			host->budget = UINT64_MAX;
		else if (plan_parse_size(arg, 1, &host->budget) < 0 || !host->budget) {
			cli_error("--budget: bad size '%s'", arg);
			return -1;
		}
		host->profile_given = true;
		return 1;
	case 'A':
		if (!strcmp(arg, "65535"))
			host->absent_unlimited = false;
		else if (!strcmp(arg, "unlimited"))
			host->absent_unlimited = true;
		else {
			cli_error("--absent-cap: bad value '%s' (65535, unlimited)", arg);
			return -1;
		}
		host->profile_given = true;
		return 1;
	}
	return 0;
}

/* --compare-profiles: one markdown table, every profile on every FILE. */
static int compare_profiles(int argc, char **argv, const struct plan_host *flags_host,
			    bool flags_given)
{
	static struct plan_vm vm;
	int i, ret = CLI_EXIT_OK;

	printf("| example | profile | starts | worst case | mappings boot / worst | kernel memory at worst | charged to | most one process can force (type1's own bound) |\n");
	printf("|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < argc; i++) {
		struct plan_host host = *flags_host, fhost = *flags_host;
		struct plan_build_opts bo = { DMAKIT_LISTENER_QEMU, false, false };
		struct plan_layout L;
		struct cplan cp;
		const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		bool file_host = false;
		char err[1024];
		size_t k;
		int r;

		plan_vm_init(&vm);
		r = plan_parse_any(argv[i], &vm, &fhost, &file_host, err, sizeof(err));
		if (r == 0)
			r = plan_resolve(&vm, err, sizeof(err));
		if (r < 0) {
			cli_error("%s", err);
			return CLI_EXIT_USAGE;
		}
		if (file_host && !flags_given) {
			/* the file's host facts, the profile flags kept */
			fhost.profile = flags_host->profile;
			fhost.budget = flags_host->budget;
			fhost.absent_unlimited = flags_host->absent_unlimited;
			host = fhost;
		}
		memset(&L, 0, sizeof(L));
		r = plan_layout_build(&vm, &host, &bo, &L, err, sizeof(err));
		if (r < 0) {
			cli_error("%s", err);
			plan_layout_destroy(&L);
			return CLI_EXIT_USAGE;
		}
		for (k = 0; k < L.nr_containers && L.containers[k].iommufd; k++)
			;
		if (k == L.nr_containers) {
			char a[32];

			if (L.nr_containers) {
				compute(&vm, &host, &L, &L.containers[0], &cp);
				plan_fmt_size(a, sizeof(a), kernel_bytes(cp.peak, cp.locked_peak));
				printf("| `%s` | (iommufd: no type1 container) | yes | fits | %" PRIu64 " / %" PRIu64 " | %s | memcg | no count bound (memcg) |\n",
				       base, cp.boot_mappings, cp.peak, a);
			} else
				printf("| `%s` | (no vfio-pci device) | yes | fits | 0 / 0 | 0 | - | - |\n", base);
		} else {
			struct prow rows[NR_PROWS];
			size_t q;

			compute(&vm, &host, &L, &L.containers[k], &cp);
			profile_rows(&host, &cp, rows);
			for (q = 0; q < NR_PROWS; q++) {
				char lab[64], a[32], f[96];

				plan_fmt_size(a, sizeof(a), rows[q].worst_bytes);
				force_text(&rows[q], f, sizeof(f));
				printf("| `%s` | %s | %s | %s | %" PRIu64 " / %" PRIu64 "%s | %s | %s | %s |\n",
				       base, profile_label(&rows[q], lab, sizeof(lab)),
				       rows[q].starts ? "yes" : "**no**", rows[q].worst_ok ? "fits" : "**fails**",
				       cp.boot_mappings, cp.peak, cp.viommu_unbounded ? " + guest" : "",
				       a, rows[q].charged_to, f);
			}
		}
		plan_layout_destroy(&L);
	}
	return ret;
}

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "host", required_argument, NULL, 'H' },
		{ "dma-entry-limit", required_argument, NULL, 'L' },
		{ "memlock", required_argument, NULL, 'M' },
		{ "kernel", required_argument, NULL, 'K' },
		{ "no-iommufd", no_argument, NULL, 'F' },
		{ "boot-mappings", no_argument, NULL, 'B' },
		{ "profile", required_argument, NULL, 'P' },
		{ "budget", required_argument, NULL, 'G' },
		{ "absent-cap", required_argument, NULL, 'A' },
		{ "compare-profiles", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct plan_vm vm;
	struct plan_host host, fhost;
	struct plan_layout L;
	struct plan_build_opts bo = { DMAKIT_LISTENER_QEMU, false, false };
	struct cplan ps[PLAN_MAX_CONTAINERS];
	bool json = false, boot_list = false, flags_given = false, file_host = false;
	char err[1024];
	int opt, r, ret;
	size_t k;
	bool fits = true, host_refuses = false, compare = false;

	plan_host_init(&host);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 'B': boot_list = true; break;
		case 'C': compare = true; break;
		case 'h': usage(stdout); return CLI_EXIT_OK;
		case 'V': printf("dmakit %s\n", dmakit_version()); return CLI_EXIT_OK;
		case '?':
			if (optopt)
				cli_error("plan: option '-%c' needs an argument or is unknown (see 'dmakit plan --help')", optopt);
			else
				cli_error("plan: unknown option '%s' (see 'dmakit plan --help')", argv[optind - 1]);
			return CLI_EXIT_USAGE;
		default:
			r = plan_host_option(opt, optarg, &host, &flags_given);
			if (r < 0)
				return CLI_EXIT_USAGE;
		}
	}
	if (compare) {
		if (optind >= argc || json || boot_list) {
			cli_error("plan: --compare-profiles takes one or more FILEs (no --json, no --boot-mappings)");
			return CLI_EXIT_USAGE;
		}
		return compare_profiles(argc - optind, argv + optind, &host, flags_given);
	}
	plan_vm_init(&vm);
	fhost = host;
	if (optind < argc && !strcmp(argv[optind - 1], "--")) {
		r = plan_parse_qemu_args(argc - optind, argv + optind, "argument", &vm, err, sizeof(err));
	} else if (optind + 1 == argc) {
		r = plan_parse_any(argv[optind], &vm, &fhost, &file_host, err, sizeof(err));
	} else {
		cli_error("plan: expected one FILE or '--' and a QEMU command line (see 'dmakit plan --help')");
		return CLI_EXIT_USAGE;
	}
	if (r == 0)
		r = plan_resolve(&vm, err, sizeof(err));
	if (r < 0) {
		cli_error("%s", err);
		return CLI_EXIT_USAGE;
	}
	/* The file's host line gives defaults; command-line flags win. */
	if (file_host && !flags_given)
		plan_host_take_file(&host, &fhost);
	r = plan_layout_build(&vm, &host, &bo, &L, err, sizeof(err));
	if (r < 0) {
		cli_error("%s", err);
		plan_layout_destroy(&L);
		return r == -EINVAL || r == -EPERM ? CLI_EXIT_USAGE : CLI_EXIT_FAILS;
	}
	for (k = 0; k < L.nr_containers; k++) {
		compute(&vm, &host, &L, &L.containers[k], &ps[k]);
		if (host.profile_given && !L.containers[k].iommufd) {
			/* the exit status follows the selected profile */
			struct prow sel;

			profile_eval(&host, &ps[k], host.profile, host.absent_unlimited, &sel);
			fits = fits && sel.worst_ok;
		} else
			fits = fits && ps[k].fits;
		if (L.containers[k].iommufd && !host.iommufd_available)
			host_refuses = true;
	}
	if (json)
		print_json(&vm, &host, &L, ps, L.nr_containers, boot_list);
	else
		print_human(&vm, &host, &L, ps, L.nr_containers, boot_list);
	ret = host_refuses ? CLI_EXIT_HOST : fits ? CLI_EXIT_OK : CLI_EXIT_FAILS;
	if (host_refuses)
		cli_error("plan: the VM uses iommufd but this host has no /dev/iommu");
	plan_layout_destroy(&L);
	return ret;
}
