/* SPDX-License-Identifier: MIT */
/*
 * Allocation for the whole library goes through these wrappers, so one switch
 * can make the k-th allocation fail (fault-injection tests) and every failure
 * path can be exercised.
 */
#ifndef DMAKIT_ALLOC_H
#define DMAKIT_ALLOC_H

#include <stddef.h>
#include <stdlib.h>

void *dmakit__malloc(size_t size);
void *dmakit__calloc(size_t nmemb, size_t size);
void *dmakit__realloc(void *ptr, size_t size);
void dmakit__free(void *ptr);

#endif /* DMAKIT_ALLOC_H */
