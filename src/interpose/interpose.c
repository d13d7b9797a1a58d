/* SPDX-License-Identifier: MIT */
/*
 * libdmakit-interpose.so: an LD_PRELOAD library that follows a process's VFIO
 * containers (/dev/vfio/vfio), group files (/dev/vfio/N) and iommufd files
 * (/dev/iommu), and sees every type1 DMA request (MAP_DMA, UNMAP_DMA,
 * GET_INFO, SET_IOMMU, DIRTY_PAGES) and iommufd IOAS_MAP/IOAS_UNMAP with
 * their results and durations.
 *
 * It changes nothing unless asked (docs/record-inject.md):
 *   DMAKIT_INTERPOSE_LOG=PATH       append one event line per call to PATH
 *                                   ("stderr": to standard error)
 *   DMAKIT_INJECT_LIMIT=N           behave as if dma_entry_limit were N
 *   DMAKIT_INJECT_FAIL_MAP=K[:ERR]  fail the K-th MAP_DMA / IOAS_MAP with ERR
 *   DMAKIT_INJECT_FAIL_UNMAP=K[:ERR] fail the K-th UNMAP_DMA / IOAS_UNMAP
 *   DMAKIT_INTERPOSE_VFIO_PATHS=P1:P2  more paths to treat as VFIO files, for
 *                                   tests: a basename ending in "vfio" is a
 *                                   container, "iommu" an iommufd, others a group.
 *
 * Design: a fixed table of atomics indexed by fd (no lock, no malloc on the
 * hot path); an ioctl on an untracked fd costs one atomic load. Log lines are
 * formatted on the stack and written with one write(2) to an O_APPEND fd
 * opened at start, so logging neither recurses nor takes a lock.
 */
#undef _FORTIFY_SOURCE
/* Define open/open64, fcntl/fcntl64 under their own names (no redirects). */
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <dmakit/uapi.h>

#include "interpose_core.h"

#define EXPORT __attribute__((visibility("default")))

/* iommufd (not in dmakit's uapi.h, which is type1 only). */
#define IP_IOMMU_IOAS_MAP   0x3B85ul
#define IP_IOMMU_IOAS_UNMAP 0x3B86ul
struct ip_ioas_map {
	uint32_t size, flags, ioas_id, reserved;
	uint64_t user_va, length, iova;
};
struct ip_ioas_unmap {
	uint32_t size, ioas_id;
	uint64_t iova, length;
};

enum ip_kind { K_NONE = 0, K_CONTAINER = 1, K_GROUP = 2, K_IOMMUFD = 3 };

#define IP_MAXFD 65536
#define IP_MAXCT 256
/* fd -> kind | (container slot + 1) << 8 */
static _Atomic uint32_t fdtab[IP_MAXFD];

struct ip_container {
	_Atomic int refs;          /* fds that point at this slot */
	_Atomic uint32_t gen;      /* the id printed in the log */
	_Atomic int32_t origin;    /* pid that opened it */
	_Atomic int64_t base_avail; /* DMA_AVAIL right after SET_IOMMU; -1 unknown */
	_Atomic int64_t local_live; /* maps counted here when DMA_AVAIL is unknown */
	atomic_flag lock;          /* serialises MAP in limit mode */
};
static struct ip_container cts[IP_MAXCT];
static _Atomic uint32_t ct_gen;

