/* SPDX-License-Identifier: MIT */
/*
 * dmakit plan / sim: reading a QEMU command line and dmakit's scenario file
 * into a struct plan_vm (the libvirt reader is plan_libvirt.c). Every error
 * is one line naming where (FILE:LINE or the argument) and what.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

void plan_vm_init(struct plan_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->machine = PLAN_Q35;
	vm->kvm = true;
	vm->ram = 128ull << 20; /* QEMU's default -m */
	vm->vga_option = -1;
}

bool plan_vm_has_vga(const struct plan_vm *vm)
{
	bool by_default = vm->vga_option >= 0 ? vm->vga_option == 1 : !vm->no_default_vga;

	return by_default || vm->vga_device;
}

void plan_host_init(struct plan_host *h)
{
	memset(h, 0, sizeof(*h));
	h->dma_entry_limit = 65535;
	h->memlock = UINT64_MAX;
	h->iova_bits = 39;
	h->kernel = DMAKIT_KERNEL_6_1;
	h->iommufd_available = true;
	snprintf(h->source, sizeof(h->source), "defaults");
}

void plan_host_take_file(struct plan_host *host, const struct plan_host *file)
{
	struct plan_host merged = *file;

	merged.profile = host->profile;
	merged.budget = host->budget;
	merged.absent_unlimited = host->absent_unlimited;
	merged.profile_given = host->profile_given;
	*host = merged;
}

void plan_fmt_size(char *buf, size_t len, uint64_t b)
{
	if (b == UINT64_MAX)
		snprintf(buf, len, "unlimited");
	else if (b >= (1ull << 40) && b % (1ull << 40) == 0)
		snprintf(buf, len, "%" PRIu64 " TiB", b >> 40);
	else if (b >= (1ull << 30) && b % (1ull << 30) == 0)
		snprintf(buf, len, "%" PRIu64 " GiB", b >> 30);
	else if (b >= (1ull << 20) && b % (1ull << 20) == 0)
		snprintf(buf, len, "%" PRIu64 " MiB", b >> 20);
	else if (b >= (1ull << 10) && b < (1ull << 20) && b % (1ull << 10) == 0)
		snprintf(buf, len, "%" PRIu64 " KiB", b >> 10);
	else if (b >= (1ull << 30))
		snprintf(buf, len, "%.2f GiB", (double)b / (double)(1ull << 30));
	else if (b >= (1ull << 20))
		snprintf(buf, len, "%.2f MiB", (double)b / (double)(1ull << 20));
	else
		snprintf(buf, len, "%" PRIu64 " bytes", b);
}

/* "16G", "2M", "4096", "0x1000"; a bare number is in @unit bytes. */
int plan_parse_size(const char *s, uint64_t unit, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = unit;

	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'B': mul = 1; break;
		case 'K': mul = 1ull << 10; break;
		case 'M': mul = 1ull << 20; break;
		case 'G': mul = 1ull << 30; break;
		case 'T': mul = 1ull << 40; break;
		case 'P': mul = 1ull << 50; break;
		default: return -1;
		}
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B' && mul != 1)
			end++;
		if (*end)
			return -1;
	}
	if (v && mul > UINT64_MAX / v)
		return -1;
	*out = (uint64_t)v * mul;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return (errno || *end) ? -1 : 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1"))
		*out = true;
	else if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

static void copy_id(char *dst, const char *src)
{
	snprintf(dst, PLAN_ID_LEN, "%s", src);
}

