/* SPDX-License-Identifier: MIT */
/*
 * dmakit sim [OPTIONS] SCENARIO: run a scenario's timeline (boot, hotplug,
 * virtio-mem plug/unplug, shared/private conversions, vIOMMU bursts)
 * through the listener against the emulated type1 kernel, with the host's
 * dma_entry_limit, and report per step: mappings, limit, operations
 * issued, failures. --plot FILE.svg draws mappings against the limit with
 * cairo. Exit: 0 no failure, 1 a step failed, 2 bad input.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifdef DMAKIT_HAVE_CAIRO
#include <cairo.h>
#include <cairo-svg.h>
#endif

#include <dmakit/dmakit.h>
#include <dmakit/profiles.h>

#include "cli.h"
#include "json.h"
#include "plan.h"

int plan_host_option(int opt, const char *arg, struct plan_host *host, bool *given);

struct rec {
	const char *label;
	unsigned int line;
	uint64_t mappings, ops, failures;
	int err;
	char msg[1024];
};

static void totals(const struct plan_layout *L, uint64_t *mappings, uint64_t *ops)
{
	size_t k;

	*mappings = 0;
	*ops = 0;
	for (k = 0; k < L->nr_containers; k++) {
		struct dmakit_listener_stats st;

		dmakit_listener_stats(L->containers[k].listener, &st);
		/* the limited container is the one the run is about */
		if (k == 0 || !L->containers[k].iommufd)
			if (k == 0 || L->containers[0].iommufd)
				*mappings = st.live_mappings;
		*ops += st.map_calls + st.unmap_calls;
	}
}

static void progress(size_t i, size_t n, const char *label)
{
	int w = 30, fill = n ? (int)(i * (size_t)w / n) : w;

	fprintf(stderr, "\r[%.*s%*s] %zu/%zu %-24.24s", fill,
		"##############################", w - fill, "", i, n, label);
	if (i == n)
		fputc('\n', stderr);
	fflush(stderr);
}

#ifdef DMAKIT_HAVE_CAIRO
static int plot(const char *path, const char *title, const struct rec *r, size_t n,
		uint64_t limit, bool limited)
{
	const double W = 800, H = 450, ml = 80, mr = 20, mt = 40, mb = 60;
	double pw = W - ml - mr, ph = H - mt - mb, x0, y0;
	uint64_t ymax = limited ? limit : 1;
	cairo_surface_t *s;
	cairo_t *cr;
	size_t i;
	int t;
	char buf[64];

	for (i = 0; i < n; i++)
		if (r[i].mappings > ymax)
			ymax = r[i].mappings;
	ymax = ymax + ymax / 10 + 1;
	s = cairo_svg_surface_create(path, W, H);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(s);
		return -EIO;
	}
	cr = cairo_create(s);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 14);
	cairo_set_source_rgb(cr, 0, 0, 0);
	cairo_move_to(cr, ml, 24);
	cairo_show_text(cr, title);
	cairo_set_font_size(cr, 10);
	/* axes and grid */
	cairo_set_line_width(cr, 1);
	for (t = 0; t <= 5; t++) {
		double y = mt + ph - ph * t / 5.0;

		cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
		cairo_move_to(cr, ml, y);
		cairo_line_to(cr, ml + pw, y);
		cairo_stroke(cr);
		cairo_set_source_rgb(cr, 0, 0, 0);
		snprintf(buf, sizeof(buf), "%" PRIu64, ymax * (uint64_t)t / 5);
		cairo_move_to(cr, 4, y + 4);
		cairo_show_text(cr, buf);
	}
	cairo_set_source_rgb(cr, 0, 0, 0);
	cairo_rectangle(cr, ml, mt, pw, ph);
	cairo_stroke(cr);
	for (i = 0; i < n; i++) {
		double x = ml + (n > 1 ? pw * (double)i / (double)(n - 1) : pw / 2);

		cairo_move_to(cr, x - 3, mt + ph + 14);
		snprintf(buf, sizeof(buf), "%zu", i);
		cairo_show_text(cr, buf);
	}
	cairo_move_to(cr, ml + pw / 2 - 20, H - 16);
	cairo_show_text(cr, "step");
	cairo_save(cr);
	cairo_move_to(cr, 14, mt + ph / 2 + 30);
	cairo_rotate(cr, -1.5708);
	cairo_show_text(cr, "DMA mappings");
	cairo_restore(cr);
	/* the limit */
	if (limited) {
		double y = mt + ph - ph * (double)limit / (double)ymax;
		const double dash[] = { 6, 4 };

		cairo_set_source_rgb(cr, 0.8, 0, 0);
		cairo_set_dash(cr, dash, 2, 0);
		cairo_move_to(cr, ml, y);
		cairo_line_to(cr, ml + pw, y);
		cairo_stroke(cr);
		cairo_set_dash(cr, NULL, 0, 0);
		snprintf(buf, sizeof(buf), "dma_entry_limit %" PRIu64, limit);
		cairo_move_to(cr, ml + pw - 150, y - 4);
		cairo_show_text(cr, buf);
	}
	/* the mappings */
	cairo_set_source_rgb(cr, 0.1, 0.3, 0.8);
	cairo_set_line_width(cr, 2);
	for (i = 0; i < n; i++) {
		x0 = ml + (n > 1 ? pw * (double)i / (double)(n - 1) : pw / 2);
		y0 = mt + ph - ph * (double)r[i].mappings / (double)ymax;
		if (i == 0)
			cairo_move_to(cr, x0, y0);
		else
			cairo_line_to(cr, x0, y0);
	}
	cairo_stroke(cr);
	/* failures: a red cross and the step's label */
	cairo_set_source_rgb(cr, 0.85, 0, 0);
	for (i = 0; i < n; i++) {
		if (!r[i].failures && !r[i].err)
			continue;
		x0 = ml + (n > 1 ? pw * (double)i / (double)(n - 1) : pw / 2);
		y0 = mt + ph - ph * (double)r[i].mappings / (double)ymax;
		cairo_move_to(cr, x0 - 5, y0 - 5);
		cairo_line_to(cr, x0 + 5, y0 + 5);
		cairo_move_to(cr, x0 + 5, y0 - 5);
		cairo_line_to(cr, x0 - 5, y0 + 5);
		cairo_stroke(cr);
		cairo_move_to(cr, x0 + 6, y0 + 14);
		snprintf(buf, sizeof(buf), "%s failed", r[i].label);
		cairo_show_text(cr, buf);
	}
	cairo_destroy(cr);
	cairo_surface_finish(s);
	t = cairo_surface_status(s) == CAIRO_STATUS_SUCCESS ? 0 : -EIO;
	cairo_surface_destroy(s);
	return t;
}
#endif

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The process's peak resident set, bytes (ru_maxrss is in KiB on Linux). */
static uint64_t peak_rss_bytes(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (uint64_t)ru.ru_maxrss * 1024;
}

