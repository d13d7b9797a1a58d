/* SPDX-License-Identifier: MIT */
/*
 * dmakit trace-gen [--seed N] [--ops N] [--iommu type1|type1v2] [--limit N] [-o FILE]
 *
 * Writes one seeded random trace (see include/dmakit/trace_gen.h): the input
 * of differential runs of the emulator against the real kernel.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dmakit/dmakit.h>

#include "cli.h"

static void trace_gen_usage(FILE *out)
{
	fprintf(out,
		"usage: dmakit trace-gen [--seed N] [--ops N] [--iommu type1|type1v2]\n"
		"                        [--limit N] [-o FILE]\n"
		"\n"
		"Write a seeded random trace that reaches every operation and error path\n"
		"of the trace format. The same options give the same trace.\n"
		"\n"
		"  --seed N    the seed (default 1)\n"
		"  --ops N     operations after the setup line (default 1000)\n"
		"  --iommu T   type1 or type1v2 (default: chosen by the seed)\n"
		"  --limit N   dma_entry_limit (default: small, chosen by the seed)\n"
		"  -o, --output FILE  write to FILE instead of standard output\n"
		"  --version, --help\n");
}

static int parse_number(const char *what, const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > max) {
		cli_error("trace-gen: bad number '%s' for %s", s, what);
		return -1;
	}
	*out = v;
	return 0;
}

int cmd_trace_gen(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "iommu", required_argument, NULL, 'i' },
		{ "limit", required_argument, NULL, 'l' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct dmakit_trace_gen_options opts = { .seed = 1, .nr_ops = 1000 };
	const char *output = NULL;
	FILE *out = stdout;
	uint64_t v;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:n:i:l:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (parse_number("--seed", optarg, UINT64_MAX, &opts.seed) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'n':
			if (parse_number("--ops", optarg, 100000000, &v) < 0)
				return CLI_EXIT_USAGE;
			opts.nr_ops = (size_t)v;
			break;
		case 'i':
			if (strcmp(optarg, "type1") == 0) {
				opts.iommu_type = DMAKIT_VFIO_TYPE1_IOMMU;
			} else if (strcmp(optarg, "type1v2") == 0) {
				opts.iommu_type = DMAKIT_VFIO_TYPE1v2_IOMMU;
			} else {
				cli_error("trace-gen: unknown iommu '%s' (expected type1 or type1v2)", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'l':
			if (parse_number("--limit", optarg, UINT32_MAX, &v) < 0 || v == 0) {
				if (v == 0)
					cli_error("trace-gen: --limit must be at least 1");
				return CLI_EXIT_USAGE;
			}
			opts.limit = (uint32_t)v;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			trace_gen_usage(stdout);
			return CLI_EXIT_OK;
		case 'V':
			printf("dmakit %s\n", dmakit_version());
			return CLI_EXIT_OK;
		default:
			trace_gen_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("trace-gen: unexpected argument '%s'", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (output) {
		out = fopen(output, "we");
		if (!out) {
			cli_error("trace-gen: cannot write %s: %s", output, strerror(errno));
			return CLI_EXIT_USAGE;
		}
	}
	ret = dmakit_trace_generate(&opts, out);
	if (output && fclose(out) != 0 && ret == 0)
		ret = -errno;
	if (ret < 0) {
		cli_error("trace-gen: %s", dmakit_strerror(ret));
		return CLI_EXIT_HOST;
	}
	return CLI_EXIT_OK;
}
