/* SPDX-License-Identifier: MIT */
/*
 * dmakit plan: reading a libvirt domain XML (libxml2) into a struct plan_vm.
 * What is read: domain type (kvm/qemu), os/type@machine, memory, maxMemory
 * (slots), memoryBacking/hugepages, launchSecurity (sev-snp, tdx),
 * devices/memory model='virtio-mem', devices/hostdev (PCI; iommufd),
 * devices/iommu (intel, virtio). docs/plan.md lists the mapping.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plan.h"

#ifdef DMAKIT_HAVE_LIBXML2
#include <libxml/parser.h>
#include <libxml/tree.h>

struct xerr {
	char *buf;
	size_t len;
	bool set;
	const char *path; /* for messages libxml2 gives without a file */
};

static void xml_error(void *opaque, xmlErrorPtr e)
{
	struct xerr *x = opaque;
	size_t n;

	if (x->set || !e)
		return;
	x->set = true;
	snprintf(x->buf, x->len, "%s:%d: malformed XML: %s", e->file ? e->file : x->path,
		 e->line > 0 ? e->line : 1, e->message ? e->message : "error");
	n = strlen(x->buf);
	while (n && (x->buf[n - 1] == '\n' || x->buf[n - 1] == ' '))
		x->buf[--n] = '\0';
	/* libxml2's messages may span lines: keep the answer to one. */
	for (; n; n--)
		if ((unsigned char)x->buf[n - 1] < 0x20)
			x->buf[n - 1] = ' ';
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (n = n ? n->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name))
			return n;
	return NULL;
}

static int prop(xmlNodePtr n, const char *name, char *out, size_t len)
{
	xmlChar *v = n ? xmlGetProp(n, (const xmlChar *)name) : NULL;

	if (!v)
		return -1;
	snprintf(out, len, "%s", (const char *)v);
	xmlFree(v);
	return 0;
}

/* <X unit='KiB'>N</X>: bytes. libvirt's default unit is KiB. */
static int size_elem(xmlNodePtr n, const char *path, uint64_t *out, char *err, size_t errlen)
{
	char unit[32] = "KiB", num[64];
	xmlChar *c;
	uint64_t mul;

	if (!n)
		return 1;
	prop(n, "unit", unit, sizeof(unit));
	c = xmlNodeGetContent(n);
	snprintf(num, sizeof(num), "%s", c ? (const char *)c : "");
	xmlFree(c);
	if (!strcmp(unit, "b") || !strcmp(unit, "bytes") || !strcmp(unit, "B"))
		mul = 1;
	else if (!strcmp(unit, "KiB") || !strcmp(unit, "k") || !strcmp(unit, "K"))
		mul = 1ull << 10;
	else if (!strcmp(unit, "MiB") || !strcmp(unit, "M"))
		mul = 1ull << 20;
	else if (!strcmp(unit, "GiB") || !strcmp(unit, "G"))
		mul = 1ull << 30;
	else if (!strcmp(unit, "TiB") || !strcmp(unit, "T"))
		mul = 1ull << 40;
	else {
		snprintf(err, errlen, "%s:%ld: <%s>: unknown unit '%s'", path, xmlGetLineNo(n),
			 (const char *)n->name, unit);
		return -1;
	}
	if (plan_parse_size(num, mul, out) < 0) {
		snprintf(err, errlen, "%s:%ld: <%s>: bad size '%s'", path, xmlGetLineNo(n),
			 (const char *)n->name, num);
		return -1;
	}
	return 0;
}