void plan_escape_message(char *msg, size_t len)
{
	size_t n, need = 0, i, o;
	char *copy;

	if (!msg || !len)
		return;
	n = strnlen(msg, len - 1);
	msg[n] = '\0';
	for (i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			need++;
	if (!need)
		return;
	copy = malloc(n + 1);
	if (!copy) {
		/* No memory for the copy: one line all the same. */
		for (i = 0; i < n; i++)
			if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
				msg[i] = '?';
		return;
	}
	memcpy(copy, msg, n + 1);
	for (i = 0, o = 0; i < n; i++) {
		unsigned char c = (unsigned char)copy[i];
		char esc[5];
		size_t k;

		if (c >= 0x20 && c != 0x7f) {
			esc[0] = (char)c;
			esc[1] = '\0';
		} else if (c == '\n')
			memcpy(esc, "\\n", 3);
		else if (c == '\t')
			memcpy(esc, "\\t", 3);
		else if (c == '\r')
			memcpy(esc, "\\r", 3);
		else
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		k = strlen(esc);
		if (o + k > len - 1)
			break; /* an escape is never cut in half */
		memcpy(msg + o, esc, k);
		o += k;
	}
	msg[o] = '\0';
	free(copy);
}

static void seterr(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	/* One line, whatever the input's words hold (they are echoed). */
	plan_escape_message(err, len);
}

static struct plan_backend *find_backend(struct plan_vm *vm, const char *id)
{
	size_t i;

	for (i = 0; i < vm->nr_backends; i++)
		if (!strcmp(vm->backends[i].id, id))
			return &vm->backends[i];
	return NULL;
}

static struct plan_vmem *find_vmem(struct plan_vm *vm, const char *id)
{
	size_t i;

	for (i = 0; i < vm->nr_vmems; i++)
		if (!strcmp(vm->vmems[i].id, id))
			return &vm->vmems[i];
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* QEMU's "a,b=c,d=e" option strings                                          */

#define MAX_KV 32
struct kvlist {
	size_t n;
	char *key[MAX_KV];
	char *val[MAX_KV]; /* NULL for a bare word */
	char buf[1024];
};

static int kv_split(const char *s, struct kvlist *kv)
{
	char *p;

	kv->n = 0;
	if (strlen(s) >= sizeof(kv->buf))
		return -1;
	strcpy(kv->buf, s);
	p = kv->buf;
	while (*p) {
		char *comma = strchr(p, ','), *eq;

		if (kv->n == MAX_KV)
			return -1;
		if (comma)
			*comma = '\0';
		eq = strchr(p, '=');
		if (eq)
			*eq = '\0';
		kv->key[kv->n] = p;
		kv->val[kv->n] = eq ? eq + 1 : NULL;
		kv->n++;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

static const char *kv_get(const struct kvlist *kv, const char *key)
{
	size_t i;

	for (i = 0; i < kv->n; i++)
		if (kv->val[i] && !strcmp(kv->key[i], key))
			return kv->val[i];
	return NULL;
}

/* Options QEMU takes that plan does not need: with an argument, and without. */
static const char *const skip_arg[] = {
	"-smp", "-cpu", "-drive", "-netdev", "-name", "-uuid", "-bios", "-kernel", "-initrd",
	"-append", "-serial", "-monitor", "-chardev", "-vga", "-display", "-boot", "-rtc",
	"-global", "-fw_cfg", "-pidfile", "-qmp", "-mon", "-blockdev", "-numa", "-vnc", "-spice",
	"-L", "-cdrom", "-hda", "-hdb", "-pflash", "-overcommit", "-msg", "-sandbox", "-D", "-d",
	"-trace", "-incoming", "-loadvm", "-nic", "-net", "-k", "-watchdog-action", "-device-list",
	"-audiodev", "-parallel", "-smbios", "-iscsi", "-mem-path", "-run-with", NULL,
};
static const char *const skip_flag[] = {
	"-nographic", "-nodefaults", "-no-user-config", "-S", "-daemonize", "-no-reboot",
	"-no-shutdown", "-snapshot", "-no-hpet", "-mem-prealloc", "-full-screen", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

static int qemu_machine(struct plan_vm *vm, const char *arg, const char *where, char *err,
			size_t errlen)
{
	struct kvlist kv;
	size_t i;

	if (kv_split(arg, &kv) < 0) {
		seterr(err, errlen, "%s: -machine: option string too long", where);
		return -1;
	}
	for (i = 0; i < kv.n; i++) {
		const char *k = kv.key[i], *v = kv.val[i];

		if (!v && i == 0)
			k = "type", v = kv.key[0];
		if (!v)
			continue;
		if (!strcmp(k, "type")) {
			if (!strcmp(v, "q35") || !strncmp(v, "pc-q35", 6))
				vm->machine = PLAN_Q35;
			else if (!strcmp(v, "pc") || !strncmp(v, "pc-i440fx", 9))
				vm->machine = PLAN_PC;
			else {
				seterr(err, errlen, "%s: -machine: unsupported machine type '%s' (q35, pc)", where, v);
				return -1;
			}
		} else if (!strcmp(k, "accel")) {
			if (!strncmp(v, "kvm", 3))
				vm->kvm = true;
			else if (!strncmp(v, "tcg", 3))
				vm->kvm = false;
			else {
				seterr(err, errlen, "%s: -machine: bad value '%s' for accel (kvm, tcg)", where, v);
				return -1;
			}
		} else if (!strcmp(k, "memory-backend")) {
			copy_id(vm->ram_memdev, v);
			snprintf(vm->ram_memdev_where, sizeof(vm->ram_memdev_where), "%s", where);
		}
		/* confidential-guest-support=ID: the object's type decides. */
	}
	return 0;
}

static int qemu_object(struct plan_vm *vm, const char *arg, const char *where, char *err,
		       size_t errlen)
{
	struct kvlist kv;
	const char *type, *id, *v;

	if (kv_split(arg, &kv) < 0 || kv.n == 0) {
		seterr(err, errlen, "%s: -object: bad option string", where);
		return -1;
	}
	type = kv.val[0] ? kv_get(&kv, "qom-type") : kv.key[0];
	if (!type)
		type = "";
	id = kv_get(&kv, "id");
	if (!strncmp(type, "memory-backend-", 15)) {
		struct plan_backend *b;

		if (!id) {
			seterr(err, errlen, "%s: -object %s: missing id=", where, type);
			return -1;
		}
		if (vm->nr_backends == PLAN_MAX_BACKENDS) {
			seterr(err, errlen, "%s: -object: too many memory backends", where);
			return -1;
		}
		b = &vm->backends[vm->nr_backends++];
		memset(b, 0, sizeof(*b));
		copy_id(b->id, id);
		snprintf(b->where, sizeof(b->where), "%s", where);
		if (!strcmp(type + 15, "ram"))
			b->kind = PLAN_BACKEND_RAM;
		else if (!strcmp(type + 15, "file"))
			b->kind = PLAN_BACKEND_FILE;
		else if (!strcmp(type + 15, "memfd"))
			b->kind = PLAN_BACKEND_MEMFD;
		else {
			seterr(err, errlen, "%s: -object: unknown memory backend '%s'", where, type);
			return -1;
		}
		v = kv_get(&kv, "size");
		if (!v) {
			seterr(err, errlen, "%s: -object %s,id=%s: missing size=", where, type, id);
			return -1;
		}
		if (plan_parse_size(v, 1, &b->size) < 0 || b->size == 0) {
			seterr(err, errlen, "%s: -object %s,id=%s: bad size '%s'", where, type, id, v);
			return -1;
		}
		if ((v = kv_get(&kv, "share")) && parse_bool(v, &b->share) < 0) {
			seterr(err, errlen, "%s: -object %s: bad value '%s' for share", where, type, v);
			return -1;
		}
		if ((v = kv_get(&kv, "prealloc")) && parse_bool(v, &b->prealloc) < 0) {
			seterr(err, errlen, "%s: -object %s: bad value '%s' for prealloc", where, type, v);
			return -1;
		}
		/* The page size comes from the backing file system. */
		if ((v = kv_get(&kv, "mem-path"))) {
			if (strstr(v, "1G") || strstr(v, "1g") || strstr(v, "1048576"))
				b->page_size = 1ull << 30;
			else if (strstr(v, "huge"))
				b->page_size = 2ull << 20;
		}
		if ((v = kv_get(&kv, "hugetlb")) && !strcmp(v, "on")) {
			b->page_size = 2ull << 20;
			if ((v = kv_get(&kv, "hugetlbsize")) &&
			    plan_parse_size(v, 1, &b->page_size) < 0) {
				seterr(err, errlen, "%s: -object %s: bad size '%s' for hugetlbsize", where, type, v);
				return -1;
			}
		}
		if ((v = kv_get(&kv, "page-size")) && plan_parse_size(v, 1, &b->page_size) < 0) {
			seterr(err, errlen, "%s: -object %s: bad size '%s' for page-size", where, type, v);
			return -1;
		}
	} else if (!strcmp(type, "sev-snp-guest")) {
		vm->cvm = PLAN_CVM_SEV_SNP;
	} else if (!strcmp(type, "tdx-guest")) {
		vm->cvm = PLAN_CVM_TDX;
	} else if (!strcmp(type, "iommufd")) {
		vm->iommufd_object = true;
	}
	return 0;
}

static int qemu_device(struct plan_vm *vm, const char *arg, const char *where, char *err,
		       size_t errlen)
{
	struct kvlist kv;
	const char *drv, *v;

	if (kv_split(arg, &kv) < 0 || kv.n == 0) {
		seterr(err, errlen, "%s: -device: bad option string", where);
		return -1;
	}
	drv = kv.val[0] ? kv_get(&kv, "driver") : kv.key[0];
	if (!drv)
		drv = "";
	if (!strcmp(drv, "VGA") || !strcmp(drv, "cirrus-vga") || !strcmp(drv, "virtio-vga") ||
	    !strcmp(drv, "qxl-vga") || !strcmp(drv, "vmware-svga") || !strcmp(drv, "isa-vga"))
		vm->vga_device = true;
	if (!strcmp(drv, "virtio-mem-pci") || !strcmp(drv, "virtio-mem")) {
		struct plan_vmem *m;

		if (vm->nr_vmems == PLAN_MAX_VMEMS) {
			seterr(err, errlen, "%s: -device: too many virtio-mem devices", where);
			return -1;
		}
		m = &vm->vmems[vm->nr_vmems++];
		memset(m, 0, sizeof(*m));
		snprintf(m->where, sizeof(m->where), "%s", where);
		v = kv_get(&kv, "id");
		if (v)
			copy_id(m->id, v);
		else
			snprintf(m->id, sizeof(m->id), "virtio-mem%zu", vm->nr_vmems - 1);
		v = kv_get(&kv, "memdev");
		if (!v) {
			seterr(err, errlen, "%s: -device %s: missing memdev=", where, drv);
			return -1;
		}
		copy_id(m->memdev, v);
		if ((v = kv_get(&kv, "block-size")) && plan_parse_size(v, 1, &m->block_size) < 0) {
			seterr(err, errlen, "%s: -device %s: bad size '%s' for block-size", where, drv, v);
			return -1;
		}
		if ((v = kv_get(&kv, "requested-size")) &&
		    plan_parse_size(v, 1, &m->requested_size) < 0) {
			seterr(err, errlen, "%s: -device %s: bad size '%s' for requested-size", where, drv, v);
			return -1;
		}
		if ((v = kv_get(&kv, "dynamic-memslots")) && parse_bool(v, &m->dynamic_memslots) < 0) {
			seterr(err, errlen, "%s: -device %s: bad value '%s' for dynamic-memslots", where, drv, v);
			return -1;
		}
	} else if (!strcmp(drv, "vfio-pci")) {
		struct plan_vfio *d;

		if (vm->nr_vfios == PLAN_MAX_VFIOS) {
			seterr(err, errlen, "%s: -device: too many vfio-pci devices", where);
			return -1;
		}
		d = &vm->vfios[vm->nr_vfios++];
		memset(d, 0, sizeof(*d));
		snprintf(d->where, sizeof(d->where), "%s", where);
		v = kv_get(&kv, "host");
		copy_id(d->host, v ? v : (kv_get(&kv, "sysfsdev") ? kv_get(&kv, "sysfsdev") : "?"));
		v = kv_get(&kv, "id");
		if (v)
			copy_id(d->id, v);
		else
			snprintf(d->id, sizeof(d->id), "vfio%zu", vm->nr_vfios - 1);
		d->iommufd = kv_get(&kv, "iommufd") != NULL;
	} else if (!strcmp(drv, "intel-iommu")) {
		vm->viommu = PLAN_VIOMMU_INTEL;
		if ((v = kv_get(&kv, "caching-mode")) && parse_bool(v, &vm->caching_mode) < 0) {
			seterr(err, errlen, "%s: -device intel-iommu: bad value '%s' for caching-mode", where, v);
			return -1;
		}
	} else if (!strcmp(drv, "virtio-iommu-pci") || !strcmp(drv, "virtio-iommu")) {
		vm->viommu = PLAN_VIOMMU_VIRTIO;
	}
	return 0;
}

static int qemu_m(struct plan_vm *vm, const char *arg, const char *where, char *err, size_t errlen)
{
	struct kvlist kv;
	size_t i;

	if (kv_split(arg, &kv) < 0) {
		seterr(err, errlen, "%s: -m: option string too long", where);
		return -1;
	}
	for (i = 0; i < kv.n; i++) {
		const char *k = kv.val[i] ? kv.key[i] : "size";
		const char *v = kv.val[i] ? kv.val[i] : kv.key[i];
		uint64_t n;

		if (!strcmp(k, "size")) {
			if (plan_parse_size(v, 1ull << 20, &vm->ram) < 0 || vm->ram == 0) {
				seterr(err, errlen, "%s: -m: bad size '%s'", where, v);
				return -1;
			}
			snprintf(vm->ram_where, sizeof(vm->ram_where), "%s", where);
		} else if (!strcmp(k, "maxmem")) {
			if (plan_parse_size(v, 1ull << 20, &vm->maxmem) < 0) {
				seterr(err, errlen, "%s: -m: bad size '%s' for maxmem", where, v);
				return -1;
			}
			snprintf(vm->maxmem_where, sizeof(vm->maxmem_where), "%s", where);
		} else if (!strcmp(k, "slots")) {
			if (parse_u64(v, &n) < 0 || n > 4096) {
				seterr(err, errlen, "%s: -m: bad value '%s' for slots", where, v);
				return -1;
			}
			vm->slots = (unsigned int)n;
		} else {
			seterr(err, errlen, "%s: -m: unknown key '%s'", where, k);
			return -1;
		}
	}
	return 0;
}

/* @wheres[i]: where word i came from, for messages. */
static int qemu_words(int argc, char **argv, char **wheres, struct plan_vm *vm, char *err,
		      size_t errlen)
{
	int i = 0;

	if (argc > 0 && argv[0][0] != '-')
		i = 1; /* the binary */
	for (; i < argc; i++) {
		const char *o = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;
		const char *w = wheres[i];
		int r = 0;

		if (o[0] == '-' && o[1] == '-' && o[2])
			o++; /* QEMU accepts --opt as -opt */
		if (!strcmp(o, "-enable-kvm")) {
			vm->kvm = true;
			continue;
		}
		if (!strcmp(o, "-nodefaults"))
			vm->no_default_vga = true;
		if (!strcmp(o, "-vga") && a)
			vm->vga_option = strcmp(a, "none") != 0;
		if (in_list(skip_flag, o))
			continue;
		if (o[0] != '-') {
			seterr(err, errlen, "%s: unexpected word '%s'", w, o);
			return -1;
		}
		if (!strcmp(o, "-m") || !strcmp(o, "-machine") || !strcmp(o, "-M") ||
		    !strcmp(o, "-accel") || !strcmp(o, "-object") || !strcmp(o, "-device") ||
		    in_list(skip_arg, o)) {
			if (!a) {
				seterr(err, errlen, "%s: %s needs an argument", w, o);
				return -1;
			}
			w = wheres[i + 1];
			i++;
		} else {
			seterr(err, errlen, "%s: unknown option '%s'", w, o);
			return -1;
		}
		if (!strcmp(o, "-m"))
			r = qemu_m(vm, a, w, err, errlen);
		else if (!strcmp(o, "-machine") || !strcmp(o, "-M"))
			r = qemu_machine(vm, a, w, err, errlen);
		else if (!strcmp(o, "-accel")) {
			if (!strncmp(a, "kvm", 3))
				vm->kvm = true;
			else if (!strncmp(a, "tcg", 3))
				vm->kvm = false;
			else {
				seterr(err, errlen, "%s: -accel: bad value '%s' (kvm, tcg)", w, a);
				return -1;
			}
		} else if (!strcmp(o, "-object"))
			r = qemu_object(vm, a, w, err, errlen);
		else if (!strcmp(o, "-device"))
			r = qemu_device(vm, a, w, err, errlen);
		if (r < 0)
			return -1;
	}
	return 0;
}

int plan_parse_qemu_args(int argc, char **argv, const char *where, struct plan_vm *vm,
			 char *err, size_t errlen)
{
	char **wheres = calloc((size_t)argc + 1, sizeof(char *));
	int i, r;

	if (!wheres) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < argc; i++) {
		wheres[i] = malloc(PLAN_WHERE_LEN);
		if (wheres[i])
			snprintf(wheres[i], PLAN_WHERE_LEN, "%s %d ('%.60s')", where, i + 1, argv[i]);
	}
	for (i = 0; i < argc; i++)
		if (!wheres[i]) {
			r = -1;
			seterr(err, errlen, "out of memory");
			goto out;
		}
	snprintf(vm->source, sizeof(vm->source), "command line");
	r = qemu_words(argc, argv, wheres, vm, err, errlen);
out:
	for (i = 0; i < argc; i++)
		free(wheres[i]);
	free(wheres);
	return r;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		seterr(err, errlen, "%s: cannot read (not a regular file)", path);
		return NULL;
	}
	if (n > PLAN_MAX_FILE_BYTES) {
		fclose(f);
		seterr(err, errlen, "%s: too large (%ld bytes; at most 16 MiB)", path, n);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		seterr(err, errlen, "%s: read error", path);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A shell-like file: words split on blanks, '\' + newline joins lines,
 * quotes group, '#' at the start of a word comments to the end of line. */
int plan_parse_qemu_file(const char *path, struct plan_vm *vm, char *err, size_t errlen)
{
	char *text = read_file(path, err, errlen), *p;
	char **words = NULL, **wheres = NULL;
	int n = 0, cap = 0, r = -1, i;
	unsigned int line = 1;

	if (!text)
		return -1;
	for (p = text; *p; p++)
		if (p[0] == '\\' && p[1] == '\n')
			p[0] = ' ';
	p = text;
	for (;;) {
		char *w, *o;
		unsigned int wline;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			if (*p == '\n')
				line++;
			p++;
		}
		if (!*p)
			break;
		if (*p == '#') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		wline = line;
		w = o = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			if (*p == '\'' || *p == '"') {
				char q = *p++;

				while (*p && *p != q) {
					if (*p == '\n')
						line++;
					*o++ = *p++;
				}
				if (!*p) {
					seterr(err, errlen, "%s:%u: unterminated quote", path, wline);
					goto out;
				}
				p++;
				continue;
			}
			*o++ = *p++;
		}
		if (*p) {
			if (*p == '\n')
				line++;
			p++;
		}
		*o = '\0';
		if (n == PLAN_MAX_WORDS) {
			seterr(err, errlen, "%s:%u: too many words (at most %d)", path, wline, PLAN_MAX_WORDS);
			goto out;
		}
		if (n == cap) {
			int nc = cap ? cap * 2 : 64;
			char **nw = realloc(words, (size_t)nc * sizeof(*nw));
			char **nh;

			if (!nw)
				goto oom;
			words = nw;
			nh = realloc(wheres, (size_t)nc * sizeof(*nh));
			if (!nh)
				goto oom;
			wheres = nh;
			cap = nc;
		}
		words[n] = w;
		wheres[n] = malloc(PLAN_WHERE_LEN);
		if (!wheres[n])
			goto oom;
		snprintf(wheres[n], PLAN_WHERE_LEN, "%s:%u", path, wline);
		n++;
	}
	if (n == 0) {
		seterr(err, errlen, "%s:1: empty command line", path);
		goto out;
	}
	snprintf(vm->source, sizeof(vm->source), "%s", path);
	r = qemu_words(n, words, wheres, vm, err, errlen);
	goto out;
oom:
	seterr(err, errlen, "out of memory");
out:
	for (i = 0; i < n; i++)
		free(wheres[i]);
	free(wheres);
	free(words);
	free(text);
	return r;
}

/* ------------------------------------------------------------------------ */
/* The scenario file (docs/scenario-format.md)                                */

struct sline {
	const char *path;
	unsigned int line;
	const char *verb;
	size_t n;
	char *key[MAX_KV];
	char *val[MAX_KV];
	bool used[MAX_KV];
};

static const char *sget(struct sline *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->key[i], key)) {
			l->used[i] = true;
			return l->val[i];
		}
	return NULL;
}

/*
 * The value of @key on line @l in *@v: 1 when given, 0 when absent and
 * optional, -1 (with the message) when absent and required.
 */
static int s_value(struct sline *l, const char *key, bool required, const char **v, char *err,
		   size_t errlen)
{
	*v = sget(l, key);
	if (*v)
		return 1;
	if (required) {
		seterr(err, errlen, "%s:%u: %s: missing key '%s'", l->path, l->line, l->verb, key);
		return -1;
	}
	return 0;
}

static int s_size(struct sline *l, const char *key, bool required, uint64_t *out, char *err,
		  size_t errlen)
{
	const char *v;
	int given = s_value(l, key, required, &v, err, errlen);

	if (given <= 0)
		return given;
	if (plan_parse_size(v, 1, out) < 0) {
		seterr(err, errlen, "%s:%u: %s: bad size '%s' for %s", l->path, l->line, l->verb, v, key);
		return -1;
	}
	return 0;
}

static int s_num(struct sline *l, const char *key, bool required, uint64_t *out, char *err,
		 size_t errlen)
{
	const char *v;
	int given = s_value(l, key, required, &v, err, errlen);

	if (given <= 0)
		return given;
	if (parse_u64(v, out) < 0) {
		seterr(err, errlen, "%s:%u: %s: bad number '%s' for %s", l->path, l->line, l->verb, v, key);
		return -1;
	}
	return 0;
}

static int s_bool(struct sline *l, const char *key, bool *out, char *err, size_t errlen)
{
	const char *v = sget(l, key);

	if (v && parse_bool(v, out) < 0) {
		seterr(err, errlen, "%s:%u: %s: bad value '%s' for %s", l->path, l->line, l->verb, v, key);
		return -1;
	}
	return 0;
}

static int s_str(struct sline *l, const char *key, bool required, char *out, char *err,
		 size_t errlen)
{
	const char *v;
	int given = s_value(l, key, required, &v, err, errlen);

	if (given <= 0)
		return given;
	copy_id(out, v);
	return 0;
}

static int s_done(struct sline *l, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!l->used[i]) {
			seterr(err, errlen, "%s:%u: %s: unknown key '%s'", l->path, l->line, l->verb, l->key[i]);
			return -1;
		}
	return 0;
}

