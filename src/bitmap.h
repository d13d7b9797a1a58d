/* SPDX-License-Identifier: MIT */
/*
 * Bit runs in u64-word bitmaps, the kernel's layout (bit i in word i / 64 at
 * position i % 64): the dirty bitmaps of the type1 and iommufd emulators.
 */
#ifndef DMAKIT_BITMAP_H
#define DMAKIT_BITMAP_H

#include <stdint.h>

/* Set bits [first, first + count) of @data. */
static inline void dmakit__bitmap_set(uint64_t *data, uint64_t first, uint64_t count)
{
	uint64_t bit = first, end = first + count;

	while (bit < end && (bit & 63))
		data[bit / 64] |= 1ull << (bit & 63), bit++;
	while (bit + 64 <= end)
		data[bit / 64] = ~0ull, bit += 64;
	while (bit < end)
		data[bit / 64] |= 1ull << (bit & 63), bit++;
}

#endif /* DMAKIT_BITMAP_H */
