/* SPDX-License-Identifier: MIT */
/*
 * Threads: a container may be shared by many threads (its calls are
 * serialised by the container's lock). Several threads map and unmap in
 * their own IOVA windows, invalidate and remap, query GET_INFO and the
 * statistics, all at once; afterwards every count must add up. Run under
 * ThreadSanitizer by `make check` (build-tsan/), and plainly here.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dmakit/dmakit.h>

#define THREADS 4
#define ROUNDS 2000
#define WINDOW (1ull << 30) /* IOVA bytes per thread */
#define PAGE 4096ull

struct worker {
	struct dmakit_container *c;
	unsigned int id;
	uint64_t maps_ok;
	uint64_t unmapped_bytes;
	int failures;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t base = (uint64_t)w->id * WINDOW, state = 0x9e3779b97f4a7c15ull * (w->id + 1);
	unsigned int i;

	for (i = 0; i < ROUNDS; i++) {
		uint64_t slot;
		int ret;

		state ^= state << 13, state ^= state >> 7, state ^= state << 17;
		slot = state % 256;
		if (state & 0x100) {
			struct dmakit_vfio_iommu_type1_dma_map map = {
				.argsz = sizeof(map),
				.flags = DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE,
				.vaddr = 0x7f0000000000ull + slot * PAGE, .iova = base + slot * PAGE,
				.size = PAGE,
			};

			ret = dmakit_container_map_dma(w->c, &map);
			if (ret == 0)
				w->maps_ok++;
			else if (ret != -EEXIST)
				w->failures++;
		} else if (state & 0x200) {
			struct dmakit_vfio_iommu_type1_dma_unmap unmap = {
				.argsz = sizeof(unmap), .iova = base + slot * PAGE, .size = 16 * PAGE,
			};

			ret = dmakit_container_unmap_dma(w->c, &unmap);
			if (ret == 0)
				w->unmapped_bytes += unmap.size;
			else
				w->failures++;
		} else if (state & 0x400) {
			struct dmakit_type1_info info;

			if (dmakit_container_query_info(w->c, &info) != 0 || !info.has_dma_avail)
				w->failures++;
		} else {
			struct dmakit_container_stats st;

			if (dmakit_container_stats(w->c, &st) != 0 ||
			    st.mappings + st.dma_avail != 1000000)
				w->failures++;
		}
	}
	return NULL;
}

static void test_threads_share_a_container(void **state)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c;
	struct worker workers[THREADS];
	pthread_t threads[THREADS];
	struct dmakit_container_stats st;
	uint64_t maps = 0, unmapped = 0;
	unsigned int i;

	(void)state;
	dmakit_container_config_init(&cfg);
	cfg.dma_entry_limit = 1000000;
	assert_int_equal(dmakit_container_open(&cfg, &c), 0);
	for (i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){ .c = c, .id = i };
		assert_int_equal(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(workers[i].failures, 0);
		maps += workers[i].maps_ok;
		unmapped += workers[i].unmapped_bytes;
	}
	assert_int_equal(dmakit_container_stats(c, &st), 0);
	/* Every page mapped is either still mapped or was unmapped once. */
	assert_int_equal(st.mappings * PAGE + unmapped, maps * PAGE);
	assert_int_equal(st.mappings + st.dma_avail, 1000000);
	assert_int_equal(st.mapped_bytes, st.mappings * PAGE);
	dmakit_container_close(c);
}

/* Many containers, one per thread, opened and closed concurrently. */
static void *own_container(void *arg)
{
	int *failures = arg;
	unsigned int i;

	for (i = 0; i < 200; i++) {
		struct dmakit_container_config cfg;
		struct dmakit_container *c;
		struct dmakit_vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map), .flags = DMAKIT_VFIO_DMA_MAP_FLAG_READ,
			.vaddr = 0x7f0000000000ull, .iova = 0x100000, .size = PAGE,
		};

		dmakit_container_config_init(&cfg);
		if (dmakit_container_open(&cfg, &c) != 0) {
			(*failures)++;
			continue;
		}
		if (dmakit_container_map_dma(c, &map) != 0)
			(*failures)++;
		dmakit_container_close(c);
	}
	return NULL;
}

static void test_threads_own_containers(void **state)
{
	pthread_t threads[THREADS];
	int failures[THREADS] = { 0 };
	unsigned int i;

	(void)state;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, own_container, &failures[i]), 0);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(failures[i], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_share_a_container),
		cmocka_unit_test(test_threads_own_containers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
