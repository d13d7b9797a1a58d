/* SPDX-License-Identifier: MIT */
/*
 * dmakit: the command-line tool. One table of subcommands; each lives in its
 * own cmd_*.c file and returns an exit status from enum cli_exit.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <dmakit/dmakit.h>

#include "cli.h"

static const struct cli_command commands[] = {
	{ "replay", cmd_replay, "run DMA traces on the emulated or the real kernel" },
	{ "probe", cmd_probe, "report what this host allows: VFIO, limits, groups" },
	{ "trace-gen", cmd_trace_gen, "write a seeded random trace for differential runs" },
	{ "record", cmd_record, "run a command and record its VFIO DMA requests as a trace" },
	{ "inject", cmd_inject, "run a command with a smaller DMA limit or failing maps/unmaps" },
	{ "analyze", cmd_analyze, "summarise a recorded trace: peak, headroom, latency" },
	{ "bench", cmd_bench, "measure the range table and MAP/UNMAP against GTree and an RB tree" },
	{ "plan", cmd_plan, "will a VM's DMA mappings fit? (QEMU command line, libvirt XML, scenario)" },
	{ "sim", cmd_sim, "run a scenario's timeline through the listener on the emulated kernel" },
};

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("dmakit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_exit_for_host_error(int err)
{
	switch (-err) {
	case EINVAL:
		return CLI_EXIT_USAGE;
	default:
		return CLI_EXIT_HOST;
	}
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: dmakit COMMAND [OPTIONS] [ARGS]\n"
		     "       dmakit --version | --help\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'dmakit COMMAND --help' describes a command.\n"
		     "exit status: 0 done, 1 the VM or scenario fails, 2 bad input or usage,\n"
		     "3 the host refuses.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("dmakit %s\n", dmakit_version());
		return CLI_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	cli_error("unknown command '%s' (see 'dmakit --help')", argv[1]);
	return CLI_EXIT_USAGE;
}