static int scen_line(struct sline *l, struct plan_vm *vm, struct plan_host *host,
		     bool *host_given, char *err, size_t errlen)
{
	const char *v;
	uint64_t n;
	char tmp[PLAN_ID_LEN];

	if (!strcmp(l->verb, "machine")) {
		tmp[0] = '\0';
		if (s_str(l, "type", false, tmp, err, errlen) < 0)
			return -1;
		if (tmp[0] && qemu_machine(vm, tmp, "", err, errlen) < 0) {
			seterr(err, errlen, "%s:%u: machine: bad value '%s' for type (q35, pc)", l->path, l->line, tmp);
			return -1;
		}
		if ((v = sget(l, "accel"))) {
			if (!strcmp(v, "kvm"))
				vm->kvm = true;
			else if (!strcmp(v, "tcg"))
				vm->kvm = false;
			else {
				seterr(err, errlen, "%s:%u: machine: bad value '%s' for accel (kvm, tcg)", l->path, l->line, v);
				return -1;
			}
		}
		if ((v = sget(l, "ram")) && (plan_parse_size(v, 1, &vm->ram) < 0 || !vm->ram)) {
			seterr(err, errlen, "%s:%u: machine: bad size '%s' for ram", l->path, l->line, v);
			return -1;
		}
		if (v)
			snprintf(vm->ram_where, sizeof(vm->ram_where), "%s:%u", l->path, l->line);
		if (s_size(l, "maxmem", false, &vm->maxmem, err, errlen) < 0)
			return -1;
		if (sget(l, "maxmem"))
			snprintf(vm->maxmem_where, sizeof(vm->maxmem_where), "%s:%u", l->path, l->line);
		n = vm->slots;
		if (s_num(l, "slots", false, &n, err, errlen) < 0)
			return -1;
		vm->slots = (unsigned int)n;
		if ((v = sget(l, "cvm"))) {
			if (!strcmp(v, "none"))
				vm->cvm = PLAN_CVM_NONE;
			else if (!strcmp(v, "sev-snp"))
				vm->cvm = PLAN_CVM_SEV_SNP;
			else if (!strcmp(v, "tdx"))
				vm->cvm = PLAN_CVM_TDX;
			else {
				seterr(err, errlen, "%s:%u: machine: bad value '%s' for cvm (none, sev-snp, tdx)", l->path, l->line, v);
				return -1;
			}
		}
		if ((v = sget(l, "viommu"))) {
			if (!strcmp(v, "none"))
				vm->viommu = PLAN_VIOMMU_NONE;
			else if (!strcmp(v, "intel"))
				vm->viommu = PLAN_VIOMMU_INTEL, vm->caching_mode = true;
			else if (!strcmp(v, "virtio"))
				vm->viommu = PLAN_VIOMMU_VIRTIO;
			else {
				seterr(err, errlen, "%s:%u: machine: bad value '%s' for viommu (none, intel, virtio)", l->path, l->line, v);
				return -1;
			}
		}
		if (s_num(l, "viommu-bound", false, &vm->viommu_bound, err, errlen) < 0 ||
		    s_str(l, "memory-backend", false, vm->ram_memdev, err, errlen) < 0)
			return -1;
		if (sget(l, "memory-backend"))
			snprintf(vm->ram_memdev_where, sizeof(vm->ram_memdev_where), "%s:%u", l->path,
				 l->line);
	} else if (!strcmp(l->verb, "backend")) {
		struct plan_backend *b;

		if (vm->nr_backends == PLAN_MAX_BACKENDS) {
			seterr(err, errlen, "%s:%u: backend: too many", l->path, l->line);
			return -1;
		}
		b = &vm->backends[vm->nr_backends++];
		memset(b, 0, sizeof(*b));
		snprintf(b->where, sizeof(b->where), "%s:%u", l->path, l->line);
		if (s_str(l, "id", true, b->id, err, errlen) < 0 ||
		    s_size(l, "size", true, &b->size, err, errlen) < 0 ||
		    s_size(l, "page-size", false, &b->page_size, err, errlen) < 0 ||
		    s_bool(l, "share", &b->share, err, errlen) < 0 ||
		    s_bool(l, "prealloc", &b->prealloc, err, errlen) < 0)
			return -1;
		if ((v = sget(l, "kind"))) {
			if (!strcmp(v, "ram"))
				b->kind = PLAN_BACKEND_RAM;
			else if (!strcmp(v, "file"))
				b->kind = PLAN_BACKEND_FILE;
			else if (!strcmp(v, "memfd"))
				b->kind = PLAN_BACKEND_MEMFD;
			else {
				seterr(err, errlen, "%s:%u: backend: bad value '%s' for kind (ram, file, memfd)", l->path, l->line, v);
				return -1;
			}
		}
		if (!b->size) {
			seterr(err, errlen, "%s:%u: backend: bad size '0' for size", l->path, l->line);
			return -1;
		}
	} else if (!strcmp(l->verb, "virtio-mem")) {
		struct plan_vmem *m;

		if (vm->nr_vmems == PLAN_MAX_VMEMS) {
			seterr(err, errlen, "%s:%u: virtio-mem: too many", l->path, l->line);
			return -1;
		}
		m = &vm->vmems[vm->nr_vmems++];
		memset(m, 0, sizeof(*m));
		snprintf(m->where, sizeof(m->where), "%s:%u", l->path, l->line);
		if (s_str(l, "id", true, m->id, err, errlen) < 0 ||
		    s_str(l, "memdev", true, m->memdev, err, errlen) < 0 ||
		    s_size(l, "block-size", false, &m->block_size, err, errlen) < 0 ||
		    s_size(l, "requested-size", false, &m->requested_size, err, errlen) < 0 ||
		    s_bool(l, "dynamic-memslots", &m->dynamic_memslots, err, errlen) < 0 ||
		    s_bool(l, "hotplug", &m->hotplug, err, errlen) < 0)
			return -1;
	} else if (!strcmp(l->verb, "vfio")) {
		struct plan_vfio *d;

		if (vm->nr_vfios == PLAN_MAX_VFIOS) {
			seterr(err, errlen, "%s:%u: vfio: too many", l->path, l->line);
			return -1;
		}
		d = &vm->vfios[vm->nr_vfios++];
		memset(d, 0, sizeof(*d));
		snprintf(d->where, sizeof(d->where), "%s:%u", l->path, l->line);
		copy_id(d->host, "?");
		if (s_str(l, "id", true, d->id, err, errlen) < 0 ||
		    s_str(l, "host", false, d->host, err, errlen) < 0 ||
		    s_bool(l, "iommufd", &d->iommufd, err, errlen) < 0)
			return -1;
	} else if (!strcmp(l->verb, "host")) {
		*host_given = true;
		snprintf(host->source, sizeof(host->source), "%s:%u", l->path, l->line);
		n = host->dma_entry_limit;
		if (s_num(l, "dma-entry-limit", false, &n, err, errlen) < 0)
			return -1;
		if (n > UINT32_MAX) {
			seterr(err, errlen, "%s:%u: host: dma-entry-limit too large", l->path, l->line);
			return -1;
		}
		host->dma_entry_limit = (uint32_t)n;
		if ((v = sget(l, "memlock"))) {
			if (!strcmp(v, "unlimited"))
				host->memlock = UINT64_MAX;
			else if (plan_parse_size(v, 1, &host->memlock) < 0) {
				seterr(err, errlen, "%s:%u: host: bad size '%s' for memlock", l->path, l->line, v);
				return -1;
			}
		}
		if ((v = sget(l, "kernel"))) {
			if (!strcmp(v, "6.1"))
				host->kernel = DMAKIT_KERNEL_6_1;
			else if (!strcmp(v, "6.12"))
				host->kernel = DMAKIT_KERNEL_6_12;
			else if (!strcmp(v, "6.18"))
				host->kernel = DMAKIT_KERNEL_6_18;
			else {
				seterr(err, errlen, "%s:%u: host: bad value '%s' for kernel (6.1, 6.12, 6.18)", l->path, l->line, v);
				return -1;
			}
		}
		if (s_bool(l, "iommufd", &host->iommufd_available, err, errlen) < 0)
			return -1;
		if ((v = sget(l, "iommu-bits"))) {
			if (!strcmp(v, "39") || !strcmp(v, "48")) {
				host->iova_bits = (uint32_t)atoi(v);
			} else {
				seterr(err, errlen, "%s:%u: host: bad value '%s' for iommu-bits (39, 48)",
				       l->path, l->line, v);
				return -1;
			}
		}
	} else {
		static const struct { const char *name; enum plan_step_kind kind; } verbs[] = {
			{ "plug", STEP_PLUG }, { "unplug", STEP_UNPLUG }, { "hotplug", STEP_HOTPLUG },
			{ "share", STEP_SHARE }, { "private", STEP_PRIVATE },
			{ "viommu-map", STEP_VIOMMU_MAP }, { "viommu-unmap", STEP_VIOMMU_UNMAP },
		};
		struct plan_step *s;
		size_t i;
		uint64_t rep = 1;

		for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
			if (!strcmp(l->verb, verbs[i].name))
				break;
		if (i == sizeof(verbs) / sizeof(verbs[0])) {
			seterr(err, errlen, "%s:%u: unknown line '%s'", l->path, l->line, l->verb);
			return -1;
		}
		if (vm->nr_steps == PLAN_MAX_STEPS) {
			seterr(err, errlen, "%s:%u: too many steps (at most %d)", l->path, l->line, PLAN_MAX_STEPS);
			return -1;
		}
		s = &vm->steps[vm->nr_steps++];
		memset(s, 0, sizeof(*s));
		s->kind = verbs[i].kind;
		s->line = l->line;
		copy_id(s->label, l->verb);
		if (s_str(l, "label", false, s->label, err, errlen) < 0 ||
		    s_num(l, "repeat", false, &rep, err, errlen) < 0)
			return -1;
		if (rep == 0 || rep > 1000000) {
			seterr(err, errlen, "%s:%u: %s: bad number for repeat", l->path, l->line, l->verb);
			return -1;
		}
		s->repeat = (unsigned int)rep;
		switch (s->kind) {
		case STEP_PLUG:
		case STEP_UNPLUG:
			if (s_str(l, "dev", true, s->dev, err, errlen) < 0 ||
			    s_size(l, "size", true, &s->size, err, errlen) < 0)
				return -1;
			break;
		case STEP_HOTPLUG:
			if (s_str(l, "dev", true, s->dev, err, errlen) < 0)
				return -1;
			break;
		case STEP_SHARE:
		case STEP_PRIVATE:
			if (s_num(l, "gpa", true, &s->gpa, err, errlen) < 0 ||
			    s_size(l, "size", true, &s->size, err, errlen) < 0)
				return -1;
			break;
		case STEP_VIOMMU_MAP:
			s->size = 4096;
			if (s_num(l, "count", true, &s->count, err, errlen) < 0 ||
			    s_size(l, "size", false, &s->size, err, errlen) < 0)
				return -1;
			break;
		case STEP_VIOMMU_UNMAP:
			if (s_num(l, "count", true, &s->count, err, errlen) < 0)
				return -1;
			break;
		default:
			break;
		}
		/* Bounded work: at most PLAN_MAX_OPS vIOMMU maps per step. */
		if ((s->kind == STEP_VIOMMU_MAP || s->kind == STEP_VIOMMU_UNMAP) &&
		    (s->count > PLAN_MAX_OPS || s->count * s->repeat > PLAN_MAX_OPS)) {
			seterr(err, errlen, "%s:%u: %s: count x repeat too large (at most %d)",
			       l->path, l->line, l->verb, PLAN_MAX_OPS);
			return -1;
		}
		if ((s->kind == STEP_PLUG || s->kind == STEP_UNPLUG || s->kind == STEP_SHARE ||
		     s->kind == STEP_PRIVATE) && s->size == 0) {
			seterr(err, errlen, "%s:%u: %s: bad size '0' for size", l->path, l->line, l->verb);
			return -1;
		}
		if (s->kind == STEP_PLUG || s->kind == STEP_UNPLUG || s->kind == STEP_HOTPLUG) {
			if (!find_vmem(vm, s->dev)) {
				seterr(err, errlen, "%s:%u: %s: no virtio-mem device '%s' (declare it above)", l->path, l->line, l->verb, s->dev);
				return -1;
			}
		}
	}
	return s_done(l, err, errlen);
}