static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_open_2)(const char *, int);
static int (*real_open64_2)(const char *, int);
static int (*real_close)(int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static int (*real_fcntl64)(int, int, ...);

static int logfd = -1;
static _Atomic int cached_pid;
static struct ip_inject_config inj;
static _Atomic uint64_t nr_maps, nr_unmaps;

#define IP_MAXPATHS 8
static char extra_paths[IP_MAXPATHS][256];
static int nr_extra_paths;

static void resolve(void)
{
	if (real_ioctl)
		return;
	real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	real_open64 = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open64");
	real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	real_openat64 = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat64");
	real_open_2 = (int (*)(const char *, int))dlsym(RTLD_NEXT, "__open_2");
	real_open64_2 = (int (*)(const char *, int))dlsym(RTLD_NEXT, "__open64_2");
	real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	real_dup = (int (*)(int))dlsym(RTLD_NEXT, "dup");
	real_dup2 = (int (*)(int, int))dlsym(RTLD_NEXT, "dup2");
	real_dup3 = (int (*)(int, int, int))dlsym(RTLD_NEXT, "dup3");
	real_fcntl = (int (*)(int, int, ...))dlsym(RTLD_NEXT, "fcntl");
	real_fcntl64 = (int (*)(int, int, ...))dlsym(RTLD_NEXT, "fcntl64");
	if (!real_fcntl64)
		real_fcntl64 = real_fcntl;
	if (!real_open64)
		real_open64 = real_open;
	if (!real_openat64)
		real_openat64 = real_openat;
	atomic_thread_fence(memory_order_release);
	real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
}

/* ---- log line formatting, no stdio ---- */

struct ip_buf {
	char b[768];
	size_t n;
};

static void put_s(struct ip_buf *o, const char *s)
{
	while (*s && o->n < sizeof(o->b) - 1)
		o->b[o->n++] = *s++;
}

static void put_u(struct ip_buf *o, uint64_t v)
{
	char t[24];
	int i = 0;

	do {
		t[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i && o->n < sizeof(o->b) - 1)
		o->b[o->n++] = t[--i];
}

static void put_i(struct ip_buf *o, int64_t v)
{
	if (v < 0) {
		put_s(o, "-");
		put_u(o, (uint64_t)(-(v + 1)) + 1);
	} else {
		put_u(o, (uint64_t)v);
	}
}

static void put_x(struct ip_buf *o, uint64_t v)
{
	char t[20];
	int i = 0;

	do {
		t[i++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	put_s(o, "0x");
	while (i && o->n < sizeof(o->b) - 1)
		o->b[o->n++] = t[--i];
}

static void put_kx(struct ip_buf *o, const char *k, uint64_t v)
{
	put_s(o, " ");
	put_s(o, k);
	put_s(o, "=");
	put_x(o, v);
}

static void put_ku(struct ip_buf *o, const char *k, uint64_t v)
{
	put_s(o, " ");
	put_s(o, k);
	put_s(o, "=");
	put_u(o, v);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int my_pid(void)
{
	int p = atomic_load_explicit(&cached_pid, memory_order_relaxed);

	if (!p) {
		p = (int)syscall(SYS_getpid);
		atomic_store_explicit(&cached_pid, p, memory_order_relaxed);
	}
	return p;
}

static void ev_begin(struct ip_buf *o, const char *op, int fd, uint32_t slot)
{
	o->n = 0;
	put_s(o, "ev op=");
	put_s(o, op);
	put_ku(o, "pid", (uint64_t)my_pid());
	put_ku(o, "tid", (uint64_t)syscall(SYS_gettid));
	put_s(o, " fd=");
	put_i(o, fd);
	if (slot) {
		struct ip_container *c = &cts[slot - 1];

		put_s(o, " ct=");
		put_u(o, (uint64_t)atomic_load(&c->origin));
		put_s(o, "-");
		put_u(o, atomic_load(&c->gen));
	}
}

static void ev_end(struct ip_buf *o)
{
	int saved = errno;

	if (logfd < 0)
		return;
	put_s(o, "\n");
	if (o->b[o->n - 1] != '\n')
		o->b[o->n - 1] = '\n';
	/* One write: O_APPEND keeps lines whole across threads and processes. */
	(void)!write(logfd, o->b, o->n);
	errno = saved;
}

static void put_result(struct ip_buf *o, int ret, int err, uint64_t t0, uint64_t t1, int injected)
{
	put_s(o, " ret=");
	put_i(o, ret);
	put_ku(o, "errno", ret < 0 ? (uint64_t)err : 0);
	put_ku(o, "ns", t1 - t0);
	put_ku(o, "t", t0);
	put_ku(o, "inj", (uint64_t)injected);
}

/* ---- the fd table ---- */

static enum ip_kind kind_of_path(const char *path)
{
	int i;

	if (!path)
		return K_NONE;
	if (strncmp(path, "/dev/vfio/", 10) == 0) {
		if (strcmp(path + 10, "vfio") == 0)
			return K_CONTAINER;
		if (path[10] >= '0' && path[10] <= '9')
			return K_GROUP;
		if (strncmp(path + 10, "noiommu-", 8) == 0)
			return K_GROUP;
		return K_NONE;
	}
	if (strcmp(path, "/dev/iommu") == 0)
		return K_IOMMUFD;
	for (i = 0; i < nr_extra_paths; i++) {
		if (strcmp(path, extra_paths[i]) == 0) {
			const char *b = strrchr(path, '/');
			size_t l;

			b = b ? b + 1 : path;
			l = strlen(b);
			if (l >= 4 && strcmp(b + l - 4, "vfio") == 0)
				return K_CONTAINER;
			if (l >= 5 && strcmp(b + l - 5, "iommu") == 0)
				return K_IOMMUFD;
			return K_GROUP;
		}
	}
	return K_NONE;
}

static uint32_t slot_alloc(void)
{
	uint32_t i;

	for (i = 0; i < IP_MAXCT; i++) {
		int zero = 0;

		if (atomic_compare_exchange_strong(&cts[i].refs, &zero, 1)) {
			atomic_store(&cts[i].gen, atomic_fetch_add(&ct_gen, 1) + 1);
			atomic_store(&cts[i].origin, my_pid());
			atomic_store(&cts[i].base_avail, -1);
			atomic_store(&cts[i].local_live, 0);
			atomic_flag_clear(&cts[i].lock);
			return i + 1;
		}
	}
	return 0; /* table full: the container is followed without state */
}

static void slot_put(uint32_t slot)
{
	if (slot)
		atomic_fetch_sub(&cts[slot - 1].refs, 1);
}

static uint32_t fd_get(int fd)
{
	if (fd < 0 || fd >= IP_MAXFD)
		return 0;
	return atomic_load_explicit(&fdtab[fd], memory_order_acquire);
}

/* Drop what fd pointed at (before the fd is closed or reused). */
static void fd_clear(int fd)
{
	uint32_t old;

	if (fd < 0 || fd >= IP_MAXFD)
		return;
	old = atomic_exchange(&fdtab[fd], 0);
	if (old)
		slot_put(old >> 8);
}

/* newfd now refers to what oldfd's entry says. */
static void fd_copy(int newfd, uint32_t ent)
{
	if (newfd < 0 || newfd >= IP_MAXFD)
		return;
	if (ent && (ent >> 8))
		atomic_fetch_add(&cts[(ent >> 8) - 1].refs, 1);
	fd_clear(newfd);
	atomic_store(&fdtab[newfd], ent);
}

static void track_open(int fd, const char *path)
{
	enum ip_kind k;
	uint32_t slot = 0;
	struct ip_buf o;

	if (fd < 0 || fd >= IP_MAXFD)
		return;
	k = kind_of_path(path);
	if (k == K_NONE) {
		fd_clear(fd); /* a stale entry from a close we did not see */
		return;
	}
	if (k == K_CONTAINER)
		slot = slot_alloc();
	fd_clear(fd);
	atomic_store(&fdtab[fd], (uint32_t)k | (slot << 8));
	ev_begin(&o, k == K_CONTAINER ? "open-container" : k == K_GROUP ? "open-group" : "open-iommufd",
		 fd, slot);
	put_s(&o, " path=");
	put_s(&o, path);
	ev_end(&o);
}

/* ---- constructor ---- */

static void scan_inherited_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char link[64], target[256];

	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		ssize_t n;
		struct ip_buf o;

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d))
			continue;
		o.n = 0;
		put_s(&o, "/proc/self/fd/");
		put_s(&o, e->d_name);
		o.b[o.n] = 0;
		memcpy(link, o.b, o.n + 1);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (kind_of_path(target) != K_NONE)
			track_open(fd, target);
	}
	closedir(d);
}

static void on_fork_child(void)
{
	struct ip_buf o;

	atomic_store(&cached_pid, (int)syscall(SYS_getpid));
	ev_begin(&o, "fork", -1, 0);
	put_ku(&o, "ppid", (uint64_t)getppid());
	ev_end(&o);
}

__attribute__((constructor)) static void ip_init(void)
{
	const char *s;

	resolve();
	atomic_store(&cached_pid, (int)syscall(SYS_getpid));
	s = getenv("DMAKIT_INTERPOSE_VFIO_PATHS");
	if (s) {
		while (*s && nr_extra_paths < IP_MAXPATHS) {
			const char *e = strchr(s, ':');
			size_t l = e ? (size_t)(e - s) : strlen(s);

			if (l > 0 && l < sizeof(extra_paths[0])) {
				memcpy(extra_paths[nr_extra_paths], s, l);
				extra_paths[nr_extra_paths++][l] = 0;
			}
			s += l;
			if (*s == ':')
				s++;
		}
	}
	s = getenv("DMAKIT_INTERPOSE_LOG");
	if (s && *s) {
		int fd;

		if (strcmp(s, "stderr") == 0)
			fd = real_fcntl(2, F_DUPFD_CLOEXEC, 500);
		else
			fd = real_open(s, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0 && fd < 500) {
			int hi = real_fcntl(fd, F_DUPFD_CLOEXEC, 500);

			if (hi >= 0) {
				real_close(fd);
				fd = hi;
			}
		}
		logfd = fd;
	}
	ip_inject_config_parse(&inj, getenv("DMAKIT_INJECT_LIMIT"), getenv("DMAKIT_INJECT_FAIL_MAP"),
			       getenv("DMAKIT_INJECT_FAIL_UNMAP"));
	pthread_atfork(NULL, NULL, on_fork_child);
	{
		struct ip_buf o;

		ev_begin(&o, "start", -1, 0);
		put_ku(&o, "ppid", (uint64_t)getppid());
		if (inj.limit >= 0)
			put_ku(&o, "inject_limit", (uint64_t)inj.limit);
		if (inj.fail_map)
			put_ku(&o, "inject_fail_map", inj.fail_map);
		if (inj.fail_unmap)
			put_ku(&o, "inject_fail_unmap", inj.fail_unmap);
		ev_end(&o);
	}
	scan_inherited_fds();
}

/* ---- the ioctl ---- */

/* The kernel's DMA_AVAIL now, by a GET_INFO of our own; -1 if unknown. */
static int64_t query_avail(int fd)
{
	uint64_t buf[64];
	struct dmakit_vfio_iommu_type1_info *info = (void *)buf;
	struct ip_info_summary sum;

	memset(buf, 0, sizeof(buf));
	info->argsz = sizeof(buf);
	if (real_ioctl(fd, DMAKIT_VFIO_IOMMU_GET_INFO, info) < 0)
		return -1;
	ip_info_summarize(buf, sizeof(buf), &sum);
	return sum.avail;
}

static int64_t live_mappings(int fd, struct ip_container *c)
{
	int64_t base = atomic_load(&c->base_avail), now;

	if (base >= 0) {
		now = query_avail(fd);
		if (now >= 0)
			return base - now;
	}
	return atomic_load(&c->local_live);
}

static int do_map(int fd, uint32_t slot, struct dmakit_vfio_iommu_type1_dma_map *m)
{
	struct ip_container *c = slot ? &cts[slot - 1] : NULL;
	uint64_t nth = atomic_fetch_add(&nr_maps, 1) + 1, t0, t1;
	int ret, err = 0, injected = 0, locked = 0;
	int64_t live = -1;
	struct ip_buf o;

	t0 = now_ns();
	if (inj.fail_map && nth == inj.fail_map) {
		ret = -1;
		err = inj.fail_map_errno;
		injected = 1;
	} else if (inj.limit >= 0 && c && !(m->flags & DMAKIT_VFIO_DMA_MAP_FLAG_VADDR)) {
		while (atomic_flag_test_and_set_explicit(&c->lock, memory_order_acquire))
			;
		locked = 1;
		live = live_mappings(fd, c);
		if (live >= inj.limit) {
			ret = -1;
			err = ENOSPC;
			injected = 2;
		}
	}
	if (!injected) {
		ret = real_ioctl(fd, DMAKIT_VFIO_IOMMU_MAP_DMA, m);
		err = errno;
		if (ret == 0 && c && !(m->flags & DMAKIT_VFIO_DMA_MAP_FLAG_VADDR))
			atomic_fetch_add(&c->local_live, 1);
	}
	t1 = now_ns();
	if (locked)
		atomic_flag_clear_explicit(&c->lock, memory_order_release);
	ev_begin(&o, "map", fd, slot);
	put_ku(&o, "n", nth);
	put_kx(&o, "iova", m->iova);
	put_kx(&o, "size", m->size);
	put_kx(&o, "vaddr", m->vaddr);
	put_kx(&o, "flags", m->flags);
	put_ku(&o, "argsz", m->argsz);
	put_result(&o, ret, err, t0, t1, injected);
	ev_end(&o);
	errno = err;
	return ret;
}

static int do_unmap(int fd, uint32_t slot, struct dmakit_vfio_iommu_type1_dma_unmap *u)
{
	struct ip_container *c = slot ? &cts[slot - 1] : NULL;
	uint64_t nth = atomic_fetch_add(&nr_unmaps, 1) + 1, t0, t1, size_in = u->size;
	int ret, err = 0, injected = 0;
	struct ip_buf o;

	t0 = now_ns();
	if (inj.fail_unmap && nth == inj.fail_unmap) {
		ret = -1;
		err = inj.fail_unmap_errno;
		injected = 1;
	} else {
		ret = real_ioctl(fd, DMAKIT_VFIO_IOMMU_UNMAP_DMA, u);
		err = errno;
		if (ret == 0 && c && !(u->flags & DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR)) {
			if (u->flags & DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL)
				atomic_store(&c->local_live, 0);
			else if (u->size && atomic_load(&c->local_live) > 0)
				atomic_fetch_sub(&c->local_live, 1); /* approximate */
		}
	}
	t1 = now_ns();
	ev_begin(&o, "unmap", fd, slot);
	put_ku(&o, "n", nth);
	put_kx(&o, "iova", u->iova);
	put_kx(&o, "size", size_in);
	put_kx(&o, "flags", u->flags);
	put_ku(&o, "argsz", u->argsz);
	put_kx(&o, "unmapped", ret == 0 ? u->size : 0);
	put_result(&o, ret, err, t0, t1, injected);
	ev_end(&o);
	errno = err;
	return ret;
}

static int do_get_info(int fd, uint32_t slot, struct dmakit_vfio_iommu_type1_info *info)
{
	struct ip_container *c = slot ? &cts[slot - 1] : NULL;
	uint32_t argsz_in = info->argsz;
	uint64_t t0, t1;
	int ret, err, i;
	struct ip_info_summary sum;
	struct ip_buf o;
	int64_t rewritten = -1;

	t0 = now_ns();
	ret = real_ioctl(fd, DMAKIT_VFIO_IOMMU_GET_INFO, info);
	err = errno;
	t1 = now_ns();
	memset(&sum, 0, sizeof(sum));
	sum.avail = -1;
	if (ret == 0) {
		size_t len = argsz_in < info->argsz ? argsz_in : info->argsz;

		ip_info_summarize(info, len, &sum);
		if (inj.limit >= 0 && c && sum.avail >= 0) {
			int64_t base = atomic_load(&c->base_avail);
			int64_t live = base >= 0 ? base - sum.avail : atomic_load(&c->local_live);

			rewritten = ip_rewrite_avail(info, len, inj.limit, live);
		}
	}
	ev_begin(&o, "info", fd, slot);
	put_ku(&o, "argsz_in", argsz_in);
	if (ret == 0) {
		put_ku(&o, "argsz_out", info->argsz);
		put_kx(&o, "flags", info->flags);
		put_kx(&o, "pgsizes", info->iova_pgsizes);
		put_s(&o, " avail=");
		if (sum.avail >= 0)
			put_u(&o, (uint64_t)sum.avail);
		else
			put_s(&o, "none");
		if (rewritten >= 0)
			put_ku(&o, "avail_seen", (uint64_t)rewritten);
		put_s(&o, " ranges=");
		if (sum.nr_ranges == 0)
			put_s(&o, "none");
		for (i = 0; i < sum.nr_ranges && i < IP_MAX_RANGES; i++) {
			if (i)
				put_s(&o, ",");
			put_x(&o, sum.ranges[i][0]);
			put_s(&o, "-");
			put_x(&o, sum.ranges[i][1]);
		}
	}
	put_result(&o, ret, err, t0, t1, 0);
	ev_end(&o);
	errno = err;
	return ret;
}

static int do_ioctl(int fd, uint32_t ent, unsigned long req, void *arg)
{
	uint32_t kind = ent & 0xff, slot = ent >> 8;
	uint64_t t0, t1;
	int ret, err;
	struct ip_buf o;

	if (kind == K_CONTAINER) {
		switch (req) {
		case DMAKIT_VFIO_IOMMU_MAP_DMA:
			return do_map(fd, slot, arg);
		case DMAKIT_VFIO_IOMMU_UNMAP_DMA:
			return do_unmap(fd, slot, arg);
		case DMAKIT_VFIO_IOMMU_GET_INFO:
			return do_get_info(fd, slot, arg);
		case DMAKIT_VFIO_SET_IOMMU:
			t0 = now_ns();
			ret = real_ioctl(fd, req, arg);
			err = errno;
			t1 = now_ns();
			ev_begin(&o, "set-iommu", fd, slot);
			put_ku(&o, "type", (uint64_t)(uintptr_t)arg);
			put_result(&o, ret, err, t0, t1, 0);
			ev_end(&o);
			if (ret == 0 && slot) {
				int64_t a = query_avail(fd);

				atomic_store(&cts[slot - 1].base_avail, a);
				ev_begin(&o, "avail0", fd, slot);
				put_s(&o, " avail=");
				if (a >= 0)
					put_u(&o, (uint64_t)a);
				else
					put_s(&o, "none");
				ev_end(&o);
			}
			errno = err;
			return ret;
		case DMAKIT_VFIO_IOMMU_DIRTY_PAGES: {
			struct dmakit_vfio_iommu_type1_dirty_bitmap *d = arg;
			uint32_t flags = d ? d->flags : 0;

			t0 = now_ns();
			ret = real_ioctl(fd, req, arg);
			err = errno;
			t1 = now_ns();
			ev_begin(&o, "dirty", fd, slot);
			put_kx(&o, "flags", flags);
			put_result(&o, ret, err, t0, t1, 0);
			ev_end(&o);
			errno = err;
			return ret;
		}
		default:
			return real_ioctl(fd, req, arg);
		}
	}
	if (kind == K_GROUP && req == DMAKIT_VFIO_GROUP_SET_CONTAINER) {
		int cfd = arg ? *(int *)arg : -1;
		uint32_t cent = fd_get(cfd);

		t0 = now_ns();
		ret = real_ioctl(fd, req, arg);
		err = errno;
		t1 = now_ns();
		ev_begin(&o, "group-set-container", fd, cent >> 8);
		put_ku(&o, "container_fd", (uint64_t)cfd);
		put_result(&o, ret, err, t0, t1, 0);
		ev_end(&o);
		errno = err;
		return ret;
	}
	if (kind == K_IOMMUFD && (req == IP_IOMMU_IOAS_MAP || req == IP_IOMMU_IOAS_UNMAP)) {
		int injected = 0;
		uint64_t nth;

		t0 = now_ns();
		if (req == IP_IOMMU_IOAS_MAP) {
			struct ip_ioas_map *m = arg;

			nth = atomic_fetch_add(&nr_maps, 1) + 1;
			if (inj.fail_map && nth == inj.fail_map) {
				ret = -1;
				err = inj.fail_map_errno;
				injected = 1;
			} else {
				ret = real_ioctl(fd, req, arg);
				err = errno;
			}
			t1 = now_ns();
			ev_begin(&o, "ioas-map", fd, 0);
			put_ku(&o, "n", nth);
			put_ku(&o, "ioas", m->ioas_id);
			put_kx(&o, "iova", m->iova);
			put_kx(&o, "size", m->length);
			put_kx(&o, "vaddr", m->user_va);
			put_kx(&o, "flags", m->flags);
		} else {
			struct ip_ioas_unmap *u = arg;
			uint64_t len_in = u->length;

			nth = atomic_fetch_add(&nr_unmaps, 1) + 1;
			if (inj.fail_unmap && nth == inj.fail_unmap) {
				ret = -1;
				err = inj.fail_unmap_errno;
				injected = 1;
			} else {
				ret = real_ioctl(fd, req, arg);
				err = errno;
			}
			t1 = now_ns();
			ev_begin(&o, "ioas-unmap", fd, 0);
			put_ku(&o, "n", nth);
			put_ku(&o, "ioas", u->ioas_id);
			put_kx(&o, "iova", u->iova);
			put_kx(&o, "size", len_in);
			put_kx(&o, "unmapped", ret == 0 ? u->length : 0);
		}
		put_result(&o, ret, err, t0, t1, injected);
		ev_end(&o);
		errno = err;
		return ret;
	}
	return real_ioctl(fd, req, arg);
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	uint32_t ent;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real_ioctl)
		resolve();
	ent = fd_get(fd);
	if (__builtin_expect(ent == 0, 1))
		return real_ioctl(fd, req, arg);
	return do_ioctl(fd, ent, req, arg);
}

