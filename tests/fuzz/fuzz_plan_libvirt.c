/* SPDX-License-Identifier: MIT */
/*
 * fuzz_plan_libvirt: the planner's libvirt domain XML reader
 * (tools/plan_libvirt.c, libxml2) on arbitrary bytes, then plan_resolve()
 * and plan_layout_build() as `dmakit plan` runs them (nothing enforced).
 *
 * Properties: never a crash, leak or hang (libxml2 itself is not
 * instrumented for coverage, only its callers); a rejection is one line
 * "/proc/self/fd/N:LINE: ..." (malformed XML included: the reader's own
 * messages and libxml2's first error); an accepted domain holds what
 * plan_resolve() guarantees (fuzz_plan.h), and the reader's own rules:
 * a virtio-mem device's backend is the one made for it, and <memory> is the
 * total (with <maxMemory>, the devices' sizes are taken out of the RAM);
 * the layout builds with a consistent RAM split or fails with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct plan_vm vm;
	const char *path = fz_plan_file(data, size);
	struct plan_host host;
	char err[FZ_ERRLEN] = "";
	size_t i;

	plan_vm_init(&vm);
	if (plan_parse_libvirt(path, &vm, err, sizeof(err)) < 0) {
		FZ_LOG("libvirt: %s\n", err);
		fz_check_message("plan_parse_libvirt", err);
		FZ_SOFT(fz_has_file_line(err, path),
			"plan_parse_libvirt: message does not start with FILE:LINE: \"%s\"", err);
		return 0;
	}
	FZ_CHECK(vm.nr_steps == 0, "libvirt: %zu steps", vm.nr_steps);
	for (i = 0; i < vm.nr_vmems; i++)
		FZ_CHECK(!strcmp(vm.vmems[i].memdev, vm.backends[i].id),
			 "virtio-mem %zu: memdev '%s', backend %zu '%s'", i, vm.vmems[i].memdev, i,
			 vm.backends[i].id);
	if (plan_resolve(&vm, err, sizeof(err)) < 0) {
		FZ_LOG("resolve: %s\n", err);
		fz_check_message("plan_resolve", err);
		FZ_CHECK(!strncmp(err, path, strlen(path)),
			 "plan_resolve: message does not start with the file name: \"%s\"", err);
		FZ_SOFT(fz_has_file_line(err, path),
			"plan_resolve: message without FILE:LINE: \"%s\"", err);
		return 0;
	}
	fz_check_resolved(&vm, path);
	plan_host_init(&host);
	fz_check_layout(&vm, &host, false);
	return 0;
}