int plan_parse_scenario(const char *path, struct plan_vm *vm, struct plan_host *host,
			bool *host_given, char *err, size_t errlen)
{
	char *text = read_file(path, err, errlen), *p, *nl;
	unsigned int line = 0;
	bool machine_seen = false;
	int r = -1;

	if (!text)
		return -1;
	snprintf(vm->source, sizeof(vm->source), "%s", path);
	for (p = text; p && *p; p = nl) {
		struct sline l;
		char *tok, *save = NULL, *hash;

		line++;
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		hash = strchr(p, '#');
		if (hash)
			*hash = '\0';
		memset(&l, 0, sizeof(l));
		l.path = path;
		l.line = line;
		tok = strtok_r(p, " \t\r", &save);
		if (!tok)
			continue;
		l.verb = tok;
		while ((tok = strtok_r(NULL, " \t\r", &save))) {
			char *eq = strchr(tok, '=');
			size_t i;

			if (!eq || eq == tok) {
				seterr(err, errlen, "%s:%u: %s: expected key=value, got '%s'", path, line, l.verb, tok);
				goto out;
			}
			*eq = '\0';
			for (i = 0; i < l.n; i++)
				if (!strcmp(l.key[i], tok)) {
					seterr(err, errlen, "%s:%u: %s: key '%s' given twice", path, line, l.verb, tok);
					goto out;
				}
			if (l.n == MAX_KV) {
				seterr(err, errlen, "%s:%u: too many keys", path, line);
				goto out;
			}
			l.key[l.n] = tok;
			l.val[l.n++] = eq + 1;
		}
		if (!strcmp(l.verb, "machine")) {
			if (machine_seen) {
				seterr(err, errlen, "%s:%u: machine given twice", path, line);
				goto out;
			}
			machine_seen = true;
		} else if (!machine_seen) {
			seterr(err, errlen, "%s:%u: the first line must be 'machine'", path, line);
			goto out;
		}
		if (scen_line(&l, vm, host, host_given, err, errlen) < 0)
			goto out;
	}
	if (!machine_seen) {
		seterr(err, errlen, "%s:1: no machine line", path);
		goto out;
	}
	r = 0;
out:
	free(text);
	return r;
}