/* ---- open, close, dup, fcntl ---- */

#define OPEN_MODE(flags, mode)                                        \
	do {                                                          \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {              \
			va_list ap_;                                  \
			va_start(ap_, flags);                         \
			mode = va_arg(ap_, int);                      \
			va_end(ap_);                                  \
		}                                                     \
	} while (0)

EXPORT int open(const char *path, int flags, ...)
{
	int mode = 0, fd;

	OPEN_MODE(flags, mode);
	resolve();
	fd = real_open(path, flags, mode);
	if (fd >= 0)
		track_open(fd, path);
	return fd;
}

EXPORT int open64(const char *path, int flags, ...)
{
	int mode = 0, fd;

	OPEN_MODE(flags, mode);
	resolve();
	fd = real_open64(path, flags, mode);
	if (fd >= 0)
		track_open(fd, path);
	return fd;
}

EXPORT int __open_2(const char *path, int flags);
EXPORT int __open_2(const char *path, int flags)
{
	int fd;

	resolve();
	fd = real_open_2 ? real_open_2(path, flags) : real_open(path, flags, 0);
	if (fd >= 0)
		track_open(fd, path);
	return fd;
}

EXPORT int __open64_2(const char *path, int flags);
EXPORT int __open64_2(const char *path, int flags)
{
	int fd;

	resolve();
	fd = real_open64_2 ? real_open64_2(path, flags) : real_open(path, flags, 0);
	if (fd >= 0)
		track_open(fd, path);
	return fd;
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	int mode = 0, fd;

	OPEN_MODE(flags, mode);
	resolve();
	fd = real_openat(dirfd, path, flags, mode);
	if (fd >= 0)
		track_open(fd, (path[0] == '/' || dirfd == AT_FDCWD) ? path : NULL);
	return fd;
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	int mode = 0, fd;

	OPEN_MODE(flags, mode);
	resolve();
	fd = real_openat64(dirfd, path, flags, mode);
	if (fd >= 0)
		track_open(fd, (path[0] == '/' || dirfd == AT_FDCWD) ? path : NULL);
	return fd;
}

