/* SPDX-License-Identifier: MIT */
/*
 * dmakit: the kernel ABI of VFIO type1, written down by the project.
 *
 * These are facts about Linux's user-space interface (x86_64): ioctl numbers,
 * flag values and struct layouts. dmakit defines them itself, under its own
 * names, so it builds the same whatever the age of the host's kernel headers;
 * tests/unit/test_uapi_layout.c checks every size, offset and value against
 * <linux/vfio.h> where the build machine has it.
 *
 * All VFIO ioctls use type ';' (0x3B) and _IO() numbers, which carry no size
 * and no direction: the request value is exactly 0x3B00 | nr. The structs are
 * "argsz-versioned": the caller says in argsz how many bytes it passes.
 */
#ifndef DMAKIT_UAPI_H
#define DMAKIT_UAPI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DMAKIT_VFIO_TYPE 0x3B
#define DMAKIT_VFIO_BASE 100
#define DMAKIT_VFIO_IO(nr) ((unsigned long)((DMAKIT_VFIO_TYPE << 8) | (nr)))

/* Container and group ioctls (vfio core). */
#define DMAKIT_VFIO_GET_API_VERSION        DMAKIT_VFIO_IO(100) /* returns 0 */
#define DMAKIT_VFIO_CHECK_EXTENSION        DMAKIT_VFIO_IO(101) /* arg: extension id */
#define DMAKIT_VFIO_SET_IOMMU              DMAKIT_VFIO_IO(102) /* arg: iommu type */
#define DMAKIT_VFIO_GROUP_GET_STATUS       DMAKIT_VFIO_IO(103)
#define DMAKIT_VFIO_GROUP_SET_CONTAINER    DMAKIT_VFIO_IO(104)
#define DMAKIT_VFIO_GROUP_UNSET_CONTAINER  DMAKIT_VFIO_IO(105)
#define DMAKIT_VFIO_GROUP_GET_DEVICE_FD    DMAKIT_VFIO_IO(106)
#define DMAKIT_VFIO_DEVICE_GET_INFO        DMAKIT_VFIO_IO(107)
#define DMAKIT_VFIO_DEVICE_GET_REGION_INFO DMAKIT_VFIO_IO(108)
#define DMAKIT_VFIO_DEVICE_RESET           DMAKIT_VFIO_IO(111)

/* Type1 IOMMU ioctls, on the container once SET_IOMMU has run. */
#define DMAKIT_VFIO_IOMMU_GET_INFO    DMAKIT_VFIO_IO(112)
#define DMAKIT_VFIO_IOMMU_MAP_DMA     DMAKIT_VFIO_IO(113)
#define DMAKIT_VFIO_IOMMU_UNMAP_DMA   DMAKIT_VFIO_IO(114)
#define DMAKIT_VFIO_IOMMU_ENABLE      DMAKIT_VFIO_IO(115) /* not type1: ENOTTY */
#define DMAKIT_VFIO_IOMMU_DISABLE     DMAKIT_VFIO_IO(116) /* not type1: ENOTTY */
#define DMAKIT_VFIO_IOMMU_DIRTY_PAGES DMAKIT_VFIO_IO(117)

#define DMAKIT_VFIO_API_VERSION 0

/* Extension ids and SET_IOMMU types. */
#define DMAKIT_VFIO_TYPE1_IOMMU            1
#define DMAKIT_VFIO_SPAPR_TCE_IOMMU        2
#define DMAKIT_VFIO_TYPE1v2_IOMMU          3
#define DMAKIT_VFIO_DMA_CC_IOMMU           4
#define DMAKIT_VFIO_EEH                    5
#define DMAKIT_VFIO_TYPE1_NESTING_IOMMU    6 /* reserved: SET_IOMMU(6) fails with ENODEV */
#define DMAKIT_VFIO_SPAPR_TCE_v2_IOMMU     7
#define DMAKIT_VFIO_NOIOMMU_IOMMU          8
#define DMAKIT_VFIO_UNMAP_ALL              9
#define DMAKIT_VFIO_UPDATE_VADDR           10

