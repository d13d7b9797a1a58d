/* SPDX-License-Identifier: MIT */
/*
 * Limit profiles: names and the worst-case numbers (include/dmakit/profiles.h).
 */
#include <errno.h>
#include <string.h>

#include <dmakit/iopt_model.h>
#include <dmakit/profiles.h>

/* The emulated platform (src/emu_type1.c): 39 bits, the MSI window out. */
#define EMU_IOVA_BYTES ((1ull << 39) - (0xfef00000ull - 0xfee00000ull))
#define SPAN_2M (2ull << 20)
#define SPAN_1G (1ull << 30)

static const char *const names[] = {
	[DMAKIT_LIMIT_COUNT] = "count",
	[DMAKIT_LIMIT_REPORT_UNLIMITED] = "report-unlimited",
	[DMAKIT_LIMIT_ACCOUNT_BYTES] = "account-bytes",
	[DMAKIT_LIMIT_DROP_CAP] = "drop-cap",
};

DMAKIT_EXPORT const char *dmakit_limit_policy_name(enum dmakit_limit_policy p)
{
	if ((unsigned int)p >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[p];
}

DMAKIT_EXPORT int dmakit_limit_policy_parse(const char *name, enum dmakit_limit_policy *out)
{
	unsigned int i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum dmakit_limit_policy)i;
			return 0;
		}
	}
	return -EINVAL;
}

static uint64_t spans(uint64_t iova, uint64_t last, uint64_t span)
{
	return last / span - iova / span + 1;
}

DMAKIT_EXPORT uint64_t dmakit_profile_table_pages_upper(uint64_t iova, uint64_t size)
{
	uint64_t last;

	if (!size)
		return 0;
	if (__builtin_add_overflow(iova, size - 1, &last))
		last = UINT64_MAX;
	return spans(iova, last, SPAN_2M) + spans(iova, last, SPAN_1G);
}

DMAKIT_EXPORT int dmakit_profile_mapping_worst(struct dmakit_profile_mapping_cost *out)
{
	const struct dmakit_iopt_config cfg = DMAKIT_IOPT_CONFIG_VTD_39;
	struct dmakit_iopt_model *m = dmakit_iopt_model_create(&cfg);
	struct dmakit_iopt_stats before, after;
	int ret;

	if (!m)
		return -ENOMEM;
	dmakit_iopt_model_stats(m, &before);
	ret = dmakit_iopt_model_map(m, 0x40000000ull, 0x40000000ull, 4096);
	dmakit_iopt_model_stats(m, &after);
	dmakit_iopt_model_destroy(m);
	if (ret < 0)
		return ret;
	memset(out, 0, sizeof(*out));
	out->vfio_dma_bytes = DMAKIT_KERNEL_VFIO_DMA_BYTES;
	out->table_pages = after.table_pages - before.table_pages;
	out->table_bytes = out->table_pages * DMAKIT_IOPT_TABLE_PAGE_BYTES;
	/* DIRTY_BITMAP_BYTES(1) + the spare word: 8 + 8. */
	out->bitmap_bytes = 16;
	out->total = out->vfio_dma_bytes + out->table_bytes + out->bitmap_bytes;
	return 0;
}

DMAKIT_EXPORT int dmakit_profile_force_bound(enum dmakit_limit_policy p,
					     uint32_t dma_entry_limit,
					     uint64_t kernel_budget_bytes,
					     struct dmakit_profile_bound *out)
{
	struct dmakit_profile_mapping_cost c;
	uint64_t pages, tables;
	int ret;

	memset(out, 0, sizeof(*out));
	switch (p) {
	case DMAKIT_LIMIT_COUNT:
		ret = dmakit_profile_mapping_worst(&c);
		if (ret < 0)
			return ret;
		out->bounded = true;
		out->bytes = (uint64_t)dma_entry_limit * c.total;
		return 0;
	case DMAKIT_LIMIT_ACCOUNT_BYTES:
		out->bounded = kernel_budget_bytes != UINT64_MAX;
		out->bytes = kernel_budget_bytes ? kernel_budget_bytes : DMAKIT_DEFAULT_KERNEL_BUDGET;
		return 0;
	case DMAKIT_LIMIT_REPORT_UNLIMITED:
	case DMAKIT_LIMIT_DROP_CAP:
		pages = EMU_IOVA_BYTES / 4096;
		tables = (1ull << 39) / SPAN_2M + (1ull << 39) / SPAN_1G;
		out->bounded = false;
		out->bytes = pages * (DMAKIT_KERNEL_VFIO_DMA_BYTES + 16) +
			     tables * DMAKIT_IOPT_TABLE_PAGE_BYTES;
		return 0;
	}
	return -EINVAL;
}
