/* SPDX-License-Identifier: MIT */
/*
 * dmakit bench without its baselines: stands in for bench_baselines.c in the
 * static dmakit command (the real-kernel lab's), which links neither GLib
 * nor libbsd. `bench` there measures dmakit alone and says so.
 */
#include <stddef.h>

#include "bench.h"

const struct bench_impl *bench_baseline(int which)
{
	(void)which;
	return NULL;
}

const char *bench_baselines_describe(void)
{
	return "not built in (static command; use the shared build/dmakit)";
}
