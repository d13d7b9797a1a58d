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