/* VFIO_IOMMU_GET_INFO */
struct dmakit_vfio_iommu_type1_info {
	uint32_t argsz;
	uint32_t flags;
#define DMAKIT_VFIO_IOMMU_INFO_PGSIZES (1u << 0) /* iova_pgsizes is valid */
#define DMAKIT_VFIO_IOMMU_INFO_CAPS    (1u << 1) /* cap_offset is valid */
	uint64_t iova_pgsizes __attribute__((aligned(8)));
	uint32_t cap_offset; /* from the start of this struct; 0: no chain copied */
	uint32_t pad;
};

/* Header of every capability; `next` is an offset from the start of the info
 * struct, 0 ends the chain. */
struct dmakit_vfio_info_cap_header {
	uint16_t id;
	uint16_t version;
	uint32_t next;
};

#define DMAKIT_VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE 1
#define DMAKIT_VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION  2
#define DMAKIT_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL      3

struct dmakit_vfio_iova_range {
	uint64_t start;
	uint64_t end; /* INCLUSIVE, as the kernel reports it */
};

struct dmakit_vfio_iommu_type1_info_cap_iova_range {
	struct dmakit_vfio_info_cap_header header;
	uint32_t nr_iovas;
	uint32_t reserved;
	struct dmakit_vfio_iova_range iova_ranges[];
};

struct dmakit_vfio_iommu_type1_info_cap_migration {
	struct dmakit_vfio_info_cap_header header;
	uint32_t flags;
	uint64_t pgsize_bitmap;         /* at offset 16 */
	uint64_t max_dirty_bitmap_size; /* bytes */
};

/* sizeof is 12; the chain pads every capability to a multiple of 8 (16). */
struct dmakit_vfio_iommu_type1_info_dma_avail {
	struct dmakit_vfio_info_cap_header header;
	uint32_t avail;
};

/* VFIO_IOMMU_MAP_DMA */
struct dmakit_vfio_iommu_type1_dma_map {
	uint32_t argsz;
	uint32_t flags;
#define DMAKIT_VFIO_DMA_MAP_FLAG_READ  (1u << 0)
#define DMAKIT_VFIO_DMA_MAP_FLAG_WRITE (1u << 1)
#define DMAKIT_VFIO_DMA_MAP_FLAG_VADDR (1u << 2) /* update the vaddr of an invalidated mapping */
	uint64_t vaddr; /* process virtual address */
	uint64_t iova;  /* IO virtual address */
	uint64_t size;  /* bytes */
};

/* The dirty bitmap the caller passes (UNMAP_DMA with GET_DIRTY_BITMAP, and
 * DIRTY_PAGES GET_BITMAP). */
struct dmakit_vfio_bitmap {
	uint64_t pgsize;  /* bytes per bit */
	uint64_t size;    /* bytes of `data` */
	uint64_t *data;   /* one bit per page, zeroed by the caller */
};

/* VFIO_IOMMU_UNMAP_DMA; `size` is written back with the bytes unmapped. */
struct dmakit_vfio_iommu_type1_dma_unmap {
	uint32_t argsz;
	uint32_t flags;
#define DMAKIT_VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP (1u << 0)
#define DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL              (1u << 1)
#define DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR            (1u << 2)
	uint64_t iova;
	uint64_t size;
	uint8_t data[]; /* a struct dmakit_vfio_bitmap with GET_DIRTY_BITMAP */
};

/* VFIO_IOMMU_DIRTY_PAGES */
struct dmakit_vfio_iommu_type1_dirty_bitmap {
	uint32_t argsz;
	uint32_t flags;
#define DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START      (1u << 0)
#define DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP       (1u << 1)
#define DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP (1u << 2)
	uint8_t data[]; /* a struct dmakit_vfio_iommu_type1_dirty_bitmap_get with GET_BITMAP */
};