static void log_close(int fd, uint32_t ent)
{
	struct ip_buf o;

	if (!ent)
		return;
	ev_begin(&o, "close", fd, ent >> 8);
	put_ku(&o, "kind", ent & 0xff);
	ev_end(&o);
}

EXPORT int close(int fd)
{
	uint32_t ent;

	resolve();
	if (fd >= 0 && fd == logfd)
		return 0; /* keep our log open when a program closes "all" fds */
	ent = fd_get(fd);
	if (ent) {
		log_close(fd, ent);
		fd_clear(fd);
	}
	return real_close(fd);
}

/* Move our log fd away if a program dups onto it. */
static void protect_logfd(int newfd)
{
	if (newfd >= 0 && newfd == logfd) {
		int moved = real_fcntl(logfd, F_DUPFD_CLOEXEC, logfd + 1);

		if (moved >= 0)
			logfd = moved;
	}
}

static void log_dup(const char *how, int oldfd, int newfd, uint32_t ent)
{
	struct ip_buf o;

	ev_begin(&o, how, newfd, ent >> 8);
	put_ku(&o, "oldfd", (uint64_t)oldfd);
	put_ku(&o, "kind", ent & 0xff);
	ev_end(&o);
}

EXPORT int dup(int oldfd)
{
	int fd;

	resolve();
	fd = real_dup(oldfd);
	if (fd >= 0) {
		uint32_t ent = fd_get(oldfd);

		fd_copy(fd, ent);
		if (ent)
			log_dup("dup", oldfd, fd, ent);
	}
	return fd;
}

