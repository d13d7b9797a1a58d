/* SPDX-License-Identifier: MIT */
/*
 * dmakit record [-o FILE] [--raw FILE] -- COMMAND...
 * dmakit record --analyze TRACE            (the same as dmakit analyze TRACE)
 * dmakit inject [--limit N] [--fail-map K[:ERRNO]] [--fail-unmap K[:ERRNO]]
 *               [-o FILE] [--raw FILE] -- COMMAND...
 *
 * Runs COMMAND with libdmakit-interpose.so preloaded (docs/record-inject.md).
 * The interposer appends one raw event line per VFIO call to a log; when
 * COMMAND ends, record turns the log into a dmakit trace per container
 * (docs/trace-format.md, "Recorded traces"). The exit status is COMMAND's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dmakit/dmakit.h>

#include "cli.h"

#define INTERPOSE_NAME "libdmakit-interpose.so"

/* ---- finding the interposer ---- */

static int usable(const char *p)
{
	return access(p, R_OK) == 0;
}

/* @returns a malloc'd absolute path, or NULL. */
static char *find_interposer(void)
{
	static const char *const rel[] = {
		INTERPOSE_NAME,
		"src/interpose/" INTERPOSE_NAME,            /* the build tree */
		"../lib/x86_64-linux-gnu/dmakit/" INTERPOSE_NAME,
		"../lib64/dmakit/" INTERPOSE_NAME,
		"../lib/dmakit/" INTERPOSE_NAME,
	};
	const char *env = getenv("DMAKIT_INTERPOSE_LIB");
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	ssize_t n;
	size_t i;

	if (env && *env) {
		if (!usable(env))
			return NULL;
		return realpath(env, NULL);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(cand, sizeof(cand), "%s/%s", exe, rel[i]);
		if (usable(cand))
			return realpath(cand, NULL);
	}
	return NULL;
}

/* ---- the raw log ---- */

/* The value of " key=" in an event line, copied into @out; NULL if absent. */
static const char *ev_get(const char *line, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);
	const char *p = line;

	while ((p = strstr(p, key))) {
		if ((p == line || p[-1] == ' ') && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, " \n");

			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, p + kl + 1, n);
			out[n] = 0;
			return out;
		}
		p += kl;
	}
	return NULL;
}

static uint64_t ev_num(const char *line, const char *key, uint64_t dflt)
{
	char v[64];

	if (!ev_get(line, key, v, sizeof(v)))
		return dflt;
	return strtoull(v, NULL, 0);
}

static int64_t ev_snum(const char *line, const char *key, int64_t dflt)
{
	char v[64];

	if (!ev_get(line, key, v, sizeof(v)) || strcmp(v, "none") == 0)
		return dflt;
	return strtoll(v, NULL, 0);
}

struct lines {
	char **v;
	size_t n;
};

static int read_lines(const char *path, struct lines *out)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;

	out->v = NULL;
	out->n = 0;
	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[len - 1] = 0;
		if (strncmp(line, "ev op=", 6) != 0)
			continue;
		if (out->n == alloc) {
			char **nv;

			alloc = alloc ? alloc * 2 : 256;
			nv = realloc(out->v, alloc * sizeof(*nv));
			if (!nv)
				abort();
			out->v = nv;
		}
		out->v[out->n] = strdup(line);
		if (!out->v[out->n])
			abort();
		out->n++;
	}
	free(line);
	fclose(f);
	return 0;
}

