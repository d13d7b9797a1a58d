/* SPDX-License-Identifier: MIT */
/*
 * The iommufd additions to the trace format (trace_iommufd.c), called by the
 * version-1 parser and replayer in trace.c.
 */
#ifndef DMAKIT_TRACE_INTERNAL_H
#define DMAKIT_TRACE_INTERNAL_H

#include <dmakit/trace.h>

#include "info_internal.h"

/* Run one version-1 line (map, remap, unmap, unmap-all, invalidate,
 * invalidate-all, info) through @ioctl_fn and print its result line. */
void dmakit__trace_run_v1(const struct dmakit_trace_step *s, uint64_t vaddr,
			  dmakit__ioctl_fn ioctl_fn, void *ctx, FILE *out);

/* A trace number: decimal or 0x-hex, unsigned 64-bit, the whole word. */
bool dmakit__trace_parse_u64(const char *s, uint64_t *out);

/* `setup iommu=VAL` for the iommufd kinds: true when VAL was one. */
bool dmakit__trace_setup_iommufd(const char *val, struct dmakit_trace_setup *setup);
/* An added setup key: its duplicate-check bit (> 0), 0 when unknown, or
 * -EINVAL with @msg filled. */
int dmakit__trace_setup_key(const char *key, const char *val, struct dmakit_trace_setup *setup,
			    char *msg, size_t msglen);
/* Is @word an iommufd operation? */
bool dmakit__trace_is_iommufd_op(const char *word);
/* Parse one iommufd operation line: 0, or -EINVAL with @msg filled. */
int dmakit__trace_parse_iommufd_step(char **words, int nwords, struct dmakit_trace_step *step,
				     char *msg, size_t msglen);
/* The word of an iommufd op ("?" for anything else). */
const char *dmakit__trace_iommufd_op_word(enum dmakit_trace_op op);
/* Replay a `setup iommu=iommufd` trace on an emulated iommufd context. */
int dmakit__trace_replay_iommufd(const struct dmakit_trace *trace,
				 const struct dmakit_replay_options *opts, FILE *out);

/*
 * A replay buffer: @len bytes (the trace's buffer rounded up to pages) at
 * @base, followed by one inaccessible guard page. @base is aligned to 2 MiB,
 * so an address-dependent answer (iommufd's automatic IOVA alignment, which
 * follows the vaddr's alignment up to 2 MiB) is the same in every run, under
 * valgrind or not. With @real_memory the pages are readable and writable
 * (the kernel pins them); otherwise only address space is reserved.
 */
struct dmakit__trace_buffer {
	uint8_t *base;
	uint64_t len;
	void *mapping;       /* what to munmap */
	uint64_t mapping_len;
};

int dmakit__trace_buffer_reserve(uint64_t buffer, bool real_memory,
				 struct dmakit__trace_buffer *tb);
void dmakit__trace_buffer_release(struct dmakit__trace_buffer *tb);

#endif /* DMAKIT_TRACE_INTERNAL_H */