/* ------------------------------------------------------------------------ */

/* Past the 52-bit guest physical address space: "larger than ...". */
static int too_large(const char *where, const char *what, uint64_t size, char *err,
		     size_t errlen)
{
	char sz[32];

	if (size <= PLAN_MAX_GPA)
		return 0;
	plan_fmt_size(sz, sizeof(sz), size);
	seterr(err, errlen, "%s: %s (%s) is larger than the guest physical address space "
	       "(%d bits: 4 PiB)", where, what, sz, PLAN_MAX_GPA_BITS);
	return -1;
}

const char *plan_vm_where(const struct plan_vm *vm, const char *where)
{
	return where[0] ? where : vm->source;
}

int plan_resolve(struct plan_vm *vm, char *err, size_t errlen)
{
	struct plan_placement place;
	const char *ram_where = plan_vm_where(vm, vm->ram_where);
	char what[PLAN_ID_LEN + 64];
	size_t i, j;

	/* QEMU refuses two objects with one id; so does plan (a look-up would
	 * silently take the first). */
	for (i = 0; i < vm->nr_backends; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(vm->backends[i].id, vm->backends[j].id)) {
				seterr(err, errlen, "%s: memory backend id '%s' is used twice",
				       vm->backends[i].where, vm->backends[i].id);
				return -1;
			}
	for (i = 0; i < vm->nr_vmems; i++)
		for (j = 0; j < i; j++)
			if (vm->vmems[i].id[0] && !strcmp(vm->vmems[i].id, vm->vmems[j].id)) {
				seterr(err, errlen, "%s: virtio-mem id '%s' is used twice",
				       vm->vmems[i].where, vm->vmems[i].id);
				return -1;
			}

	/* Sizes that cannot exist: nothing is allocated for them below. */
	if (too_large(ram_where, "the RAM size", vm->ram, err, errlen) < 0 ||
	    (vm->maxmem && too_large(plan_vm_where(vm, vm->maxmem_where),
				     "maxmem", vm->maxmem, err, errlen) < 0))
		return -1;
	for (i = 0; i < vm->nr_backends; i++) {
		snprintf(what, sizeof(what), "memory backend '%s': the size", vm->backends[i].id);
		if (too_large(vm->backends[i].where, what, vm->backends[i].size, err, errlen) < 0)
			return -1;
	}

	if (vm->ram_memdev[0]) {
		struct plan_backend *b = find_backend(vm, vm->ram_memdev);

		if (!b) {
			seterr(err, errlen, "%s: memory-backend=%s: no such memory backend",
			       plan_vm_where(vm, vm->ram_memdev_where), vm->ram_memdev);
			return -1;
		}
		vm->ram = b->size;
		if (!vm->ram_where[0])
			ram_where = b->where;
	}
	for (i = 0; i < vm->nr_vmems; i++) {
		struct plan_vmem *m = &vm->vmems[i];
		struct plan_backend *b = find_backend(vm, m->memdev);

		if (!b) {
			seterr(err, errlen, "%s: virtio-mem '%s': memdev '%s' does not exist", m->where, m->id, m->memdev);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(vm->vmems[j].memdev, m->memdev)) {
				seterr(err, errlen, "%s: virtio-mem '%s': memdev '%s' is already used by '%s'", m->where, m->id, m->memdev, vm->vmems[j].id);
				return -1;
			}
		if (vm->ram_memdev[0] && !strcmp(vm->ram_memdev, m->memdev)) {
			seterr(err, errlen, "%s: virtio-mem '%s': memdev '%s' is the machine's RAM", m->where, m->id, m->memdev);
			return -1;
		}
		m->size = b->size;
		m->page_size = b->page_size ? b->page_size : 4096;
		if (m->requested_size > m->size) {
			seterr(err, errlen, "%s: virtio-mem '%s': requested-size exceeds the memdev's size", m->where, m->id);
			return -1;
		}
	}
	if (vm->maxmem && vm->maxmem < vm->ram) {
		seterr(err, errlen, "%s: maxmem is smaller than the RAM size",
		       plan_vm_where(vm, vm->maxmem_where));
		return -1;
	}
	/* Every size fits 52 bits, so the layout's sums cannot wrap; its end
	 * must fit too. */
	plan_layout_place(vm, &place);
	if (place.ram_end > PLAN_MAX_GPA) {
		char sz[32];

		plan_fmt_size(sz, sizeof(sz), vm->ram);
		seterr(err, errlen, "%s: the RAM (%s, all but the first 2 or 3 GiB of it above 4 GiB) "
		       "ends at 0x%" PRIx64 ", past the guest physical address space (%d bits: 4 PiB)",
		       ram_where, sz, place.ram_end, PLAN_MAX_GPA_BITS);
		return -1;
	}
	for (i = 0; i < vm->nr_vmems; i++)
		/* (A block size above the device's size: the library refuses
		 * it with QEMU's message when the layout is built.) */
		if (place.vmem_end[i] > PLAN_MAX_GPA && vm->vmems[i].block_size <= vm->vmems[i].size) {
			seterr(err, errlen, "%s: virtio-mem '%s': placed at 0x%" PRIx64 " after the RAM "
			       "and the devices before it, it ends at 0x%" PRIx64 ", past the guest "
			       "physical address space (%d bits: 4 PiB)",
			       vm->vmems[i].where, vm->vmems[i].id, place.vmem_addr[i],
			       place.vmem_end[i], PLAN_MAX_GPA_BITS);
			return -1;
		}
	return 0;
}

