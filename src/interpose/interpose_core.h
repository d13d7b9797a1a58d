/* SPDX-License-Identifier: MIT */
/*
 * The interposer's pure parts (no libc state, no I/O): parsing its injection
 * settings, reading a GET_INFO answer, rewriting DMA_AVAIL. Unit-tested on
 * their own (tests/interpose/test_interpose_core.c).
 */
#ifndef DMAKIT_INTERPOSE_CORE_H
#define DMAKIT_INTERPOSE_CORE_H

#include <stddef.h>
#include <stdint.h>

struct ip_inject_config {
	int64_t limit;           /* -1: no limit injection */
	uint64_t fail_map;       /* 1-based; 0: none */
	int fail_map_errno;
	uint64_t fail_unmap;
	int fail_unmap_errno;
};

/* Parse the three environment values (each may be NULL). A malformed value
 * is ignored (that injection stays off). Default errnos: EFAULT for a map,
 * EINVAL for an unmap. */
void ip_inject_config_parse(struct ip_inject_config *cfg, const char *limit,
			    const char *fail_map, const char *fail_unmap);

/* An errno by symbolic name ("ENOSPC") or number; 0 when unknown. */
int ip_errno_parse(const char *s, size_t len);

#define IP_MAX_RANGES 8
struct ip_info_summary {
	int64_t avail; /* DMA_AVAIL, -1 absent */
	int nr_ranges;
	uint64_t ranges[IP_MAX_RANGES][2];
};

/* Walk the capability chain of a GET_INFO answer of @len valid bytes. */
void ip_info_summarize(const void *info, size_t len, struct ip_info_summary *out);

/* Rewrite DMA_AVAIL in @info to min(avail, limit - live) (at least 0).
 * @returns the value written, or -1 when there is no DMA_AVAIL. */
int64_t ip_rewrite_avail(void *info, size_t len, int64_t limit, int64_t live);

#endif