struct dmakit_vfio_iommu_type1_dirty_bitmap_get {
	uint64_t iova;
	uint64_t size; /* bytes */
	struct dmakit_vfio_bitmap bitmap;
};

/* Group and device ABI, for the real-kernel backend and the DMA proof. */
struct dmakit_vfio_group_status {
	uint32_t argsz;
	uint32_t flags;
#define DMAKIT_VFIO_GROUP_FLAGS_VIABLE        (1u << 0)
#define DMAKIT_VFIO_GROUP_FLAGS_CONTAINER_SET (1u << 1)
};

struct dmakit_vfio_device_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t num_regions;
	uint32_t num_irqs;
	uint32_t cap_offset; /* offset of the first capability; 20 bytes in all */
};

struct dmakit_vfio_region_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t cap_offset;
	uint64_t size;
	uint64_t offset; /* of the region in the device fd, for pread/pwrite/mmap */
};

#define DMAKIT_VFIO_PCI_BAR0_REGION_INDEX   0
#define DMAKIT_VFIO_PCI_CONFIG_REGION_INDEX 7

/* Sizes the kernel checks as "minsz" (offsetofend of the last mandatory
 * field). */
#define DMAKIT_VFIO_INFO_MINSZ   16u /* offsetofend(type1_info, iova_pgsizes) */
#define DMAKIT_VFIO_MAP_MINSZ    32u /* offsetofend(dma_map, size) */
#define DMAKIT_VFIO_UNMAP_MINSZ  24u /* offsetofend(dma_unmap, size) */
#define DMAKIT_VFIO_DIRTY_MINSZ  8u  /* offsetofend(dirty_bitmap, flags) */

/* The dirty-bitmap bound the kernel enforces: ALIGN(INT_MAX, 64) / 8 bytes. */
#define DMAKIT_VFIO_DIRTY_BITMAP_SIZE_MAX 0x10000000ull
/* Bytes of bitmap for n pages: ALIGN(n, 64) / 8. */
#define DMAKIT_VFIO_DIRTY_BITMAP_BYTES(n) ((((uint64_t)(n) + 63) / 64) * 8)


/* ------------------------------------------------------------------------ */
/* IOMMUFD (/dev/iommu), Linux 6.2+; the ABI of include/uapi/linux/iommufd.h.
 * The same type ';' and _IO() numbers from 0x80 up; every struct starts with
 * `u32 size` (the caller's struct size). Numbers below 0x80 on /dev/iommu are
 * the VFIO container ioctls above, answered by iommufd's vfio compat layer. */
#define DMAKIT_IOMMUFD_CMD_BASE 0x80
#define DMAKIT_IOMMU_DESTROY            DMAKIT_VFIO_IO(0x80)
#define DMAKIT_IOMMU_IOAS_ALLOC         DMAKIT_VFIO_IO(0x81)
#define DMAKIT_IOMMU_IOAS_ALLOW_IOVAS   DMAKIT_VFIO_IO(0x82)
#define DMAKIT_IOMMU_IOAS_COPY          DMAKIT_VFIO_IO(0x83)
#define DMAKIT_IOMMU_IOAS_IOVA_RANGES   DMAKIT_VFIO_IO(0x84)
#define DMAKIT_IOMMU_IOAS_MAP           DMAKIT_VFIO_IO(0x85)
#define DMAKIT_IOMMU_IOAS_UNMAP         DMAKIT_VFIO_IO(0x86)
#define DMAKIT_IOMMU_OPTION             DMAKIT_VFIO_IO(0x87)
#define DMAKIT_IOMMU_VFIO_IOAS          DMAKIT_VFIO_IO(0x88)
#define DMAKIT_IOMMU_HWPT_ALLOC         DMAKIT_VFIO_IO(0x89)
#define DMAKIT_IOMMU_HWPT_SET_DIRTY_TRACKING DMAKIT_VFIO_IO(0x8b)
#define DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP   DMAKIT_VFIO_IO(0x8c)
#define DMAKIT_IOMMU_IOAS_MAP_FILE      DMAKIT_VFIO_IO(0x8f)
#define DMAKIT_IOMMU_IOAS_CHANGE_PROCESS DMAKIT_VFIO_IO(0x92)