/* The host facts from `dmakit probe --json` output. */
static const char *json_key(const char *text, const char *key)
{
	char pat[80];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(text, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	return p;
}

/* The line of @p in @text, 1-based. */
static unsigned int json_line(const char *text, const char *p)
{
	unsigned int line = 1;

	for (; text < p; text++)
		line += *text == '\n';
	return line;
}

/* A decimal JSON integer at @p: digits up to a delimiter, no overflow. */
static int json_u64(const char *p, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(p, &end, 10);
	if (errno || end == p || (*end && !strchr(" \t\r\n,}]", *end)))
		return -1;
	return 0;
}

int plan_parse_host_json(const char *path, struct plan_host *h, char *err, size_t errlen)
{
	char *text = read_file(path, err, errlen);
	const char *p;

	if (!text)
		return -1;
	if (!strchr(text, '{') || !json_key(text, "dev_iommu")) {
		seterr(err, errlen, "%s:1: not the output of 'dmakit probe --json'", path);
		free(text);
		return -1;
	}
	if ((p = json_key(text, "dma_entry_limit")) && isdigit((unsigned char)*p)) {
		uint64_t v;

		if (json_u64(p, &v) < 0 || v > UINT32_MAX) {
			seterr(err, errlen, "%s:%u: dma_entry_limit: bad number (at most 4294967295)",
			       path, json_line(text, p));
			free(text);
			return -1;
		}
		h->dma_entry_limit = (uint32_t)v;
	}
	if ((p = json_key(text, "soft"))) {
		if (isdigit((unsigned char)*p)) {
			if (json_u64(p, &h->memlock) < 0) {
				seterr(err, errlen, "%s:%u: soft: bad number (at most 2^64-1)",
				       path, json_line(text, p));
				free(text);
				return -1;
			}
		} else
			h->memlock = UINT64_MAX;
	}
	if ((p = json_key(text, "cap_ipc_lock")) && !strncmp(p, "true", 4))
		h->memlock = UINT64_MAX; /* not enforced */
	if ((p = json_key(text, "dev_iommu")))
		h->iommufd_available = !strncmp(p, "true", 4);
	snprintf(h->source, sizeof(h->source), "%s", path);
	free(text);
	return 0;
}

int plan_parse_any(const char *path, struct plan_vm *vm, struct plan_host *host,
		   bool *host_given, char *err, size_t errlen)
{
	char head[512];
	FILE *f = fopen(path, "r");
	size_t n;
	const char *p;

	if (!f) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(head, 1, sizeof(head) - 1, f);
	fclose(f);
	head[n] = '\0';
	p = head;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '#')
			break;
		while (*p && *p != '\n')
			p++;
	}
	if (*p == '<')
		return plan_parse_libvirt(path, vm, err, errlen);
	if (!strncmp(p, "machine", 7) && (p[7] == ' ' || p[7] == '\t' || p[7] == '\n'))
		return plan_parse_scenario(path, vm, host, host_given, err, errlen);
	return plan_parse_qemu_file(path, vm, err, errlen);
}