static const char *strategy_name(enum dmakit_listener_strategy s)
{
	return s == DMAKIT_LISTENER_EXACT ? "exact" : s == DMAKIT_LISTENER_COALESCE ? "coalesce" : "qemu";
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dmakit sim [OPTIONS] SCENARIO\n"
		"  --strategy qemu|exact|coalesce   the listener's strategy (default qemu)\n"
		"  --plot FILE.svg        draw mappings over time against the limit\n"
		"  --json                 JSON instead of the table\n"
		"  --timing               add wall time, peak RSS and backend ops/s to the\n"
		"                         summary (not reproducible, so not by default)\n"
		"  --page-tables on|off   keep the emulator's IO page-table model (default off;\n"
		"                         account-bytes always keeps it)\n"
		"  --host FILE, --dma-entry-limit N, --memlock SIZE, --kernel 6.1|6.12|6.18\n"
		"                         host facts (override the scenario's host line)\n"
		"  --profile count|report-unlimited|account-bytes|drop-cap  the type1 limit\n"
		"                         profile (PROPOSALS but count; docs/profiles.md)\n"
		"  --budget SIZE          account-bytes: the container's budget (default 1G)\n"
		"  --absent-cap 65535|unlimited  how the VMM reads an absent DMA_AVAIL\n"
		"exit status: 0 no failure, 1 a step failed, 2 bad input.\n");
}