/* IOMMU_DESTROY */
struct dmakit_iommu_destroy {
	uint32_t size;
	uint32_t id;
};

/* IOMMU_IOAS_ALLOC */
struct dmakit_iommu_ioas_alloc {
	uint32_t size;
	uint32_t flags;       /* must be 0 */
	uint32_t out_ioas_id;
};

/* One IOVA range; `last` is INCLUSIVE. */
struct dmakit_iommu_iova_range {
	uint64_t start;
	uint64_t last;
};

/* IOMMU_IOAS_IOVA_RANGES */
struct dmakit_iommu_ioas_iova_ranges {
	uint32_t size;
	uint32_t ioas_id;
	uint32_t num_iovas;      /* in: array capacity; out: total ranges */
	uint32_t __reserved;
	uint64_t allowed_iovas;  /* user pointer to struct dmakit_iommu_iova_range[] */
	uint64_t out_iova_alignment;
};

/* IOMMU_IOAS_ALLOW_IOVAS */
struct dmakit_iommu_ioas_allow_iovas {
	uint32_t size;
	uint32_t ioas_id;
	uint32_t num_iovas;
	uint32_t __reserved;
	uint64_t allowed_iovas;  /* user pointer to struct dmakit_iommu_iova_range[] */
};

/* IOMMU_IOAS_MAP and IOMMU_IOAS_COPY flags */
#define DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA (1u << 0)
#define DMAKIT_IOMMU_IOAS_MAP_WRITEABLE  (1u << 1)
#define DMAKIT_IOMMU_IOAS_MAP_READABLE   (1u << 2)

/* IOMMU_IOAS_MAP; `iova` is written back when the kernel chose it. */
struct dmakit_iommu_ioas_map {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	uint32_t __reserved;
	uint64_t user_va;
	uint64_t length;
	uint64_t iova;
};

/* IOMMU_IOAS_COPY; `dst_iova` is written back. */
struct dmakit_iommu_ioas_copy {
	uint32_t size;
	uint32_t flags;
	uint32_t dst_ioas_id;
	uint32_t src_ioas_id;
	uint64_t length;
	uint64_t dst_iova;
	uint64_t src_iova;
};

/* IOMMU_IOAS_UNMAP; `length` is written back with the bytes unmapped. */
struct dmakit_iommu_ioas_unmap {
	uint32_t size;
	uint32_t ioas_id;
	uint64_t iova;
	uint64_t length;
};

/* IOMMU_OPTION */
#define DMAKIT_IOMMU_OPTION_RLIMIT_MODE 0
#define DMAKIT_IOMMU_OPTION_HUGE_PAGES  1
#define DMAKIT_IOMMU_OPTION_OP_SET 0
#define DMAKIT_IOMMU_OPTION_OP_GET 1
struct dmakit_iommu_option {
	uint32_t size;
	uint32_t option_id;
	uint16_t op;
	uint16_t __reserved;
	uint32_t object_id;
	uint64_t val64;
};

/* IOMMU_VFIO_IOAS: the IOAS the vfio compat ioctls act on. */
#define DMAKIT_IOMMU_VFIO_IOAS_GET   0
#define DMAKIT_IOMMU_VFIO_IOAS_SET   1
#define DMAKIT_IOMMU_VFIO_IOAS_CLEAR 2
struct dmakit_iommu_vfio_ioas {
	uint32_t size;
	uint32_t ioas_id;
	uint16_t op;
	uint16_t __reserved;
};

/* IOMMU_HWPT_ALLOC: a paging domain (HWPT) on IOAS @pt_id for device
 * @dev_id; `out_hwpt_id` is written back. The struct grew over releases:
 * data_* (6.7) and fault_id (6.11) are optional tails. */