static void free_lines(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int is_op(const char *line, const char *op)
{
	size_t n = strlen(op);

	return strncmp(line + 6, op, n) == 0 && line[6 + n] == ' ';
}

/* ---- vaddr packing (docs/trace-format.md, "Recorded traces") ---- */

struct region {
	uint64_t start, end, off;
};

static int cmp_region(const void *a, const void *b)
{
	const struct region *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int map_packable(const char *line)
{
	uint64_t v = ev_num(line, "vaddr", 0), s = ev_num(line, "size", 0);
	uint64_t e = ev_num(line, "errno", 0);

	if (ev_num(line, "inj", 0) == 1 || e == EFAULT || s == 0 || s > (1ull << 40) ||
	    v + s < v || v + s > UINT64_MAX - 0x1000)
		return 0;
	return 1;
}

static size_t pack_regions(char **ev, size_t n, struct region **out, uint64_t *buffer)
{
	struct region *r = NULL;
	size_t nr = 0, i, m = 0;
	uint64_t off = 0;

	for (i = 0; i < n; i++) {
		if (!is_op(ev[i], "map") || !map_packable(ev[i]))
			continue;
		r = realloc(r, (nr + 1) * sizeof(*r));
		if (!r)
			abort();
		r[nr].start = ev_num(ev[i], "vaddr", 0) & ~0xfffull;
		r[nr].end = (ev_num(ev[i], "vaddr", 0) + ev_num(ev[i], "size", 0) + 0xfff) & ~0xfffull;
		nr++;
	}
	if (nr)
		qsort(r, nr, sizeof(*r), cmp_region);
	for (i = 0; i < nr; i++) {
		if (m && r[i].start <= r[m - 1].end) {
			if (r[i].end > r[m - 1].end)
				r[m - 1].end = r[i].end;
		} else {
			r[m++] = r[i];
		}
	}
	for (i = 0; i < m; i++) {
		r[i].off = off;
		off += r[i].end - r[i].start;
	}
	*buffer = off ? off : 0x1000;
	*out = r;
	return m;
}

static uint64_t pack_vaddr(const struct region *r, size_t nr, uint64_t buffer, const char *line)
{
	uint64_t v = ev_num(line, "vaddr", 0);
	size_t lo = 0, hi = nr;

	if (map_packable(line)) {
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (r[mid].end <= v)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < nr && v >= r[lo].start)
			return r[lo].off + (v - r[lo].start);
	}
	/* Not pinnable (or not packed): an offset past the buffer's end. */
	return buffer + (v & 0xfff);
}

/* ---- writing the trace ---- */

static void put_result(FILE *o, const char *line, const char *what)
{
	int64_t ret = ev_snum(line, "ret", -1);
	int err = (int)ev_num(line, "errno", 0);

	fputs("# result ", o);
	if (ret < 0) {
		fprintf(o, "%s\n", dmakit_errno_name(err));
	} else if (strcmp(what, "unmap") == 0) {
		fprintf(o, "ok size=0x%llx\n", (unsigned long long)ev_num(line, "unmapped", 0));
	} else if (strcmp(what, "info") == 0) {
		char v[64], ranges[512];
		int64_t seen = ev_snum(line, "avail_seen", -1), avail = ev_snum(line, "avail", -1);

		if (seen >= 0)
			avail = seen;
		if (avail >= 0)
			snprintf(v, sizeof(v), "%lld", (long long)avail);
		else
			snprintf(v, sizeof(v), "none");
		if (!ev_get(line, "ranges", ranges, sizeof(ranges)))
			snprintf(ranges, sizeof(ranges), "none");
		fprintf(o, "avail=%s pgsizes=0x%llx ranges=%s\n", v,
			(unsigned long long)ev_num(line, "pgsizes", 0), ranges);
	} else {
		fputs("ok\n", o);
	}
}

static void put_call(FILE *o, const char *line, int with_vaddr)
{
	fprintf(o, "# call ns=%llu t=%llu pid=%llu tid=%llu",
		(unsigned long long)ev_num(line, "ns", 0), (unsigned long long)ev_num(line, "t", 0),
		(unsigned long long)ev_num(line, "pid", 0), (unsigned long long)ev_num(line, "tid", 0));
	if (with_vaddr)
		fprintf(o, " vaddr=0x%llx", (unsigned long long)ev_num(line, "vaddr", 0));
	if (ev_num(line, "inj", 0))
		fprintf(o, " injected=%s", ev_num(line, "inj", 0) == 2 ? "limit" : "fail");
	fputc('\n', o);
}

struct record_stats {
	unsigned long maps, unmaps, infos, containers;
};

static void write_container(FILE *o, char **ev, size_t n, const char *ct, int argc, char **argv,
			    int64_t inject_limit, struct record_stats *st)
{
	struct region *r;
	uint64_t buffer;
	size_t nr = pack_regions(ev, n, &r, &buffer), i;
	int64_t avail0 = -1;
	unsigned long type = 3;
	int k;
	uint64_t limit;

	for (i = 0; i < n; i++) {
		if (is_op(ev[i], "avail0") && avail0 < 0)
			avail0 = ev_snum(ev[i], "avail", -1);
		if (is_op(ev[i], "set-iommu") && ev_snum(ev[i], "ret", -1) == 0)
			type = (unsigned long)ev_num(ev[i], "type", 3);
	}
	limit = avail0 >= 0 ? (uint64_t)avail0 : 65535;
	if (inject_limit >= 0 && (uint64_t)inject_limit < limit)
		limit = (uint64_t)inject_limit;
	fprintf(o, "# dmakit record: container %s of:", ct);
	for (k = 0; k < argc; k++)
		fprintf(o, " %s", argv[k]);
	fprintf(o, "\n# avail0=%lld inject_limit=%lld packed-regions=%zu\n", (long long)avail0,
		(long long)inject_limit, nr);
	for (i = 0; i < nr; i++)
		fprintf(o, "# region vaddr=0x%llx-0x%llx offset=0x%llx\n",
			(unsigned long long)r[i].start, (unsigned long long)r[i].end - 1,
			(unsigned long long)r[i].off);
	fprintf(o, "setup iommu=%s limit=%llu buffer=0x%llx\n", type == 1 ? "type1" : "type1v2",
		(unsigned long long)limit, (unsigned long long)buffer);
	for (i = 0; i < n; i++) {
		const char *l = ev[i];
		uint64_t flags = ev_num(l, "flags", 0), iova = ev_num(l, "iova", 0),
			 size = ev_num(l, "size", 0);
		int injected_fail = ev_num(l, "inj", 0) == 1;

		if (is_op(l, "map")) {
			const char *prot = (flags & 3) == 3 ? "rw" : (flags & 3) == 1 ? "r" : "w";

			st->maps++;
			if (injected_fail || (!(flags & 4) && !(flags & 3))) {
				fprintf(o, "# %s map iova=0x%llx size=0x%llx flags=0x%llx errno=%s\n",
					injected_fail ? "injected" : "unrepresentable",
					(unsigned long long)iova, (unsigned long long)size,
					(unsigned long long)flags,
					dmakit_errno_name((int)ev_num(l, "errno", 0)));
			} else if (flags & 4) {
				fprintf(o, "remap iova=0x%llx size=0x%llx vaddr=0x%llx\n",
					(unsigned long long)iova, (unsigned long long)size,
					(unsigned long long)pack_vaddr(r, nr, buffer, l));
				put_result(o, l, "map");
			} else {
				fprintf(o, "map iova=0x%llx size=0x%llx vaddr=0x%llx prot=%s\n",
					(unsigned long long)iova, (unsigned long long)size,
					(unsigned long long)pack_vaddr(r, nr, buffer, l), prot);
				put_result(o, l, "map");
			}
			put_call(o, l, 1);
		} else if (is_op(l, "unmap")) {
			st->unmaps++;
			if (injected_fail) {
				fprintf(o, "# injected unmap iova=0x%llx size=0x%llx flags=0x%llx errno=%s\n",
					(unsigned long long)iova, (unsigned long long)size,
					(unsigned long long)flags,
					dmakit_errno_name((int)ev_num(l, "errno", 0)));
			} else {
				if ((flags & 6) == 6)
					fputs("invalidate-all\n", o);
				else if (flags & 2)
					fputs("unmap-all\n", o);
				else if (flags & 4)
					fprintf(o, "invalidate iova=0x%llx size=0x%llx\n",
						(unsigned long long)iova, (unsigned long long)size);
				else
					fprintf(o, "unmap iova=0x%llx size=0x%llx\n",
						(unsigned long long)iova, (unsigned long long)size);
				if (flags & 1)
					fputs("# with GET_DIRTY_BITMAP (the bitmap is not recorded)\n", o);
				put_result(o, l, "unmap");
			}
			put_call(o, l, 0);
		} else if (is_op(l, "info")) {
			st->infos++;
			if (ev_snum(l, "ret", -1) == 0 &&
			    ev_num(l, "argsz_out", 0) <= ev_num(l, "argsz_in", 0)) {
				fputs("info\n", o);
				put_result(o, l, "info");
			} else {
				fprintf(o, "# info argsz=%llu: answer not whole (argsz_out=%llu ret=%lld)\n",
					(unsigned long long)ev_num(l, "argsz_in", 0),
					(unsigned long long)ev_num(l, "argsz_out", 0),
					(long long)ev_snum(l, "ret", -1));
			}
			put_call(o, l, 0);
		} else if (is_op(l, "dirty")) {
			fprintf(o, "# dirty-pages flags=0x%llx ret=%lld errno=%s\n",
				(unsigned long long)flags, (long long)ev_snum(l, "ret", -1),
				dmakit_errno_name((int)ev_num(l, "errno", 0)));
		} else if (is_op(l, "set-iommu")) {
			fprintf(o, "# set-iommu type=%llu ret=%lld errno=%s pid=%llu\n",
				(unsigned long long)ev_num(l, "type", 0), (long long)ev_snum(l, "ret", -1),
				dmakit_errno_name((int)ev_num(l, "errno", 0)),
				(unsigned long long)ev_num(l, "pid", 0));
		}
	}
	free(r);
}

/* Turn the raw log into traces: the first container to @out, the k-th
 * (k >= 2) to @out.k. */
static int convert(const char *raw, const char *out, int argc, char **argv, int64_t inject_limit,
		   struct record_stats *st)
{
	struct lines l;
	char **cts = NULL, **sel;
	size_t ncts = 0, i, j;
	int rc = read_lines(raw, &l);

	if (rc < 0)
		return rc;
	for (i = 0; i < l.n; i++) {
		char ct[64];

		if (!ev_get(l.v[i], "ct", ct, sizeof(ct)) || !is_op(l.v[i], "open-container"))
			continue;
		cts = realloc(cts, (ncts + 1) * sizeof(*cts));
		if (!cts || !(cts[ncts++] = strdup(ct)))
			abort();
	}
	sel = calloc(l.n + 1, sizeof(*sel));
	if (!sel)
		abort();
	if (ncts == 0) {
		FILE *o = fopen(out, "w");

		if (!o)
			return -errno;
		fprintf(o, "# dmakit record: no VFIO container was opened\n"
			   "setup iommu=type1v2 limit=65535 buffer=0x1000\n");
		fclose(o);
	}
	for (j = 0; j < ncts; j++) {
		size_t n = 0;
		char path[PATH_MAX];
		FILE *o;

		for (i = 0; i < l.n; i++) {
			char ct[64];

			if (ev_get(l.v[i], "ct", ct, sizeof(ct)) && strcmp(ct, cts[j]) == 0)
				sel[n++] = l.v[i];
		}
		if (j == 0)
			snprintf(path, sizeof(path), "%s", out);
		else
			snprintf(path, sizeof(path), "%s.%zu", out, j + 1);
		o = fopen(path, "w");
		if (!o) {
			rc = -errno;
			break;
		}
		write_container(o, sel, n, cts[j], argc, argv, inject_limit, st);
		if (fclose(o) != 0)
			rc = -EIO;
	}
	st->containers = ncts;
	for (j = 0; j < ncts; j++)
		free(cts[j]);
	free(cts);
	free(sel);
	free_lines(&l);
	return rc;
}

/* ---- running the command ---- */

struct run_options {
	const char *out;   /* trace; NULL: none */
	const char *raw;   /* keep the raw log here; NULL: a temporary file */
	const char *limit, *fail_map, *fail_unmap;
	const char *name;  /* "record" or "inject" */
};

static int run_interposed(const struct run_options *ro, int argc, char **argv)
{
	char *lib = find_interposer(), rawtmp[] = "/tmp/dmakit-record.XXXXXX";
	const char *raw = ro->raw;
	struct record_stats st = { 0 };
	pid_t pid;
	int status, rc, fd;

	if (!lib) {
		cli_error("%s: cannot find %s (set DMAKIT_INTERPOSE_LIB)", ro->name, INTERPOSE_NAME);
		return CLI_EXIT_HOST;
	}
	if (raw) {
		fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	} else {
		fd = mkstemp(rawtmp);
		raw = rawtmp;
	}
	if (fd < 0) {
		cli_error("%s: %s: %s", ro->name, raw, strerror(errno));
		free(lib);
		return CLI_EXIT_HOST;
	}
	close(fd);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cli_error("%s: fork: %s", ro->name, strerror(errno));
		free(lib);
		return CLI_EXIT_HOST;
	}
	if (pid == 0) {
		const char *old = getenv("LD_PRELOAD");
		char *pre;

		if (old && *old) {
			pre = malloc(strlen(lib) + strlen(old) + 2);
			if (!pre)
				_exit(127);
			sprintf(pre, "%s:%s", lib, old);
		} else {
			pre = lib;
		}
		setenv("LD_PRELOAD", pre, 1);
		setenv("DMAKIT_INTERPOSE_LOG", raw, 1);
		if (ro->limit)
			setenv("DMAKIT_INJECT_LIMIT", ro->limit, 1);
		if (ro->fail_map)
			setenv("DMAKIT_INJECT_FAIL_MAP", ro->fail_map, 1);
		if (ro->fail_unmap)
			setenv("DMAKIT_INJECT_FAIL_UNMAP", ro->fail_unmap, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "dmakit: %s: %s: %s\n", ro->name, argv[0], strerror(errno));
		_exit(127);
	}
	signal(SIGINT, SIG_IGN); /* the command decides what ^C means */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	signal(SIGINT, SIG_DFL);
	free(lib);
	rc = 0;
	if (ro->out) {
		rc = convert(raw, ro->out, argc, argv, ro->limit ? strtoll(ro->limit, NULL, 0) : -1, &st);
		if (rc < 0)
			cli_error("%s: writing %s: %s", ro->name, ro->out, strerror(-rc));
		else
			fprintf(stderr,
				"dmakit %s: %lu maps, %lu unmaps, %lu infos in %lu container(s) -> %s\n",
				ro->name, st.maps, st.unmaps, st.infos, st.containers, ro->out);
	}
	if (!ro->raw)
		unlink(raw);
	if (rc < 0)
		return CLI_EXIT_HOST;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int valid_count(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	return *s && *s != '-' && *end == 0 && errno == 0 && v <= 0xffffffffull;
}

static int valid_fail(const char *s)
{
	const char *colon = strchr(s, ':');
	char num[32];
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	if (n == 0 || n >= sizeof(num))
		return 0;
	memcpy(num, s, n);
	num[n] = 0;
	if (!valid_count(num) || strtoull(num, NULL, 10) == 0)
		return 0;
	if (colon) {
		char *end;
		long e = strtol(colon + 1, &end, 10);

		if (*end == 0 && colon[1])
			return e > 0 && e < 4096;
		return dmakit_errno_from_name(colon + 1) != 0;
	}
	return 1;
}

static void record_usage(FILE *o)
{
	fprintf(o,
		"usage: dmakit record [-o TRACE] [--raw LOG] -- COMMAND [ARGS...]\n"
		"       dmakit record --analyze TRACE\n"
		"\n"
		"Run COMMAND with libdmakit-interpose.so preloaded and write every VFIO\n"
		"type1 DMA request it made, with the real result and duration, as a dmakit\n"
		"trace (default dmakit-record.trace; a second container goes to TRACE.2, ...).\n"
		"The exit status is COMMAND's. See docs/record-inject.md.\n"
		"\n"
		"  -o, --output TRACE  the trace to write\n"
		"  --raw LOG           keep the interposer's raw event log\n"
		"  --analyze TRACE     summarise a recorded trace (dmakit analyze)\n"
		"environment: DMAKIT_INTERPOSE_LIB overrides where the interposer is.\n");
}

static void inject_usage(FILE *o)
{
	fprintf(o,
		"usage: dmakit inject [--limit N] [--fail-map K[:ERRNO]] [--fail-unmap K[:ERRNO]]\n"
		"                     [-o TRACE] [--raw LOG] -- COMMAND [ARGS...]\n"
		"\n"
		"Run COMMAND as if the kernel were different, for this process only:\n"
		"  --limit N            dma_entry_limit N: a MAP beyond N live mappings fails\n"
		"                       with ENOSPC without reaching the kernel, and GET_INFO's\n"
		"                       DMA_AVAIL reports what is left of N\n"
		"  --fail-map K[:ERR]   the K-th MAP_DMA fails with ERR (default EFAULT)\n"
		"  --fail-unmap K[:ERR] the K-th UNMAP_DMA fails with ERR (default EINVAL)\n"
		"  -o TRACE             also record, as dmakit record does\n"
		"ERR is a name (ENOSPC) or a number. The exit status is COMMAND's.\n");
}

int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "raw", required_argument, NULL, 'r' },
		{ "analyze", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_options ro = { .out = "dmakit-record.trace", .name = "record" };
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			ro.out = optarg;
			break;
		case 'r':
			ro.raw = optarg;
			break;
		case 'a': {
			char *av[] = { "analyze", optarg, NULL };

			return cmd_analyze(2, av);
		}
		case 'V':
			printf("dmakit %s\n", dmakit_version());
			return CLI_EXIT_OK;
		case 'h':
			record_usage(stdout);
			return CLI_EXIT_OK;
		default:
			record_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_error("record: no command given (dmakit record [-o TRACE] -- COMMAND...)");
		return CLI_EXIT_USAGE;
	}
	return run_interposed(&ro, argc - optind, argv + optind);
}

