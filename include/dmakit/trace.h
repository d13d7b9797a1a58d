/* SPDX-License-Identifier: MIT */
/*
 * dmakit traces: a plain-text list of container operations and their replay.
 *
 * The format (version 1) is specified in docs/trace-format.md: a `setup` line,
 * then one operation per line (map, remap, unmap, unmap-all, invalidate,
 * invalidate-all, info). A trace is parsed whole before anything runs, so a
 * malformed line stops the run with nothing executed. Replay prints one line
 * per operation in a fixed form, so runs on different backends compare with
 * diff(1).
 */
#ifndef DMAKIT_TRACE_H
#define DMAKIT_TRACE_H

#include <stdio.h>

#include <dmakit/common.h>
#include <dmakit/container.h>

#ifdef __cplusplus
extern "C" {
#endif

enum dmakit_trace_op {
	DMAKIT_TRACE_SETUP,
	DMAKIT_TRACE_MAP,
	DMAKIT_TRACE_REMAP,
	DMAKIT_TRACE_UNMAP,
	DMAKIT_TRACE_UNMAP_ALL,
	DMAKIT_TRACE_INVALIDATE,
	DMAKIT_TRACE_INVALIDATE_ALL,
	DMAKIT_TRACE_INFO,
	/* iommufd operations (docs/trace-format.md, "iommufd operations") */
	DMAKIT_TRACE_IOAS_ALLOC,
	DMAKIT_TRACE_IOAS_DESTROY,
	DMAKIT_TRACE_IOAS_MAP,
	DMAKIT_TRACE_IOAS_UNMAP,
	DMAKIT_TRACE_IOAS_COPY,
	DMAKIT_TRACE_IOAS_RANGES,
	DMAKIT_TRACE_IOAS_ALLOW,
	DMAKIT_TRACE_IOMMU_OPTION,
	DMAKIT_TRACE_ATTACH,
	DMAKIT_TRACE_DETACH,
	/* HWPTs and dirty tracking (docs/trace-format.md, "iommufd operations") */
	DMAKIT_TRACE_BIND,
	DMAKIT_TRACE_HWPT_ALLOC,
	DMAKIT_TRACE_DIRTY_TRACKING,
	DMAKIT_TRACE_DMA_WRITE,
	DMAKIT_TRACE_DIRTY_BITMAP,
};

/* What a setup line opens (`iommu=`). */
enum dmakit_trace_iommu_kind {
	DMAKIT_TRACE_IOMMU_TYPE1 = 0,          /* type1 / type1v2: a VFIO container */
	DMAKIT_TRACE_IOMMU_IOMMUFD = 1,        /* iommufd: a /dev/iommu context */
	DMAKIT_TRACE_IOMMU_IOMMUFD_COMPAT = 2, /* iommufd-compat[-v1]: type1 on iommufd */
};

#define DMAKIT_TRACE_MAX_RANGES 8

/* Access a `map` line asks for (prot=r|w|rw). */
#define DMAKIT_TRACE_PROT_READ  1u
#define DMAKIT_TRACE_PROT_WRITE 2u

struct dmakit_trace_step {
	enum dmakit_trace_op op;
	unsigned int line; /* 1-based line in the file */
	uint64_t iova;
	uint64_t size;  /* bytes */
	uint64_t vaddr; /* offset into the trace's buffer (see docs/trace-format.md) */
	uint32_t prot;  /* DMAKIT_TRACE_PROT_* */
	/* iommufd operations */
	uint32_t ioas;     /* ioas= (ioas-copy: dst=); id= for ioas-destroy; hwpt=;
			    * hwpt-alloc: dev= */
	uint32_t ioas2;    /* ioas-copy: src=; hwpt-alloc: pt= */
	uint64_t iova2;    /* ioas-copy: src-iova= */
	bool fixed;        /* iova= given (FIXED_IOVA) */
	uint32_t num;      /* ioas-ranges: num= (array size), default 16 */
	uint32_t option;   /* DMAKIT_IOMMU_OPTION_* */
	uint32_t option_op; /* DMAKIT_IOMMU_OPTION_OP_* */
	uint64_t val;      /* option val= */
	uint32_t nr_ranges; /* ioas-allow ranges= */
	struct dmakit_iommu_iova_range ranges[DMAKIT_TRACE_MAX_RANGES];
	uint32_t hwpt_flags; /* hwpt-alloc flags=: DMAKIT_IOMMU_HWPT_ALLOC_* */
	bool enable;         /* dirty-tracking enable= */
	uint64_t page_size;  /* dirty-bitmap page=, bytes per bit */
	bool no_clear;       /* dirty-bitmap clear=no (NO_CLEAR) */
};

struct dmakit_trace_setup {
	unsigned int line;
	uint32_t iommu_type; /* DMAKIT_VFIO_TYPE1_IOMMU or DMAKIT_VFIO_TYPE1v2_IOMMU */
	uint32_t limit;      /* dma_entry_limit; default 65535 */
	uint64_t buffer;     /* bytes of process memory vaddr offsets point into; default 0x1000000 */
	enum dmakit_kernel_profile kernel; /* default 6.1 */
	/* Additions (docs/trace-format.md, "iommufd operations"). */
	enum dmakit_trace_iommu_kind iommu_kind;
	uint64_t memlock;      /* memlock=: RLIMIT_MEMLOCK, bytes; default unlimited */
	bool no_ipc_lock;      /* ipc-lock=no: without CAP_IPC_LOCK */
	bool no_sys_resource;  /* sys-resource=no: without CAP_SYS_RESOURCE */
	/* profile=: the emulated kernel's limit policy (a PROPOSAL unless
	 * count, docs/profiles.md); budget=: its kernel_budget_bytes
	 * (account-bytes only; 0: the default). */
	enum dmakit_limit_policy limit_policy;
	uint64_t kernel_budget;
};

struct dmakit_trace {
	char *name; /* the file name used in messages */
	struct dmakit_trace_setup setup;
	struct dmakit_trace_step *steps;
	size_t nr_steps;
};

/* The largest trace buffer a setup line may ask for (1 TiB): the buffer is
 * reserved as address space on the real backend. */
#define DMAKIT_TRACE_MAX_BUFFER (1ull << 40)

/**
 * dmakit_trace_parse() - parse a whole trace.
 * @name: the file name for messages.
 * @err: on a parse error, receives "NAME:LINE: message" (NUL-terminated,
 * truncated to @errlen).
 * @returns 0 with *@out set, -EINVAL for malformed input (and @err filled),
 * -ENOMEM.
 */
DMAKIT_EXPORT int dmakit_trace_parse(const char *text, size_t len, const char *name,
				     struct dmakit_trace **out, char *err, size_t errlen);

/** dmakit_trace_parse_file() - read @path and parse it; -errno of the read, too. */
DMAKIT_EXPORT int dmakit_trace_parse_file(const char *path, struct dmakit_trace **out,
					  char *err, size_t errlen);

DMAKIT_EXPORT void dmakit_trace_free(struct dmakit_trace *trace);

struct dmakit_replay_options {
	enum dmakit_backend_kind backend;
	const char *group_path;     /* linux backend: /dev/vfio/N */
	const char *container_path; /* linux backend: default /dev/vfio/vfio */
};

/**
 * dmakit_trace_replay() - run @trace on a new container and print one result
 * line per operation to @out (docs/trace-format.md, "Output").
 * @returns 0 when every line ran (whatever each operation answered), or
 * -errno when the container could not be set up (nothing printed then).
 */
DMAKIT_EXPORT int dmakit_trace_replay(const struct dmakit_trace *trace,
				      const struct dmakit_replay_options *opts, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_TRACE_H */
