/* SPDX-License-Identifier: MIT */
/*
 * The project's own definitions of the VFIO ABI (include/dmakit/uapi.h)
 * against the system's <linux/vfio.h>: every ioctl number, flag value, struct
 * size and field offset. The comparisons are static asserts, so a mismatch
 * fails the build of this test; the runtime part checks the facts the
 * reference states independently of any header (sizes on x86_64).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dmakit/uapi.h>

#if __has_include(<linux/vfio.h>)
#include <linux/vfio.h>
#define HAVE_LINUX_VFIO_H 1

#define SAME_VALUE(ours, theirs) _Static_assert((ours) == (theirs), #ours " != " #theirs)
#define SAME_LAYOUT(ours, theirs)                                           \
	_Static_assert(sizeof(struct ours) == sizeof(struct theirs),        \
		       "sizeof " #ours " differs from " #theirs)
#define SAME_FIELD(ours, theirs, field)                                     \
	_Static_assert(offsetof(struct ours, field) == offsetof(struct theirs, field), \
		       "offset of " #field " in " #ours " differs")

SAME_VALUE(DMAKIT_VFIO_GET_API_VERSION, VFIO_GET_API_VERSION);
SAME_VALUE(DMAKIT_VFIO_CHECK_EXTENSION, VFIO_CHECK_EXTENSION);
SAME_VALUE(DMAKIT_VFIO_SET_IOMMU, VFIO_SET_IOMMU);
SAME_VALUE(DMAKIT_VFIO_GROUP_GET_STATUS, VFIO_GROUP_GET_STATUS);
SAME_VALUE(DMAKIT_VFIO_GROUP_SET_CONTAINER, VFIO_GROUP_SET_CONTAINER);
SAME_VALUE(DMAKIT_VFIO_GROUP_UNSET_CONTAINER, VFIO_GROUP_UNSET_CONTAINER);
SAME_VALUE(DMAKIT_VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_GET_DEVICE_FD);
SAME_VALUE(DMAKIT_VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_INFO);
SAME_VALUE(DMAKIT_VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_GET_REGION_INFO);
SAME_VALUE(DMAKIT_VFIO_DEVICE_RESET, VFIO_DEVICE_RESET);
SAME_VALUE(DMAKIT_VFIO_IOMMU_GET_INFO, VFIO_IOMMU_GET_INFO);
SAME_VALUE(DMAKIT_VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_MAP_DMA);
SAME_VALUE(DMAKIT_VFIO_IOMMU_UNMAP_DMA, VFIO_IOMMU_UNMAP_DMA);
SAME_VALUE(DMAKIT_VFIO_IOMMU_ENABLE, VFIO_IOMMU_ENABLE);
SAME_VALUE(DMAKIT_VFIO_IOMMU_DISABLE, VFIO_IOMMU_DISABLE);
SAME_VALUE(DMAKIT_VFIO_IOMMU_DIRTY_PAGES, VFIO_IOMMU_DIRTY_PAGES);
SAME_VALUE(DMAKIT_VFIO_API_VERSION, VFIO_API_VERSION);

SAME_VALUE(DMAKIT_VFIO_TYPE1_IOMMU, VFIO_TYPE1_IOMMU);
SAME_VALUE(DMAKIT_VFIO_SPAPR_TCE_IOMMU, VFIO_SPAPR_TCE_IOMMU);
SAME_VALUE(DMAKIT_VFIO_TYPE1v2_IOMMU, VFIO_TYPE1v2_IOMMU);
SAME_VALUE(DMAKIT_VFIO_DMA_CC_IOMMU, VFIO_DMA_CC_IOMMU);
SAME_VALUE(DMAKIT_VFIO_EEH, VFIO_EEH);
SAME_VALUE(DMAKIT_VFIO_SPAPR_TCE_v2_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU);
SAME_VALUE(DMAKIT_VFIO_NOIOMMU_IOMMU, VFIO_NOIOMMU_IOMMU);
SAME_VALUE(DMAKIT_VFIO_UNMAP_ALL, VFIO_UNMAP_ALL);
SAME_VALUE(DMAKIT_VFIO_UPDATE_VADDR, VFIO_UPDATE_VADDR);

SAME_VALUE(DMAKIT_VFIO_IOMMU_INFO_PGSIZES, VFIO_IOMMU_INFO_PGSIZES);
SAME_VALUE(DMAKIT_VFIO_IOMMU_INFO_CAPS, VFIO_IOMMU_INFO_CAPS);
SAME_VALUE(DMAKIT_VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
SAME_VALUE(DMAKIT_VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
SAME_VALUE(DMAKIT_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
SAME_VALUE(DMAKIT_VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_READ);
SAME_VALUE(DMAKIT_VFIO_DMA_MAP_FLAG_WRITE, VFIO_DMA_MAP_FLAG_WRITE);
SAME_VALUE(DMAKIT_VFIO_DMA_MAP_FLAG_VADDR, VFIO_DMA_MAP_FLAG_VADDR);
SAME_VALUE(DMAKIT_VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP);
SAME_VALUE(DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL, VFIO_DMA_UNMAP_FLAG_ALL);
SAME_VALUE(DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR, VFIO_DMA_UNMAP_FLAG_VADDR);
SAME_VALUE(DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
SAME_VALUE(DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
SAME_VALUE(DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP);
SAME_VALUE(DMAKIT_VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_FLAGS_VIABLE);
SAME_VALUE(DMAKIT_VFIO_GROUP_FLAGS_CONTAINER_SET, VFIO_GROUP_FLAGS_CONTAINER_SET);
SAME_VALUE(DMAKIT_VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_BAR0_REGION_INDEX);
SAME_VALUE(DMAKIT_VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX);

SAME_LAYOUT(dmakit_vfio_iommu_type1_info, vfio_iommu_type1_info);
SAME_FIELD(dmakit_vfio_iommu_type1_info, vfio_iommu_type1_info, argsz);
SAME_FIELD(dmakit_vfio_iommu_type1_info, vfio_iommu_type1_info, flags);
SAME_FIELD(dmakit_vfio_iommu_type1_info, vfio_iommu_type1_info, iova_pgsizes);
SAME_FIELD(dmakit_vfio_iommu_type1_info, vfio_iommu_type1_info, cap_offset);
SAME_LAYOUT(dmakit_vfio_info_cap_header, vfio_info_cap_header);
SAME_FIELD(dmakit_vfio_info_cap_header, vfio_info_cap_header, id);
SAME_FIELD(dmakit_vfio_info_cap_header, vfio_info_cap_header, version);
SAME_FIELD(dmakit_vfio_info_cap_header, vfio_info_cap_header, next);
SAME_LAYOUT(dmakit_vfio_iova_range, vfio_iova_range);
SAME_LAYOUT(dmakit_vfio_iommu_type1_info_cap_iova_range, vfio_iommu_type1_info_cap_iova_range);
SAME_FIELD(dmakit_vfio_iommu_type1_info_cap_iova_range, vfio_iommu_type1_info_cap_iova_range, nr_iovas);
SAME_FIELD(dmakit_vfio_iommu_type1_info_cap_iova_range, vfio_iommu_type1_info_cap_iova_range, iova_ranges);
SAME_LAYOUT(dmakit_vfio_iommu_type1_info_cap_migration, vfio_iommu_type1_info_cap_migration);
SAME_FIELD(dmakit_vfio_iommu_type1_info_cap_migration, vfio_iommu_type1_info_cap_migration, flags);
SAME_FIELD(dmakit_vfio_iommu_type1_info_cap_migration, vfio_iommu_type1_info_cap_migration, pgsize_bitmap);
SAME_FIELD(dmakit_vfio_iommu_type1_info_cap_migration, vfio_iommu_type1_info_cap_migration, max_dirty_bitmap_size);
SAME_LAYOUT(dmakit_vfio_iommu_type1_info_dma_avail, vfio_iommu_type1_info_dma_avail);
SAME_FIELD(dmakit_vfio_iommu_type1_info_dma_avail, vfio_iommu_type1_info_dma_avail, avail);
SAME_LAYOUT(dmakit_vfio_iommu_type1_dma_map, vfio_iommu_type1_dma_map);
SAME_FIELD(dmakit_vfio_iommu_type1_dma_map, vfio_iommu_type1_dma_map, vaddr);
SAME_FIELD(dmakit_vfio_iommu_type1_dma_map, vfio_iommu_type1_dma_map, iova);
SAME_FIELD(dmakit_vfio_iommu_type1_dma_map, vfio_iommu_type1_dma_map, size);
SAME_LAYOUT(dmakit_vfio_bitmap, vfio_bitmap);
SAME_FIELD(dmakit_vfio_bitmap, vfio_bitmap, pgsize);
SAME_FIELD(dmakit_vfio_bitmap, vfio_bitmap, size);
SAME_FIELD(dmakit_vfio_bitmap, vfio_bitmap, data);
SAME_LAYOUT(dmakit_vfio_iommu_type1_dma_unmap, vfio_iommu_type1_dma_unmap);
SAME_FIELD(dmakit_vfio_iommu_type1_dma_unmap, vfio_iommu_type1_dma_unmap, iova);
SAME_FIELD(dmakit_vfio_iommu_type1_dma_unmap, vfio_iommu_type1_dma_unmap, size);
SAME_FIELD(dmakit_vfio_iommu_type1_dma_unmap, vfio_iommu_type1_dma_unmap, data);
SAME_LAYOUT(dmakit_vfio_iommu_type1_dirty_bitmap, vfio_iommu_type1_dirty_bitmap);
SAME_FIELD(dmakit_vfio_iommu_type1_dirty_bitmap, vfio_iommu_type1_dirty_bitmap, data);
SAME_LAYOUT(dmakit_vfio_iommu_type1_dirty_bitmap_get, vfio_iommu_type1_dirty_bitmap_get);
SAME_FIELD(dmakit_vfio_iommu_type1_dirty_bitmap_get, vfio_iommu_type1_dirty_bitmap_get, bitmap);
SAME_LAYOUT(dmakit_vfio_group_status, vfio_group_status);
SAME_LAYOUT(dmakit_vfio_device_info, vfio_device_info);
SAME_FIELD(dmakit_vfio_device_info, vfio_device_info, num_regions);
SAME_FIELD(dmakit_vfio_device_info, vfio_device_info, num_irqs);
SAME_LAYOUT(dmakit_vfio_region_info, vfio_region_info);
SAME_FIELD(dmakit_vfio_region_info, vfio_region_info, size);
SAME_FIELD(dmakit_vfio_region_info, vfio_region_info, offset);
#endif

/* IOMMUFD: against <linux/iommufd.h> where the build machine has it
 * (Debian 12's headers do not); the plain facts below run everywhere. */
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#define HAVE_LINUX_IOMMUFD_H 1
#define IFD_SAME_VALUE(ours, theirs) _Static_assert((ours) == (theirs), #ours " != " #theirs)
#define IFD_SAME_LAYOUT(ours, theirs)                                       \
	_Static_assert(sizeof(struct ours) == sizeof(struct theirs),        \
		       "sizeof " #ours " differs from " #theirs)
#define IFD_SAME_FIELD(ours, theirs, field)                                 \
	_Static_assert(offsetof(struct ours, field) == offsetof(struct theirs, field), \
		       "offset of " #field " in " #ours " differs")
IFD_SAME_VALUE(DMAKIT_IOMMU_DESTROY, IOMMU_DESTROY);
IFD_SAME_VALUE(DMAKIT_IOMMU_IOAS_ALLOC, IOMMU_IOAS_ALLOC);
IFD_SAME_VALUE(DMAKIT_IOMMU_IOAS_ALLOW_IOVAS, IOMMU_IOAS_ALLOW_IOVAS);
IFD_SAME_VALUE(DMAKIT_IOMMU_IOAS_COPY, IOMMU_IOAS_COPY);
IFD_SAME_VALUE(DMAKIT_IOMMU_IOAS_IOVA_RANGES, IOMMU_IOAS_IOVA_RANGES);
IFD_SAME_VALUE(DMAKIT_IOMMU_IOAS_MAP, IOMMU_IOAS_MAP);
IFD_SAME_VALUE(DMAKIT_IOMMU_IOAS_UNMAP, IOMMU_IOAS_UNMAP);
IFD_SAME_VALUE(DMAKIT_IOMMU_OPTION, IOMMU_OPTION);
IFD_SAME_VALUE(DMAKIT_IOMMU_VFIO_IOAS, IOMMU_VFIO_IOAS);
IFD_SAME_VALUE(DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA, IOMMU_IOAS_MAP_FIXED_IOVA);
IFD_SAME_VALUE(DMAKIT_IOMMU_IOAS_MAP_WRITEABLE, IOMMU_IOAS_MAP_WRITEABLE);
IFD_SAME_VALUE(DMAKIT_IOMMU_IOAS_MAP_READABLE, IOMMU_IOAS_MAP_READABLE);
IFD_SAME_VALUE(DMAKIT_IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_RLIMIT_MODE);
IFD_SAME_VALUE(DMAKIT_IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_HUGE_PAGES);
IFD_SAME_VALUE(DMAKIT_IOMMU_OPTION_OP_SET, IOMMU_OPTION_OP_SET);
IFD_SAME_VALUE(DMAKIT_IOMMU_OPTION_OP_GET, IOMMU_OPTION_OP_GET);
IFD_SAME_VALUE(DMAKIT_IOMMU_VFIO_IOAS_GET, IOMMU_VFIO_IOAS_GET);
IFD_SAME_VALUE(DMAKIT_IOMMU_VFIO_IOAS_SET, IOMMU_VFIO_IOAS_SET);
IFD_SAME_VALUE(DMAKIT_IOMMU_VFIO_IOAS_CLEAR, IOMMU_VFIO_IOAS_CLEAR);
IFD_SAME_LAYOUT(dmakit_iommu_destroy, iommu_destroy);
IFD_SAME_LAYOUT(dmakit_iommu_ioas_alloc, iommu_ioas_alloc);
IFD_SAME_FIELD(dmakit_iommu_ioas_alloc, iommu_ioas_alloc, out_ioas_id);
IFD_SAME_LAYOUT(dmakit_iommu_iova_range, iommu_iova_range);
IFD_SAME_LAYOUT(dmakit_iommu_ioas_iova_ranges, iommu_ioas_iova_ranges);
IFD_SAME_FIELD(dmakit_iommu_ioas_iova_ranges, iommu_ioas_iova_ranges, allowed_iovas);
IFD_SAME_FIELD(dmakit_iommu_ioas_iova_ranges, iommu_ioas_iova_ranges, out_iova_alignment);
IFD_SAME_LAYOUT(dmakit_iommu_ioas_allow_iovas, iommu_ioas_allow_iovas);
IFD_SAME_FIELD(dmakit_iommu_ioas_allow_iovas, iommu_ioas_allow_iovas, allowed_iovas);
IFD_SAME_LAYOUT(dmakit_iommu_ioas_map, iommu_ioas_map);
IFD_SAME_FIELD(dmakit_iommu_ioas_map, iommu_ioas_map, user_va);
IFD_SAME_FIELD(dmakit_iommu_ioas_map, iommu_ioas_map, length);
IFD_SAME_FIELD(dmakit_iommu_ioas_map, iommu_ioas_map, iova);
IFD_SAME_LAYOUT(dmakit_iommu_ioas_copy, iommu_ioas_copy);
IFD_SAME_FIELD(dmakit_iommu_ioas_copy, iommu_ioas_copy, length);
IFD_SAME_FIELD(dmakit_iommu_ioas_copy, iommu_ioas_copy, dst_iova);
IFD_SAME_FIELD(dmakit_iommu_ioas_copy, iommu_ioas_copy, src_iova);
IFD_SAME_LAYOUT(dmakit_iommu_ioas_unmap, iommu_ioas_unmap);
IFD_SAME_FIELD(dmakit_iommu_ioas_unmap, iommu_ioas_unmap, length);
IFD_SAME_LAYOUT(dmakit_iommu_option, iommu_option);
IFD_SAME_FIELD(dmakit_iommu_option, iommu_option, op);
IFD_SAME_FIELD(dmakit_iommu_option, iommu_option, object_id);
IFD_SAME_FIELD(dmakit_iommu_option, iommu_option, val64);
IFD_SAME_LAYOUT(dmakit_iommu_vfio_ioas, iommu_vfio_ioas);
IFD_SAME_FIELD(dmakit_iommu_vfio_ioas, iommu_vfio_ioas, op);
#ifdef IOMMU_HWPT_GET_DIRTY_BITMAP
IFD_SAME_VALUE(DMAKIT_IOMMU_HWPT_ALLOC, IOMMU_HWPT_ALLOC);
IFD_SAME_VALUE(DMAKIT_IOMMU_HWPT_SET_DIRTY_TRACKING, IOMMU_HWPT_SET_DIRTY_TRACKING);
IFD_SAME_VALUE(DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP, IOMMU_HWPT_GET_DIRTY_BITMAP);
IFD_SAME_VALUE(DMAKIT_IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_ALLOC_NEST_PARENT);
IFD_SAME_VALUE(DMAKIT_IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
IFD_SAME_VALUE(DMAKIT_IOMMU_HWPT_DIRTY_TRACKING_ENABLE, IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
IFD_SAME_VALUE(DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
IFD_SAME_LAYOUT(dmakit_iommu_hwpt_set_dirty_tracking, iommu_hwpt_set_dirty_tracking);
IFD_SAME_LAYOUT(dmakit_iommu_hwpt_get_dirty_bitmap, iommu_hwpt_get_dirty_bitmap);
IFD_SAME_FIELD(dmakit_iommu_hwpt_get_dirty_bitmap, iommu_hwpt_get_dirty_bitmap, data);
IFD_SAME_FIELD(dmakit_iommu_hwpt_alloc, iommu_hwpt_alloc, out_hwpt_id);
IFD_SAME_FIELD(dmakit_iommu_hwpt_alloc, iommu_hwpt_alloc, data_uptr);
#endif
#endif

/* The reference's sizes and offsets (section 0), header or no header. */
_Static_assert(sizeof(struct dmakit_iommu_destroy) == 8, "iommu_destroy is 8 bytes");
_Static_assert(sizeof(struct dmakit_iommu_ioas_alloc) == 12, "iommu_ioas_alloc is 12 bytes");
_Static_assert(sizeof(struct dmakit_iommu_ioas_allow_iovas) == 24, "iommu_ioas_allow_iovas is 24 bytes");
_Static_assert(sizeof(struct dmakit_iommu_ioas_copy) == 40, "iommu_ioas_copy is 40 bytes");
_Static_assert(sizeof(struct dmakit_iommu_ioas_iova_ranges) == 32, "iommu_ioas_iova_ranges is 32 bytes");
_Static_assert(sizeof(struct dmakit_iommu_iova_range) == 16, "iommu_iova_range is 16 bytes");
_Static_assert(sizeof(struct dmakit_iommu_ioas_map) == 40, "iommu_ioas_map is 40 bytes");
_Static_assert(sizeof(struct dmakit_iommu_ioas_unmap) == 24, "iommu_ioas_unmap is 24 bytes");
_Static_assert(sizeof(struct dmakit_iommu_option) == 24, "iommu_option is 24 bytes");
_Static_assert(sizeof(struct dmakit_iommu_vfio_ioas) == 12, "iommu_vfio_ioas is 12 bytes");
_Static_assert(sizeof(struct dmakit_iommu_hwpt_alloc) == 48, "iommu_hwpt_alloc is 48 bytes");
_Static_assert(offsetof(struct dmakit_iommu_hwpt_alloc, data_uptr) == 32, "hwpt_alloc.data_uptr at 32");
_Static_assert(sizeof(struct dmakit_iommu_hwpt_set_dirty_tracking) == 16,
	       "iommu_hwpt_set_dirty_tracking is 16 bytes");
_Static_assert(sizeof(struct dmakit_iommu_hwpt_get_dirty_bitmap) == 48,
	       "iommu_hwpt_get_dirty_bitmap is 48 bytes");
_Static_assert(offsetof(struct dmakit_iommu_hwpt_get_dirty_bitmap, page_size) == 32,
	       "get_dirty_bitmap.page_size at 32");
_Static_assert(offsetof(struct dmakit_iommu_ioas_map, iova) == 32, "ioas_map.iova at 32");
_Static_assert(offsetof(struct dmakit_iommu_ioas_copy, src_iova) == 32, "ioas_copy.src_iova at 32");
_Static_assert(offsetof(struct dmakit_iommu_ioas_iova_ranges, out_iova_alignment) == 24,
	       "iova_ranges.out_iova_alignment at 24");
_Static_assert(offsetof(struct dmakit_iommu_option, val64) == 16, "option.val64 at 16");
_Static_assert(offsetof(struct dmakit_iommu_option, object_id) == 12, "option.object_id at 12");
_Static_assert(DMAKIT_IOMMU_DESTROY == 0x3B80 && DMAKIT_IOMMU_IOAS_ALLOC == 0x3B81 &&
	       DMAKIT_IOMMU_IOAS_ALLOW_IOVAS == 0x3B82 && DMAKIT_IOMMU_IOAS_COPY == 0x3B83 &&
	       DMAKIT_IOMMU_IOAS_IOVA_RANGES == 0x3B84 && DMAKIT_IOMMU_IOAS_MAP == 0x3B85 &&
	       DMAKIT_IOMMU_IOAS_UNMAP == 0x3B86 && DMAKIT_IOMMU_OPTION == 0x3B87 &&
	       DMAKIT_IOMMU_VFIO_IOAS == 0x3B88 && DMAKIT_IOMMU_HWPT_ALLOC == 0x3B89 &&
	       DMAKIT_IOMMU_HWPT_SET_DIRTY_TRACKING == 0x3B8B &&
	       DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP == 0x3B8C &&
	       DMAKIT_IOMMU_IOAS_MAP_FILE == 0x3B8F && DMAKIT_IOMMU_IOAS_CHANGE_PROCESS == 0x3B92,
	       "iommufd ioctl numbers are 0x3B00 | nr");

/* The facts as the reference states them for x86_64, header or no header. */
static void test_struct_sizes_match_the_kernel_abi(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct dmakit_vfio_iommu_type1_info), 24);
	assert_int_equal(sizeof(struct dmakit_vfio_info_cap_header), 8);
	assert_int_equal(sizeof(struct dmakit_vfio_iommu_type1_info_cap_iova_range), 16);
	assert_int_equal(sizeof(struct dmakit_vfio_iommu_type1_info_cap_migration), 32);
	assert_int_equal(offsetof(struct dmakit_vfio_iommu_type1_info_cap_migration, pgsize_bitmap), 16);
	assert_int_equal(sizeof(struct dmakit_vfio_iommu_type1_info_dma_avail), 12);
	assert_int_equal(sizeof(struct dmakit_vfio_iommu_type1_dma_map), 32);
	assert_int_equal(sizeof(struct dmakit_vfio_iommu_type1_dma_unmap), 24);
	assert_int_equal(sizeof(struct dmakit_vfio_bitmap), 24);
	assert_int_equal(sizeof(struct dmakit_vfio_iommu_type1_dirty_bitmap), 8);
	assert_int_equal(sizeof(struct dmakit_vfio_iommu_type1_dirty_bitmap_get), 40);
}

static void test_ioctl_numbers_are_0x3b00_or_nr(void **state)
{
	(void)state;
	assert_int_equal(DMAKIT_VFIO_GET_API_VERSION, 0x3B64);
	assert_int_equal(DMAKIT_VFIO_CHECK_EXTENSION, 0x3B65);
	assert_int_equal(DMAKIT_VFIO_SET_IOMMU, 0x3B66);
	assert_int_equal(DMAKIT_VFIO_IOMMU_GET_INFO, 0x3B70);
	assert_int_equal(DMAKIT_VFIO_IOMMU_MAP_DMA, 0x3B71);
	assert_int_equal(DMAKIT_VFIO_IOMMU_UNMAP_DMA, 0x3B72);
	assert_int_equal(DMAKIT_VFIO_IOMMU_DIRTY_PAGES, 0x3B75);
}

static void test_checked_against_system_header(void **state)
{
	(void)state;
#ifndef HAVE_LINUX_VFIO_H
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_struct_sizes_match_the_kernel_abi),
		cmocka_unit_test(test_ioctl_numbers_are_0x3b00_or_nr),
		cmocka_unit_test(test_checked_against_system_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
