/* SPDX-License-Identifier: MIT */
#include "alloc.h"

void *dmakit__malloc(size_t size)
{
	return malloc(size);
}

void *dmakit__calloc(size_t nmemb, size_t size)
{
	return calloc(nmemb, size);
}

void *dmakit__realloc(void *ptr, size_t size)
{
	return realloc(ptr, size);
}

void dmakit__free(void *ptr)
{
	free(ptr);
}