int cmd_sim(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "timing", no_argument, NULL, 't' },
		{ "page-tables", required_argument, NULL, 'T' },
		{ "strategy", required_argument, NULL, 's' },
		{ "plot", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'H' },
		{ "dma-entry-limit", required_argument, NULL, 'L' },
		{ "memlock", required_argument, NULL, 'M' },
		{ "kernel", required_argument, NULL, 'K' },
		{ "profile", required_argument, NULL, 'P' },
		{ "budget", required_argument, NULL, 'G' },
		{ "absent-cap", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct plan_vm vm;
	struct plan_host host, fhost;
	struct plan_layout L;
	struct plan_build_opts bo = { .strategy = DMAKIT_LISTENER_QEMU, .enforce = true };
	struct rec *recs;
	const char *plot_path = NULL;
	bool json = false, timing = false, flags_given = false, file_host = false, tty;
	char err[1024];
	int opt, r, ret = CLI_EXIT_OK;
	size_t i, n = 0;
	uint64_t m, ops, prev_ops = 0, total_fail = 0, peak = 0, limit, total_ops = 0;
	double t0, wall;
	bool limited = false;

	plan_host_init(&host);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 'p': plot_path = optarg; break;
		case 't': timing = true; break;
		case 'T':
			if (!strcmp(optarg, "on"))
				bo.model_page_tables = true;
			else if (!strcmp(optarg, "off"))
				bo.model_page_tables = false;
			else {
				cli_error("--page-tables: bad value '%s' (on, off)", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return CLI_EXIT_OK;
		case 'V': printf("dmakit %s\n", dmakit_version()); return CLI_EXIT_OK;
		case 's':
			if (!strcmp(optarg, "qemu"))
				bo.strategy = DMAKIT_LISTENER_QEMU;
			else if (!strcmp(optarg, "exact"))
				bo.strategy = DMAKIT_LISTENER_EXACT;
			else if (!strcmp(optarg, "coalesce"))
				bo.strategy = DMAKIT_LISTENER_COALESCE;
			else {
				cli_error("--strategy: bad value '%s' (qemu, exact, coalesce)", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case '?':
			if (optopt)
				cli_error("sim: option '-%c' needs an argument or is unknown (see 'dmakit sim --help')", optopt);
			else
				cli_error("sim: unknown option '%s' (see 'dmakit sim --help')", argv[optind - 1]);
			return CLI_EXIT_USAGE;
		default:
			if (plan_host_option(opt, optarg, &host, &flags_given) < 0)
				return CLI_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		cli_error("sim: expected one SCENARIO file (see 'dmakit sim --help')");
		return CLI_EXIT_USAGE;
	}
#ifndef DMAKIT_HAVE_CAIRO
	if (plot_path) {
		cli_error("sim: --plot: this dmakit was built without cairo");
		return CLI_EXIT_USAGE;
	}
#endif
	plan_vm_init(&vm);
	fhost = host;
	r = plan_parse_scenario(argv[optind], &vm, &fhost, &file_host, err, sizeof(err));
	if (r == 0)
		r = plan_resolve(&vm, err, sizeof(err));
	if (r < 0) {
		cli_error("%s", err);
		return CLI_EXIT_USAGE;
	}
	/* The file's host line gives defaults; command-line flags win. */
	if (file_host && !flags_given)
		plan_host_take_file(&host, &fhost);
	recs = calloc(vm.nr_steps + 1, sizeof(*recs));
	if (!recs) {
		cli_error("sim: out of memory");
		return CLI_EXIT_HOST;
	}
	tty = !json && isatty(STDERR_FILENO);
	/* step 0: boot, the listeners start and replay the layout */
	recs[0].label = "boot";
	/* Timed: the layout's build (boot) and every step, not the parsing
	 * nor the teardown. */
	t0 = now_seconds();
	r = plan_layout_build(&vm, &host, &bo, &L, err, sizeof(err));
	for (i = 0; i < L.nr_containers; i++)
		if (!L.containers[i].iommufd)
			limited = true;
	limit = host.dma_entry_limit;
	/* Only the count profile limits the number of mappings. */
	if (host.profile != DMAKIT_LIMIT_COUNT)
		limited = false;
	if (r < 0) {
		recs[0].err = r;
		recs[0].failures = 1;
		snprintf(recs[0].msg, sizeof(recs[0].msg), "%s", err);
		n = 1;
		total_fail = 1;
		limited = false;
		for (i = 0; i < vm.nr_vfios; i++)
			limited = limited || !vm.vfios[i].iommufd;
		if (host.profile != DMAKIT_LIMIT_COUNT)
			limited = false;
	} else {
		totals(&L, &m, &ops);
		recs[0].mappings = m;
		recs[0].ops = ops;
		prev_ops = ops;
		peak = m;
		n = 1;
		for (i = 0; i < vm.nr_steps; i++) {
			struct rec *c = &recs[n++];
			uint64_t fails = 0;
			bool bad = false;

			if (tty)
				progress(i, vm.nr_steps, vm.steps[i].label);
			c->label = vm.steps[i].label;
			c->line = vm.steps[i].line;
			r = plan_layout_step(&vm, &L, &vm.steps[i], &fails, &bad, c->msg,
					     sizeof(c->msg));
			if (bad) {
				if (tty)
					fputc('\n', stderr);
				cli_error("%s:%u: %s: %s", vm.source, vm.steps[i].line, vm.steps[i].label, c->msg);
				plan_layout_destroy(&L);
				free(recs);
				return CLI_EXIT_USAGE;
			}
			c->err = r;
			c->failures = fails ? fails : (r < 0);
			total_fail += c->failures;
			totals(&L, &m, &ops);
			c->mappings = m;
			c->ops = ops - prev_ops;
			prev_ops = ops;
			if (m > peak)
				peak = m;
		}
		if (tty)
			progress(vm.nr_steps, vm.nr_steps, "done");
		total_ops = ops;
	}
	wall = now_seconds() - t0;
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_object_begin(&j, NULL);
		json_string(&j, "scenario", vm.source);
		json_string(&j, "strategy", strategy_name(bo.strategy));
		if (limited)
			json_u64(&j, "limit", limit);
		else
			json_null(&j, "limit");
		json_u64(&j, "peak_mappings", peak);
		json_u64(&j, "failures", total_fail);
		if (timing) {
			json_double(&j, "wall_seconds", wall);
			json_u64(&j, "peak_rss_bytes", peak_rss_bytes());
			json_u64(&j, "backend_ops", total_ops);
			json_double(&j, "ops_per_second", wall > 0 ? (double)total_ops / wall : 0);
		}
		json_array_begin(&j, "steps");
		for (i = 0; i < n; i++) {
			json_object_begin(&j, NULL);
			json_u64(&j, "step", i);
			json_string(&j, "label", recs[i].label);
			json_u64(&j, "line", recs[i].line);
			json_u64(&j, "mappings", recs[i].mappings);
			json_u64(&j, "ops", recs[i].ops);
			json_u64(&j, "failures", recs[i].failures);
			json_string(&j, "error", recs[i].err ? recs[i].msg : NULL);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);
		json_finish(&j);
	} else {
		char lim[32];

		if (limited)
			snprintf(lim, sizeof(lim), "%" PRIu64, limit);
		else
			snprintf(lim, sizeof(lim), "none");
		printf("sim of %s, strategy %s\n", vm.source, strategy_name(bo.strategy));
		printf("%4s  %-20s %10s %10s %10s %8s  %s\n", "step", "label", "mappings", "limit",
		       "ops", "failures", "");
		for (i = 0; i < n; i++) {
			printf("%4zu  %-20.20s %10" PRIu64 " %10s %10" PRIu64 " %8" PRIu64 "  %s\n", i,
			       recs[i].label, recs[i].mappings, lim, recs[i].ops, recs[i].failures,
			       recs[i].err ? recs[i].msg : "");
		}
		printf("summary: %zu steps, peak %" PRIu64 " mappings, limit %s, %" PRIu64 " failure%s: %s\n",
		       n, peak, lim, total_fail, total_fail == 1 ? "" : "s",
		       total_fail ? "the scenario FAILS" : "the scenario fits");
		if (timing) {
			char rss[32];

			plan_fmt_size(rss, sizeof(rss), peak_rss_bytes());
			printf("timing: wall %.3f s, peak RSS %s, %" PRIu64 " backend ops, %.0f ops/s\n",
			       wall, rss, total_ops, wall > 0 ? (double)total_ops / wall : 0.0);
		}
		if (host.profile_given) {
			char a[32], b[32];

			printf("profile %s (%s), VMM reads an absent DMA_AVAIL as %s\n",
			       dmakit_limit_policy_name(host.profile),
			       host.profile == DMAKIT_LIMIT_COUNT ? "the kernel as it is" : "a PROPOSAL, docs/profiles.md",
			       host.absent_unlimited ? "unlimited" : "65535");
			for (i = 0; i < L.nr_containers; i++) {
				struct dmakit_container_stats cs;

				if (L.containers[i].iommufd ||
				    dmakit_container_stats(dmakit_listener_container(L.containers[i].listener), &cs) < 0)
					continue;
				plan_fmt_size(a, sizeof(a), cs.mappings * DMAKIT_KERNEL_VFIO_DMA_BYTES);
				printf("kernel memory at the end: %" PRIu64 " mappings, vfio_dma %s", cs.mappings, a);
				if (host.profile == DMAKIT_LIMIT_ACCOUNT_BYTES) {
					plan_fmt_size(a, sizeof(a), cs.budget_used);
					plan_fmt_size(b, sizeof(b), cs.budget_limit);
					printf(", charged %s of the budget %s (IO page tables included)", a, b);
				}
				printf("\n");
			}
		}
	}
#ifdef DMAKIT_HAVE_CAIRO
	if (plot_path) {
		char title[256];

		snprintf(title, sizeof(title), "%s (strategy %s)", vm.source, strategy_name(bo.strategy));
		if (plot(plot_path, title, recs, n, limit, limited) < 0) {
			cli_error("sim: --plot: cannot write '%s'", plot_path);
			ret = CLI_EXIT_USAGE;
		}
	}
#endif
	if (ret == CLI_EXIT_OK && total_fail)
		ret = CLI_EXIT_FAILS;
	plan_layout_destroy(&L);
	free(recs);
	return ret;
}
