/* SPDX-License-Identifier: MIT */
/*
 * Range table operations for the library's own use (not exported).
 */
#ifndef DMAKIT_RANGE_TABLE_INTERNAL_H
#define DMAKIT_RANGE_TABLE_INTERNAL_H

#include <dmakit/range_table.h>

/*
 * dmakit__range_table_resize() - give the range that starts at @start the
 * bounds [@new_start, @new_last], in place. Never allocates.
 * @returns 0; -ENOENT (no range starts at @start); -EEXIST (the new bounds
 * would overlap a neighbour: nothing changed); -EINVAL.
 */
int dmakit__range_table_resize(struct dmakit_range_table *table, uint64_t start,
			       uint64_t new_start, uint64_t new_last);

/*
 * dmakit__range_table_fill_holes() - make every address of [@start, @last]
 * (inclusive) covered: insert one range with @value per hole, leaving the
 * ranges already there as they are. Used for "declared process memory",
 * where declaring memory again is not an error.
 * @returns 0, or -ENOMEM (the holes filled before the failure stay filled).
 */
int dmakit__range_table_fill_holes(struct dmakit_range_table *table, uint64_t start,
				   uint64_t last, uint64_t value);

#endif /* DMAKIT_RANGE_TABLE_INTERNAL_H */
