/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <dmakit/uapi.h>

#include "interpose_core.h"

static const struct {
	const char *name;
	int value;
} errnames[] = {
	{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EINTR", EINTR }, { "EIO", EIO },
	{ "E2BIG", E2BIG }, { "EBADF", EBADF }, { "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM },
	{ "EACCES", EACCES }, { "EFAULT", EFAULT }, { "EBUSY", EBUSY }, { "EEXIST", EEXIST },
	{ "ENODEV", ENODEV }, { "EINVAL", EINVAL }, { "ENOSPC", ENOSPC }, { "ENOTTY", ENOTTY },
	{ "ERANGE", ERANGE }, { "EOVERFLOW", EOVERFLOW }, { "ENOSYS", ENOSYS },
	{ "EOPNOTSUPP", EOPNOTSUPP }, { "EDEADLK", EDEADLK },
};

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int ip_errno_parse(const char *s, size_t len)
{
	uint64_t v;
	size_t i;

	if (parse_u64(s, len, &v) == 0)
		return v > 0 && v < 4096 ? (int)v : 0;
	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (strlen(errnames[i].name) == len && memcmp(errnames[i].name, s, len) == 0)
			return errnames[i].value;
	return 0;
}

/* "K" or "K:ERRNO" */
static void parse_fail(const char *s, uint64_t *nth, int *err, int deflt)
{
	const char *colon;
	uint64_t k;
	int e = deflt;

	*nth = 0;
	if (!s || !*s)
		return;
	colon = strchr(s, ':');
	if (parse_u64(s, colon ? (size_t)(colon - s) : strlen(s), &k) != 0 || k == 0)
		return;
	if (colon) {
		e = ip_errno_parse(colon + 1, strlen(colon + 1));
		if (!e)
			return;
	}
	*nth = k;
	*err = e;
}

void ip_inject_config_parse(struct ip_inject_config *cfg, const char *limit,
			    const char *fail_map, const char *fail_unmap)
{
	uint64_t v;

	memset(cfg, 0, sizeof(*cfg));
	cfg->limit = -1;
	if (limit && parse_u64(limit, strlen(limit), &v) == 0 && v <= 0xffffffffu)
		cfg->limit = (int64_t)v;
	parse_fail(fail_map, &cfg->fail_map, &cfg->fail_map_errno, EFAULT);
	parse_fail(fail_unmap, &cfg->fail_unmap, &cfg->fail_unmap_errno, EINVAL);
}

/* Calls fn on each capability header that lies wholly in [0, len). */
static struct dmakit_vfio_info_cap_header *find_cap(const void *info, size_t len, uint16_t id,
						    size_t need)
{
	const struct dmakit_vfio_iommu_type1_info *i = info;
	uint32_t off;
	int guard = 0;

	if (len < sizeof(*i) || !(i->flags & DMAKIT_VFIO_IOMMU_INFO_CAPS))
		return NULL;
	off = i->cap_offset;
	while (off && guard++ < 32) {
		struct dmakit_vfio_info_cap_header *h;

		if (off < sizeof(*i) || (size_t)off + sizeof(*h) > len || (off & 3))
			return NULL;
		h = (struct dmakit_vfio_info_cap_header *)((char *)info + off);
		if (h->id == id)
			return (size_t)off + need <= len ? h : NULL;
		off = h->next;
	}
	return NULL;
}

void ip_info_summarize(const void *info, size_t len, struct ip_info_summary *out)
{
	struct dmakit_vfio_info_cap_header *h;

	memset(out, 0, sizeof(*out));
	out->avail = -1;
	h = find_cap(info, len, DMAKIT_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
		     sizeof(struct dmakit_vfio_iommu_type1_info_dma_avail));
	if (h)
		out->avail = ((struct dmakit_vfio_iommu_type1_info_dma_avail *)h)->avail;
	h = find_cap(info, len, DMAKIT_VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
		     sizeof(struct dmakit_vfio_iommu_type1_info_cap_iova_range));
	if (h) {
		struct dmakit_vfio_iommu_type1_info_cap_iova_range *r = (void *)h;
		size_t off = (size_t)((char *)h - (const char *)info);
		uint32_t n;

		for (n = 0; n < r->nr_iovas && n < IP_MAX_RANGES; n++) {
			if (off + sizeof(*r) + (n + 1) * sizeof(r->iova_ranges[0]) > len)
				break;
			out->ranges[n][0] = r->iova_ranges[n].start;
			out->ranges[n][1] = r->iova_ranges[n].end;
		}
		out->nr_ranges = (int)n;
	}
}

int64_t ip_rewrite_avail(void *info, size_t len, int64_t limit, int64_t live)
{
	struct dmakit_vfio_info_cap_header *h;
	struct dmakit_vfio_iommu_type1_info_dma_avail *a;
	int64_t left;

	h = find_cap(info, len, DMAKIT_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, sizeof(*a));
	if (!h)
		return -1;
	a = (void *)h;
	left = limit - live;
	if (left < 0)
		left = 0;
	if ((int64_t)a->avail < left)
		left = a->avail;
	a->avail = (uint32_t)left;
	return left;
}
