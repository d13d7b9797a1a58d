/* SPDX-License-Identifier: MIT */
/*
 * Shared by the planner's fuzz targets (fuzz_plan_qemu.c, fuzz_plan_libvirt.c,
 * fuzz_plan_scenario.c): the input goes into one memfd, read back through
 * its path /proc/self/fd/N as the CLI reads a file; the checks on what a
 * reader answers (tools/plan.h: "0, or -1 with one line 'WHERE: message'")
 * and on what plan_resolve() and plan_layout_build() leave.
 *
 * Hard properties abort (FZ_CHECK): a crash, leak, hang, a rejection without
 * a message, an accepted VM whose sizes break what plan_resolve()
 * guarantees, a layout whose RAM split does not add up. Softer ones, where
 * the readers are known to differ from the rule (a message echoing a value
 * with a newline in it, a message without a line number), print one NOTE per
 * call site and go on, unless DMAKIT_FUZZ_STRICT=1 (then they abort too):
 * tests/fuzz/regressions/README.md lists the open ones.
 */
#ifndef DMAKIT_FUZZ_PLAN_H
#define DMAKIT_FUZZ_PLAN_H

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "plan.h"

#define FZ_ERRLEN 1024

static inline bool fz_strict(void)
{
	static int v = -1;

	if (v < 0) {
		const char *e = getenv("DMAKIT_FUZZ_STRICT");

		v = e && *e && *e != '0';
	}
	return v;
}

/* A soft property: abort in strict mode, else one NOTE per call site. */
#define FZ_SOFT(cond, ...)                                                          \
	do {                                                                        \
		static bool fz_noted_;                                              \
		if (!(cond)) {                                                      \
			if (fz_strict())                                            \
				FZ_FAIL(__VA_ARGS__);                               \
			if (!fz_noted_) {                                           \
				fz_noted_ = true;                                   \
				fprintf(stderr, "NOTE at %s:%d: ", __FILE__, __LINE__); \
				fprintf(stderr, __VA_ARGS__);                       \
				fputc('\n', stderr);                                \
			}                                                           \
		}                                                                   \
	} while (0)

/* The input as a file: one memfd for the process, rewritten per input. */
static inline const char *fz_plan_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	size_t off = 0;

	if (fd < 0) {
		fd = memfd_create("fuzz-plan", 0);
		FZ_CHECK(fd >= 0, "memfd_create failed");
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	FZ_CHECK(ftruncate(fd, 0) == 0, "ftruncate failed");
	while (off < size) {
		ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);

		FZ_CHECK(n > 0, "pwrite failed");
		off += (size_t)n;
	}
	return path;
}

/* "PREFIX:LINE: " at the start of @msg (LINE decimal, >= 1). */
static inline bool fz_has_file_line(const char *msg, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p;

	if (strncmp(msg, prefix, n) || msg[n] != ':')
		return false;
	p = msg + n + 1;
	if (!isdigit((unsigned char)*p) || *p == '0')
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	return p[0] == ':' && p[1] == ' ';
}

/* A rejection: a message, one line. */
static inline void fz_check_message(const char *what, const char *err)
{
	FZ_CHECK(err[0] != '\0', "%s: rejected without a message", what);
	FZ_SOFT(!strchr(err, '\n'), "%s: message of more than one line: \"%s\"", what, err);
}