#define DMAKIT_IOMMU_HWPT_ALLOC_NEST_PARENT     (1u << 0)
#define DMAKIT_IOMMU_HWPT_ALLOC_DIRTY_TRACKING  (1u << 1)
#define DMAKIT_IOMMU_HWPT_FAULT_ID_VALID        (1u << 2)
#define DMAKIT_IOMMU_HWPT_ALLOC_PASID           (1u << 3)
#define DMAKIT_IOMMU_HWPT_DATA_NONE 0
struct dmakit_iommu_hwpt_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t dev_id;
	uint32_t pt_id;
	uint32_t out_hwpt_id;
	uint32_t __reserved;
	uint32_t data_type;   /* DMAKIT_IOMMU_HWPT_DATA_* */
	uint32_t data_len;    /* bytes at data_uptr */
	uint64_t data_uptr;   /* user pointer to driver-specific data */
	uint32_t fault_id;    /* with DMAKIT_IOMMU_HWPT_FAULT_ID_VALID */
	uint32_t __reserved2;
};

/* IOMMU_HWPT_SET_DIRTY_TRACKING */
#define DMAKIT_IOMMU_HWPT_DIRTY_TRACKING_ENABLE (1u << 0)
struct dmakit_iommu_hwpt_set_dirty_tracking {
	uint32_t size;
	uint32_t flags;      /* DMAKIT_IOMMU_HWPT_DIRTY_TRACKING_ENABLE or 0 (disable) */
	uint32_t hwpt_id;
	uint32_t __reserved;
};

/* IOMMU_HWPT_GET_DIRTY_BITMAP: the range is [iova, iova + length - 1]
 * (bytes). The bitmap's unit is u = the lowest set bit of page_size (the
 * kernel's iova_bitmap takes __ffs(page_size); u == page_size for a power
 * of two): bit i of the u64 array at `data` stands for [iova + i * u,
 * iova + (i + 1) * u), i.e. it is relative to the requested iova, and the
 * array must hold ((length - 1) / u) + 1 bits (a length of 0 at iova 0
 * passes the checks and means the whole 64-bit space). Bits are only ever
 * set (ORed in), never cleared: the caller zeroes the array. */
#define DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR (1u << 0)
struct dmakit_iommu_hwpt_get_dirty_bitmap {
	uint32_t size;
	uint32_t hwpt_id;
	uint32_t flags;      /* DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR */
	uint32_t __reserved;
	uint64_t iova;
	uint64_t length;     /* bytes */
	uint64_t page_size;  /* bytes per bit */
	uint64_t data;       /* user pointer to uint64_t[] */
};

/* min_size of each op (offsetofend of its last mandatory field): a smaller
 * `size` is EINVAL. For these ops but HWPT_ALLOC it is the whole struct. */
#define DMAKIT_IOMMU_DESTROY_MINSZ      8u
#define DMAKIT_IOMMU_IOAS_ALLOC_MINSZ   12u
#define DMAKIT_IOMMU_ALLOW_IOVAS_MINSZ  24u
#define DMAKIT_IOMMU_IOAS_COPY_MINSZ    40u
#define DMAKIT_IOMMU_IOVA_RANGES_MINSZ  32u
#define DMAKIT_IOMMU_IOAS_MAP_MINSZ     40u
#define DMAKIT_IOMMU_IOAS_UNMAP_MINSZ   24u
#define DMAKIT_IOMMU_OPTION_MINSZ       24u
#define DMAKIT_IOMMU_VFIO_IOAS_MINSZ    12u
/* HWPT_ALLOC's mandatory part ends at __reserved (the 6.6 struct). */
#define DMAKIT_IOMMU_HWPT_ALLOC_MINSZ   24u
#define DMAKIT_IOMMU_HWPT_SET_DIRTY_TRACKING_MINSZ 16u
#define DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP_MINSZ   48u

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_UAPI_H */
