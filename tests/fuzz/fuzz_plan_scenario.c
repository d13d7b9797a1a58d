/* SPDX-License-Identifier: MIT */
/*
 * fuzz_plan_scenario: the planner's scenario reader and `--host` JSON reader
 * (tools/plan_parse.c: plan_parse_scenario, plan_parse_host_json) on
 * arbitrary bytes, then plan_resolve() and plan_layout_build() as `dmakit
 * sim` runs them (the scenario's host line, limits enforced) and as `dmakit
 * plan` does (nothing enforced).
 *
 * Properties: never a crash, leak or hang; a rejection is one line
 * "/proc/self/fd/N:LINE: ..." (plan_resolve's own messages name the file and
 * a line too, or only the file for memory-backend= and maxmem: a NOTE); an
 * accepted scenario holds what plan_resolve() guarantees (fuzz_plan.h), its
 * steps have a repeat in 1..1000000, a line within the file, the vIOMMU
 * steps at most PLAN_MAX_OPS operations, the sized steps a size; its host
 * line a 39 or 48 bit IOMMU; the layout builds with a consistent RAM split
 * or fails with a message. The JSON reader: the same message rule, and
 * an accepted file leaves its name as the host's source.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_plan.h"

static void check_steps(const struct plan_vm *vm, unsigned int lines)
{
	size_t i;

	for (i = 0; i < vm->nr_steps; i++) {
		const struct plan_step *s = &vm->steps[i];

		FZ_CHECK(s->repeat >= 1 && s->repeat <= 1000000, "step %zu: repeat %u", i,
			 s->repeat);
		FZ_CHECK(s->line >= 1 && s->line <= lines, "step %zu: line %u of %u", i, s->line,
			 lines);
		FZ_CHECK(i == 0 || s->line > vm->steps[i - 1].line, "step %zu: line %u not after %u",
			 i, s->line, vm->steps[i - 1].line);
		if (s->kind == STEP_VIOMMU_MAP || s->kind == STEP_VIOMMU_UNMAP)
			FZ_CHECK(s->count <= PLAN_MAX_OPS &&
					 s->count * s->repeat <= PLAN_MAX_OPS,
				 "step %zu: count %" PRIu64 " x repeat %u", i, s->count, s->repeat);
		if (s->kind == STEP_PLUG || s->kind == STEP_UNPLUG || s->kind == STEP_SHARE ||
		    s->kind == STEP_PRIVATE)
			FZ_CHECK(s->size != 0, "step %zu: size 0", i);
	}
}

static void run_scenario(const uint8_t *data, size_t size)
{
	static struct plan_vm vm;
	const char *path = fz_plan_file(data, size);
	struct plan_host host;
	bool host_given = false;
	char err[FZ_ERRLEN] = "";
	unsigned int lines = 1;
	size_t i;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	plan_vm_init(&vm);
	plan_host_init(&host);
	if (plan_parse_scenario(path, &vm, &host, &host_given, err, sizeof(err)) < 0) {
		FZ_LOG("scenario: %s\n", err);
		fz_check_message("plan_parse_scenario", err);
		FZ_CHECK(fz_has_file_line(err, path),
			 "plan_parse_scenario: message does not start with FILE:LINE: \"%s\"", err);
		return;
	}
	if (plan_resolve(&vm, err, sizeof(err)) < 0) {
		FZ_LOG("resolve: %s\n", err);
		fz_check_message("plan_resolve", err);
		FZ_CHECK(!strncmp(err, path, strlen(path)),
			 "plan_resolve: message does not start with the file name: \"%s\"", err);
		FZ_SOFT(fz_has_file_line(err, path),
			"plan_resolve: message without FILE:LINE: \"%s\"", err);
		return;
	}
	fz_check_resolved(&vm, path);
	check_steps(&vm, lines);
	FZ_CHECK(host.iova_bits == 39 || host.iova_bits == 48, "host: iommu-bits %u",
		 host.iova_bits);
	FZ_CHECK(!host_given || !strncmp(host.source, path, strlen(path)),
		 "host: source '%s'", host.source);
	fz_check_layout(&vm, &host, true);
	if (size & 1) /* both ways on half of the inputs: the cost is the build */
		fz_check_layout(&vm, &host, false);
}

static void run_host_json(const uint8_t *data, size_t size)
{
	const char *path = fz_plan_file(data, size);
	struct plan_host host;
	char err[FZ_ERRLEN] = "";

	plan_host_init(&host);
	if (plan_parse_host_json(path, &host, err, sizeof(err)) < 0) {
		FZ_LOG("host json: %s\n", err);
		fz_check_message("plan_parse_host_json", err);
		FZ_CHECK(fz_has_file_line(err, path),
			 "plan_parse_host_json: message does not start with FILE:LINE: \"%s\"", err);
		return;
	}
	FZ_CHECK(!strcmp(host.source, path), "host json: source '%s'", host.source);
	FZ_CHECK(host.iova_bits == 39 || host.iova_bits == 48, "host json: iommu-bits %u",
		 host.iova_bits);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_scenario(data, size);
	run_host_json(data, size);
	return 0;
}