/* What plan_resolve() guarantees of an accepted VM. */
static inline void fz_check_resolved(const struct plan_vm *vm, const char *path)
{
	size_t i, j;

	FZ_CHECK(!strcmp(vm->source, path), "source '%s', not the file name", vm->source);
	FZ_CHECK(vm->nr_backends <= PLAN_MAX_BACKENDS && vm->nr_vmems <= PLAN_MAX_VMEMS &&
			 vm->nr_vfios <= PLAN_MAX_VFIOS && vm->nr_steps <= PLAN_MAX_STEPS,
		 "counts out of bounds: %zu backends, %zu vmems, %zu vfios, %zu steps",
		 vm->nr_backends, vm->nr_vmems, vm->nr_vfios, vm->nr_steps);
	if (vm->ram_memdev[0]) {
		const struct plan_backend *b = NULL;

		for (i = 0; i < vm->nr_backends && !b; i++)
			if (!strcmp(vm->backends[i].id, vm->ram_memdev))
				b = &vm->backends[i];
		FZ_CHECK(b, "memory-backend '%s' accepted but does not exist", vm->ram_memdev);
		FZ_CHECK(vm->ram == b->size, "ram %" PRIu64 " != memory-backend size %" PRIu64,
			 vm->ram, b->size);
	}
	FZ_CHECK(!vm->maxmem || vm->maxmem >= vm->ram, "maxmem %" PRIu64 " < ram %" PRIu64,
		 vm->maxmem, vm->ram);
	FZ_SOFT(vm->ram > 0, "%s: accepted with ram 0", path);
	/* Nothing past the 52-bit guest physical address space. */
	{
		struct plan_placement pl;

		FZ_CHECK(vm->ram <= PLAN_MAX_GPA && vm->maxmem <= PLAN_MAX_GPA,
			 "ram %" PRIu64 " or maxmem %" PRIu64 " past 2^52", vm->ram, vm->maxmem);
		for (i = 0; i < vm->nr_backends; i++)
			FZ_CHECK(vm->backends[i].size <= PLAN_MAX_GPA,
				 "backend '%s': size %" PRIu64 " past 2^52", vm->backends[i].id,
				 vm->backends[i].size);
		plan_layout_place(vm, &pl);
		FZ_CHECK(pl.ram_end <= PLAN_MAX_GPA, "RAM ends at 0x%" PRIx64, pl.ram_end);
		for (i = 0; i < vm->nr_vmems; i++)
			FZ_CHECK(pl.vmem_end[i] <= PLAN_MAX_GPA ||
					 vm->vmems[i].block_size > vm->vmems[i].size,
				 "virtio-mem '%s' ends at 0x%" PRIx64, vm->vmems[i].id, pl.vmem_end[i]);
	}
	/* QEMU refuses a duplicate id; the readers keep both, and every
	 * look-up (plan_resolve, the layout, the steps) takes the first. */
	for (i = 0; i < vm->nr_backends; i++)
		for (j = 0; j < i; j++)
			FZ_SOFT(strcmp(vm->backends[i].id, vm->backends[j].id),
				"%s: accepted two memory backends with id '%s'", path,
				vm->backends[i].id);
	for (i = 0; i < vm->nr_vmems; i++)
		for (j = 0; j < i; j++)
			FZ_SOFT(strcmp(vm->vmems[i].id, vm->vmems[j].id),
				"%s: accepted two virtio-mem devices with id '%s'", path,
				vm->vmems[i].id);
	for (i = 0; i < vm->nr_vmems; i++) {
		const struct plan_vmem *m = &vm->vmems[i];
		const struct plan_backend *b = NULL;

		for (j = 0; j < vm->nr_backends && !b; j++)
			if (!strcmp(vm->backends[j].id, m->memdev))
				b = &vm->backends[j];
		FZ_CHECK(b, "virtio-mem '%s': memdev '%s' accepted but does not exist", m->id,
			 m->memdev);
		FZ_CHECK(m->size == b->size, "virtio-mem '%s': size %" PRIu64 " != memdev %" PRIu64,
			 m->id, m->size, b->size);
		FZ_CHECK(m->page_size != 0, "virtio-mem '%s': page size 0", m->id);
		FZ_CHECK(m->requested_size <= m->size, "virtio-mem '%s': requested %" PRIu64
			 " > size %" PRIu64, m->id, m->requested_size, m->size);
		FZ_CHECK(strcmp(m->memdev, vm->ram_memdev), "virtio-mem '%s' on the RAM backend",
			 m->id);
		for (j = 0; j < i; j++)
			FZ_CHECK(strcmp(vm->vmems[j].memdev, m->memdev),
				 "memdev '%s' used twice", m->memdev);
	}
}

/* Build the layout as plan (enforce off) or sim (on) does; it succeeds
 * with a consistent RAM split, or fails with a one-line message. */
static inline void fz_check_layout(const struct plan_vm *vm, const struct plan_host *host,
				   bool enforce)
{
	struct plan_build_opts bo = { DMAKIT_LISTENER_QEMU, enforce, false };
	struct plan_layout L;
	char err[FZ_ERRLEN] = "";
	size_t i;
	int r;

	memset(&L, 0, sizeof(L));
	r = plan_layout_build(vm, host, &bo, &L, err, sizeof(err));
	FZ_LOG("layout (enforce %d): %d %s\n", enforce, r, err);
	if (r < 0) {
		fz_check_message("plan_layout_build", err);
	} else {
		FZ_CHECK(r == 0, "plan_layout_build returned %d", r);
		FZ_CHECK(L.below_4g + L.above_4g == vm->ram && L.below_4g <= vm->ram,
			 "layout: below %" PRIu64 " + above %" PRIu64 " != ram %" PRIu64,
			 L.below_4g, L.above_4g, vm->ram);
		FZ_CHECK(L.below_4g <= 0xe0000000ull, "layout: below 4 GiB %" PRIu64, L.below_4g);
		FZ_CHECK(L.nr_containers <= PLAN_MAX_CONTAINERS, "layout: %zu containers",
			 L.nr_containers);
		for (i = 0; i < L.nr_containers; i++)
			FZ_CHECK(L.containers[i].listener && L.containers[i].nr_devices,
				 "layout: container %zu empty", i);
		FZ_CHECK(L.as && L.sysmem && L.ram_mr, "layout: no address space");
	}
	plan_layout_destroy(&L);
}

#endif /* DMAKIT_FUZZ_PLAN_H */