int plan_parse_libvirt(const char *path, struct plan_vm *vm, char *err, size_t errlen)
{
	struct xerr x = { err, errlen, false, path };
	xmlDocPtr doc;
	xmlNodePtr root, n, dev;
	char buf[128];
	struct stat st;
	int r = -1;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > PLAN_MAX_FILE_BYTES) {
		snprintf(err, errlen, "%s: too large (%lld bytes; at most 16 MiB)", path,
			 (long long)st.st_size);
		plan_escape_message(err, errlen);
		return -1;
	}
	xmlSetStructuredErrorFunc(&x, xml_error);
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (!doc) {
		if (!x.set)
			snprintf(err, errlen, "%s:1: malformed XML", path);
		return -1;
	}
	snprintf(vm->source, sizeof(vm->source), "%s", path);
	root = xmlDocGetRootElement(doc);
	if (!root || strcmp((const char *)root->name, "domain")) {
		snprintf(err, errlen, "%s:%ld: not a libvirt domain (root element <%s>)", path,
			 root ? xmlGetLineNo(root) : 1L, root ? (const char *)root->name : "none");
		goto out;
	}
	if (prop(root, "type", buf, sizeof(buf)) == 0)
		vm->kvm = !strcmp(buf, "kvm");
	n = child(child(root, "os"), "type");
	if (n && prop(n, "machine", buf, sizeof(buf)) == 0) {
		if (!strncmp(buf, "pc-i440fx", 9) || !strcmp(buf, "pc"))
			vm->machine = PLAN_PC;
		else if (!strncmp(buf, "pc-q35", 6) || !strcmp(buf, "q35"))
			vm->machine = PLAN_Q35;
		else {
			snprintf(err, errlen, "%s:%ld: <type machine='%s'>: unsupported machine (q35, pc)",
				 path, xmlGetLineNo(n), buf);
			goto out;
		}
	}
	n = child(root, "memory");
	if (!n) {
		snprintf(err, errlen, "%s:%ld: <domain>: missing <memory>", path, xmlGetLineNo(root));
		goto out;
	}
	if (size_elem(n, path, &vm->ram, err, errlen) < 0)
		goto out;
	if (vm->ram == 0) {
		snprintf(err, errlen, "%s:%ld: <memory>: the size must not be 0", path,
			 xmlGetLineNo(n));
		goto out;
	}
	snprintf(vm->ram_where, sizeof(vm->ram_where), "%s:%ld", path, xmlGetLineNo(n));
	n = child(root, "maxMemory");
	if (n) {
		if (size_elem(n, path, &vm->maxmem, err, errlen) < 0)
			goto out;
		snprintf(vm->maxmem_where, sizeof(vm->maxmem_where), "%s:%ld", path, xmlGetLineNo(n));
		if (prop(n, "slots", buf, sizeof(buf)) == 0) {
			uint64_t v;

			if (plan_parse_size(buf, 1, &v) < 0 || v > UINT32_MAX) {
				snprintf(err, errlen, "%s:%ld: <maxMemory slots='%s'>: bad number",
					 path, xmlGetLineNo(n), buf);
				goto out;
			}
			vm->slots = (unsigned int)v;
		}
	}
	n = child(root, "launchSecurity");
	if (n && prop(n, "type", buf, sizeof(buf)) == 0) {
		if (!strcmp(buf, "sev-snp"))
			vm->cvm = PLAN_CVM_SEV_SNP;
		else if (!strcmp(buf, "tdx"))
			vm->cvm = PLAN_CVM_TDX;
	}
	dev = child(root, "devices");
	for (n = dev ? dev->children : NULL; n; n = n->next) {
		const char *name = (const char *)n->name;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!strcmp(name, "hostdev")) {
			struct plan_vfio *d;
			xmlNodePtr drv = child(n, "driver"), fd = child(n, "iommufd"), a;

			if (prop(n, "type", buf, sizeof(buf)) == 0 && strcmp(buf, "pci"))
				continue;
			if (vm->nr_vfios == PLAN_MAX_VFIOS) {
				snprintf(err, errlen, "%s:%ld: too many <hostdev>", path, xmlGetLineNo(n));
				goto out;
			}
			d = &vm->vfios[vm->nr_vfios++];
			memset(d, 0, sizeof(*d));
			snprintf(d->where, sizeof(d->where), "%s:%ld", path, xmlGetLineNo(n));
			snprintf(d->id, sizeof(d->id), "hostdev%zu", vm->nr_vfios - 1);
			if (prop(child(n, "alias"), "name", buf, sizeof(buf)) == 0)
				snprintf(d->id, sizeof(d->id), "%.63s", buf);
			a = child(child(n, "source"), "address");
			if (a) {
				char dom[16] = "0x0000", bus[16] = "0", slot[16] = "0", fn[16] = "0";

				prop(a, "domain", dom, sizeof(dom));
				prop(a, "bus", bus, sizeof(bus));
				prop(a, "slot", slot, sizeof(slot));
				prop(a, "function", fn, sizeof(fn));
				snprintf(d->host, sizeof(d->host), "%04lx:%02lx:%02lx.%lx",
					 strtoul(dom, NULL, 0), strtoul(bus, NULL, 0),
					 strtoul(slot, NULL, 0), strtoul(fn, NULL, 0));
			} else
				snprintf(d->host, sizeof(d->host), "?");
			if (drv && prop(drv, "iommufd", buf, sizeof(buf)) == 0 && !strcmp(buf, "yes"))
				d->iommufd = true;
			if (fd && (prop(fd, "enabled", buf, sizeof(buf)) < 0 || !strcmp(buf, "yes")))
				d->iommufd = true;
		} else if (!strcmp(name, "iommu")) {
			xmlNodePtr drv = child(n, "driver");

			if (prop(n, "model", buf, sizeof(buf)) == 0 && !strcmp(buf, "virtio"))
				vm->viommu = PLAN_VIOMMU_VIRTIO;
			else {
				vm->viommu = PLAN_VIOMMU_INTEL;
				if (drv && prop(drv, "caching_mode", buf, sizeof(buf)) == 0)
					vm->caching_mode = !strcmp(buf, "on");
			}
		} else if (!strcmp(name, "memory")) {
			struct plan_vmem *m;
			struct plan_backend *b;
			xmlNodePtr t = child(n, "target");
			uint64_t sz = 0;

			if (prop(n, "model", buf, sizeof(buf)) < 0 || strcmp(buf, "virtio-mem"))
				continue;
			if (vm->nr_vmems == PLAN_MAX_VMEMS || vm->nr_backends == PLAN_MAX_BACKENDS) {
				snprintf(err, errlen, "%s:%ld: too many <memory> devices", path, xmlGetLineNo(n));
				goto out;
			}
			if (!t || size_elem(child(t, "size"), path, &sz, err, errlen) != 0) {
				if (!t || !child(t, "size"))
					snprintf(err, errlen, "%s:%ld: <memory model='virtio-mem'>: missing <target><size>",
						 path, xmlGetLineNo(n));
				goto out;
			}
			m = &vm->vmems[vm->nr_vmems++];
			b = &vm->backends[vm->nr_backends++];
			memset(m, 0, sizeof(*m));
			memset(b, 0, sizeof(*b));
			snprintf(m->where, sizeof(m->where), "%s:%ld", path, xmlGetLineNo(n));
			memcpy(b->where, m->where, sizeof(b->where));
			snprintf(m->id, sizeof(m->id), "virtiomem%zu", vm->nr_vmems - 1);
			if (prop(child(n, "alias"), "name", buf, sizeof(buf)) == 0)
				snprintf(m->id, sizeof(m->id), "%.63s", buf);
			{
				char idc[PLAN_ID_LEN];

				memcpy(idc, m->id, sizeof(idc));
				snprintf(b->id, sizeof(b->id), "mem%.60s", idc);
			}
			memcpy(m->memdev, b->id, sizeof(m->memdev));
			b->size = sz;
			if (size_elem(child(t, "block"), path, &m->block_size, err, errlen) < 0 ||
			    size_elem(child(t, "requested"), path, &m->requested_size, err, errlen) < 0)
				goto out;
			t = child(n, "source");
			if (t && size_elem(child(t, "pagesize"), path, &b->page_size, err, errlen) < 0)
				goto out;
			/* <target dynamicMemslots="yes"> */
			if (prop(child(n, "target"), "dynamicMemslots", buf, sizeof(buf)) == 0)
				m->dynamic_memslots = !strcmp(buf, "yes");
		}
	}
	n = child(child(root, "memoryBacking"), "hugepages");
	if (n) {
		/* The machine's RAM on huge pages: a memory backend of its own. */
		xmlNodePtr pg = child(n, "page");
		struct plan_backend *b;
		uint64_t ps = 2ull << 20;

		if (pg && prop(pg, "size", buf, sizeof(buf)) == 0) {
			char unit[16] = "KiB";
			uint64_t mul = 1024;

			prop(pg, "unit", unit, sizeof(unit));
			if (!strcmp(unit, "MiB") || !strcmp(unit, "M"))
				mul = 1ull << 20;
			else if (!strcmp(unit, "GiB") || !strcmp(unit, "G"))
				mul = 1ull << 30;
			if (plan_parse_size(buf, mul, &ps) < 0) {
				snprintf(err, errlen, "%s:%ld: <page size='%s'>: bad size", path, xmlGetLineNo(pg), buf);
				goto out;
			}
		}
		if (vm->nr_backends < PLAN_MAX_BACKENDS) {
			b = &vm->backends[vm->nr_backends++];
			memset(b, 0, sizeof(*b));
			snprintf(b->id, sizeof(b->id), "pc.ram");
			b->kind = PLAN_BACKEND_FILE;
			b->size = vm->ram;
			b->page_size = ps;
			snprintf(b->where, sizeof(b->where), "%s:%ld", path, xmlGetLineNo(n));
			snprintf(vm->ram_memdev, sizeof(vm->ram_memdev), "pc.ram");
			snprintf(vm->ram_memdev_where, sizeof(vm->ram_memdev_where), "%s", b->where);
		}
	}
	/* libvirt's <memory> is the total including virtio-mem devices. */
	{
		size_t i;
		uint64_t devsz = 0;

		for (i = 0; i < vm->nr_vmems; i++)
			devsz += vm->backends[i].size;
		if (vm->maxmem && devsz < vm->ram)
			vm->ram -= devsz;
		if (vm->ram_memdev[0])
			vm->backends[vm->nr_backends - 1].size = vm->ram;
	}
	r = 0;
out:
	xmlFreeDoc(doc);
	/* A value echoed from the file may hold a newline: one line always. */
	if (r < 0 && err)
		plan_escape_message(err, errlen);
	return r;
}
#else /* !DMAKIT_HAVE_LIBXML2: the static command */
int plan_parse_libvirt(const char *path, struct plan_vm *vm, char *err, size_t errlen)
{
	(void)vm;
	snprintf(err, errlen, "%s:1: this dmakit was built without libxml2: libvirt XML is not read", path);
	return -1;
}
#endif
