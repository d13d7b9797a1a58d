/* SPDX-License-Identifier: MIT */
/*
 * dmakit replay [--backend emu|linux] [--group /dev/vfio/N] TRACE...
 *
 * Every trace is parsed before anything runs: one malformed line anywhere
 * stops the command with "FILE:LINE: message" and exit status 2. With several
 * traces, each runs on its own container and its output is headed by
 * "# FILE".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dmakit/dmakit.h>

#include "cli.h"

static void replay_usage(FILE *out)
{
	fprintf(out,
		"usage: dmakit replay [--backend emu|linux] [--group /dev/vfio/N] TRACE...\n"
		"\n"
		"Run each TRACE (docs/trace-format.md) on a new container and print one\n"
		"line per operation.\n"
		"\n"
		"  --backend emu    the emulated kernel (default; needs nothing)\n"
		"  --backend linux  the real kernel through /dev/vfio/vfio (root)\n"
		"  --backend emu-iommufd  type1 traces on the emulated iommufd vfio compat\n"
		"                   layer (iommu=iommufd traces run on the emulator anyway)\n"
		"  --group PATH     the VFIO group file for --backend linux\n"
		"  --container PATH the container device (default /dev/vfio/vfio)\n"
		"  --version, --help\n");
}

int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "group", required_argument, NULL, 'g' },
		{ "container", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct dmakit_replay_options opts = { .backend = DMAKIT_BACKEND_EMU };
	struct dmakit_trace **traces;
	int opt, i, ntraces, status = CLI_EXIT_OK;
	char err[512];

	optind = 1;
	while ((opt = getopt_long(argc, argv, "b:g:c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			if (strcmp(optarg, "emu") == 0) {
				opts.backend = DMAKIT_BACKEND_EMU;
			} else if (strcmp(optarg, "linux") == 0) {
				opts.backend = DMAKIT_BACKEND_LINUX;
			} else if (strcmp(optarg, "emu-iommufd") == 0) {
				opts.backend = DMAKIT_BACKEND_EMU_IOMMUFD;
			} else {
				cli_error("replay: unknown backend '%s' (expected emu or linux)", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'g':
			opts.group_path = optarg;
			break;
		case 'c':
			opts.container_path = optarg;
			break;
		case 'h':
			replay_usage(stdout);
			return CLI_EXIT_OK;
		case 'V':
			printf("dmakit %s\n", dmakit_version());
			return CLI_EXIT_OK;
		default:
			replay_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	ntraces = argc - optind;
	if (ntraces < 1) {
		cli_error("replay: no trace given");
		replay_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (opts.backend == DMAKIT_BACKEND_LINUX && !opts.group_path) {
		cli_error("replay: --backend linux needs --group /dev/vfio/N");
		return CLI_EXIT_USAGE;
	}

	traces = calloc((size_t)ntraces, sizeof(*traces));
	if (!traces) {
		cli_error("replay: out of memory");
		return CLI_EXIT_HOST;
	}
	for (i = 0; i < ntraces; i++) {
		int ret = dmakit_trace_parse_file(argv[optind + i], &traces[i], err, sizeof(err));

		if (ret < 0) {
			if (err[0])
				fprintf(stderr, "%s\n", err);
			else
				cli_error("replay: %s: %s", argv[optind + i], dmakit_strerror(ret));
			status = CLI_EXIT_USAGE;
			goto out;
		}
	}
	for (i = 0; i < ntraces; i++) {
		int ret;

		if (ntraces > 1)
			printf("# %s\n", traces[i]->name);
		ret = dmakit_trace_replay(traces[i], &opts, stdout);
		fflush(stdout);
		if (ret < 0) {
			cli_error("replay: %s: cannot open the %s container: %s",
				  traces[i]->name,
				  opts.backend == DMAKIT_BACKEND_LINUX ? "real" : "emulated",
				  dmakit_strerror(ret));
			status = cli_exit_for_host_error(ret);
			goto out;
		}
	}
out:
	for (i = 0; i < ntraces; i++)
		dmakit_trace_free(traces[i]);
	free(traces);
	return status;
}