int cmd_inject(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "limit", required_argument, NULL, 'l' },
		{ "fail-map", required_argument, NULL, 'm' },
		{ "fail-unmap", required_argument, NULL, 'u' },
		{ "output", required_argument, NULL, 'o' },
		{ "raw", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_options ro = { .name = "inject" };
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (!valid_count(optarg)) {
				cli_error("inject: --limit wants a number from 0 to 4294967295, not '%s'", optarg);
				return CLI_EXIT_USAGE;
			}
			ro.limit = optarg;
			break;
		case 'm':
		case 'u':
			if (!valid_fail(optarg)) {
				cli_error("inject: --fail-%s wants K or K:ERRNO (K >= 1), not '%s'",
					  opt == 'm' ? "map" : "unmap", optarg);
				return CLI_EXIT_USAGE;
			}
			if (opt == 'm')
				ro.fail_map = optarg;
			else
				ro.fail_unmap = optarg;
			break;
		case 'o':
			ro.out = optarg;
			break;
		case 'r':
			ro.raw = optarg;
			break;
		case 'V':
			printf("dmakit %s\n", dmakit_version());
			return CLI_EXIT_OK;
		case 'h':
			inject_usage(stdout);
			return CLI_EXIT_OK;
		default:
			inject_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_error("inject: no command given (dmakit inject OPTIONS -- COMMAND...)");
		return CLI_EXIT_USAGE;
	}
	if (!ro.limit && !ro.fail_map && !ro.fail_unmap)
		fprintf(stderr, "dmakit inject: nothing to inject; running the command unchanged\n");
	return run_interposed(&ro, argc - optind, argv + optind);
}