EXPORT int dup2(int oldfd, int newfd)
{
	int fd;

	resolve();
	protect_logfd(newfd);
	fd = real_dup2(oldfd, newfd);
	if (fd >= 0 && oldfd != newfd) {
		uint32_t ent = fd_get(oldfd);

		fd_copy(fd, ent);
		if (ent)
			log_dup("dup", oldfd, fd, ent);
	}
	return fd;
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int fd;

	resolve();
	protect_logfd(newfd);
	fd = real_dup3(oldfd, newfd, flags);
	if (fd >= 0) {
		uint32_t ent = fd_get(oldfd);

		fd_copy(fd, ent);
		if (ent)
			log_dup("dup", oldfd, fd, ent);
	}
	return fd;
}

static int fcntl_common(int (*fn)(int, int, ...), int fd, int cmd, va_list ap)
{
	int ret;

	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: {
		int minfd = va_arg(ap, int);

		ret = fn(fd, cmd, minfd);
		if (ret >= 0) {
			uint32_t ent = fd_get(fd);

			fd_copy(ret, ent);
			if (ent)
				log_dup("dup", fd, ret, ent);
		}
		return ret;
	}
	case F_GETFD:
	case F_GETFL:
	case F_GETOWN:
	case F_GETSIG:
	case F_GETLEASE:
	case F_GETPIPE_SZ:
	case F_GET_SEALS:
		return fn(fd, cmd);
	default:
		/* Every other command takes one pointer-sized or int argument. */
		return fn(fd, cmd, va_arg(ap, void *));
	}
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	int ret;

	resolve();
	va_start(ap, cmd);
	ret = fcntl_common(real_fcntl, fd, cmd, ap);
	va_end(ap);
	return ret;
}

EXPORT int fcntl64(int fd, int cmd, ...);
EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	int ret;

	resolve();
	va_start(ap, cmd);
	ret = fcntl_common(real_fcntl64, fd, cmd, ap);
	va_end(ap);
	return ret;
}
