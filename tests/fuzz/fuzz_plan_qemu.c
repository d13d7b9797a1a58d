/* SPDX-License-Identifier: MIT */
/*
 * fuzz_plan_qemu: the planner's QEMU command-line readers (tools/plan_parse.c)
 * on arbitrary bytes, then plan_resolve() and plan_layout_build().
 *
 * Every input is read twice:
 *   - as a file, by plan_parse_qemu_file() (shell-like words, quotes, '\'
 *     + newline, '#' comments): a rejection is one line
 *     "/proc/self/fd/N:LINE: ...";
 *   - as an argv, by plan_parse_qemu_args() with where "argument" as
 *     `dmakit plan -- ARGS` passes it: the words are the input split on NUL
 *     bytes when it has one, else on blanks; a rejection is one line
 *     "argument N ('WORD'): ...".
 * An accepted VM goes through plan_resolve() (a rejection: one line naming
 * the file, or the argument, or "command line"), and a resolved one must
 * hold what plan_resolve() guarantees (fuzz_plan.h) and build a layout (plan:
 * no limits enforced) with a consistent RAM split, or fail with a message.
 * Never a crash, leak or hang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_plan.h"

#define MAX_ARGS 4096

static void after_parse(struct plan_vm *vm, const char *src, bool file)
{
	struct plan_host host;
	char err[FZ_ERRLEN] = "";

	if (plan_resolve(vm, err, sizeof(err)) < 0) {
		FZ_LOG("resolve: %s\n", err);
		fz_check_message("plan_resolve", err);
		/* memory-backend= and maxmem name the source, without a line */
		if (file)
			FZ_SOFT(fz_has_file_line(err, src),
				"plan_resolve: message without FILE:LINE: \"%s\"", err);
		return;
	}
	fz_check_resolved(vm, src);
	plan_host_init(&host);
	fz_check_layout(vm, &host, false);
}

static void run_file(const uint8_t *data, size_t size)
{
	static struct plan_vm vm;
	const char *path = fz_plan_file(data, size);
	char err[FZ_ERRLEN] = "";

	plan_vm_init(&vm);
	if (plan_parse_qemu_file(path, &vm, err, sizeof(err)) < 0) {
		FZ_LOG("file: %s\n", err);
		fz_check_message("plan_parse_qemu_file", err);
		FZ_CHECK(fz_has_file_line(err, path) || !strcmp(err, "out of memory"),
			 "plan_parse_qemu_file: message does not start with FILE:LINE: \"%s\"", err);
		return;
	}
	after_parse(&vm, path, true);
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void run_args(const uint8_t *data, size_t size)
{
	static struct plan_vm vm;
	char *buf = malloc(size + 1), *argv[MAX_ARGS], err[FZ_ERRLEN] = "";
	bool nul = memchr(data, 0, size) != NULL;
	int argc = 0;
	size_t i = 0;

	FZ_CHECK(buf, "out of memory");
	memcpy(buf, data, size);
	buf[size] = '\0';
	while (i < size && argc < MAX_ARGS) {
		size_t start;

		if (!nul)
			while (i < size && blank(buf[i]))
				i++;
		if (i >= size)
			break;
		start = i;
		while (i < size && buf[i] && (nul || !blank(buf[i])))
			i++;
		buf[i++] = '\0';
		argv[argc++] = buf + start;
	}
	plan_vm_init(&vm);
	if (plan_parse_qemu_args(argc, argv, "argument", &vm, err, sizeof(err)) < 0) {
		unsigned long n;
		char *end;

		FZ_LOG("args: %s\n", err);
		fz_check_message("plan_parse_qemu_args", err);
		FZ_CHECK(!strncmp(err, "argument ", 9) || !strcmp(err, "out of memory"),
			 "plan_parse_qemu_args: message does not start with 'argument N': \"%s\"",
			 err);
		if (strcmp(err, "out of memory")) {
			n = strtoul(err + 9, &end, 10);
			FZ_CHECK(n >= 1 && n <= (unsigned long)argc && !strncmp(end, " ('", 3),
				 "plan_parse_qemu_args: bad argument number: \"%s\"", err);
		}
	} else {
		FZ_CHECK(!strcmp(vm.source, "command line"), "args: source '%s'", vm.source);
		/* the source is "command line" here, not a file name */
		snprintf(vm.source, sizeof(vm.source), "command line");
		{
			struct plan_host host;

			if (plan_resolve(&vm, err, sizeof(err)) < 0) {
				fz_check_message("plan_resolve", err);
			} else {
				fz_check_resolved(&vm, "command line");
				plan_host_init(&host);
				fz_check_layout(&vm, &host, false);
			}
		}
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_file(data, size);
	run_args(data, size);
	return 0;
}
