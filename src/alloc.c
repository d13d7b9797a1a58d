/* SPDX-License-Identifier: MIT */
/*
 * The library's allocation wrappers: plain libc, behind the fault-injection
 * switch (include/dmakit/fault.h) so every -ENOMEM path can be driven.
 */
#include "alloc.h"
#include "fault_internal.h"

void *dmakit__malloc(size_t size)
{
	if (dmakit__fault_check(DMAKIT_FAULT_ALLOC))
		return NULL;
	return malloc(size);
}

void *dmakit__calloc(size_t nmemb, size_t size)
{
	if (dmakit__fault_check(DMAKIT_FAULT_ALLOC))
		return NULL;
	return calloc(nmemb, size);
}

void *dmakit__realloc(void *ptr, size_t size)
{
	if (dmakit__fault_check(DMAKIT_FAULT_ALLOC))
		return NULL;
	return realloc(ptr, size);
}

void dmakit__free(void *ptr)
{
	free(ptr);
}
