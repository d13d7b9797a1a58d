/* SPDX-License-Identifier: MIT */
/*
 * dmakit plan / sim: the VM description every input turns into (a QEMU
 * command line, a libvirt domain XML, a scenario file), the layout built
 * from it in the library (address space, regions, discard managers, one
 * listener per container over the emulated kernel), and the timeline of a
 * scenario. docs/plan.md and docs/scenario-format.md describe the rules.
 */
#ifndef DMAKIT_PLAN_H
#define DMAKIT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dmakit/dmakit.h>

#define PLAN_MAX_BACKENDS 16
#define PLAN_MAX_VMEMS 8
#define PLAN_MAX_VFIOS 16
#define PLAN_MAX_STEPS 256
#define PLAN_ID_LEN 64
#define PLAN_WHERE_LEN 192
/* Input bounds: plan, sim and --host files are read whole, at most 16 MiB;
 * a QEMU command line has at most PLAN_MAX_WORDS words. */
#define PLAN_MAX_FILE_BYTES (16l << 20)
#define PLAN_MAX_WORDS 65536
/* vIOMMU maps or unmaps of one scenario step (count x repeat). */
#define PLAN_MAX_OPS 16777216
/* x86-64 guest physical addresses have at most 52 bits: plan_resolve()
 * refuses a RAM, maxmem, memory backend or virtio-mem size above 4 PiB,
 * and a layout (RAM above 4 GiB, then the virtio-mem devices) ending past
 * it. */
#define PLAN_MAX_GPA_BITS 52
#define PLAN_MAX_GPA (1ull << PLAN_MAX_GPA_BITS)

enum plan_machine { PLAN_Q35 = 0, PLAN_PC = 1 };
enum plan_cvm { PLAN_CVM_NONE = 0, PLAN_CVM_SEV_SNP = 1, PLAN_CVM_TDX = 2 };
enum plan_viommu { PLAN_VIOMMU_NONE = 0, PLAN_VIOMMU_INTEL = 1, PLAN_VIOMMU_VIRTIO = 2 };
enum plan_backend_kind { PLAN_BACKEND_RAM = 0, PLAN_BACKEND_FILE = 1, PLAN_BACKEND_MEMFD = 2 };

struct plan_backend {
	char id[PLAN_ID_LEN];
	enum plan_backend_kind kind;
	uint64_t size;
	uint64_t page_size; /* 0: the host page (4 KiB) */
	bool share, prealloc;
	char where[PLAN_WHERE_LEN];
};

struct plan_vmem {
	char id[PLAN_ID_LEN];
	char memdev[PLAN_ID_LEN];
	uint64_t block_size;     /* 0: the default rule (x86: 2 MiB) */
	uint64_t requested_size;
	bool dynamic_memslots;
	bool hotplug;            /* scenario: not present at boot, added by a step */
	char where[PLAN_WHERE_LEN];
	/* filled by plan_resolve(): */
	uint64_t size, page_size;
};

struct plan_vfio {
	char id[PLAN_ID_LEN];
	char host[PLAN_ID_LEN];
	bool iommufd;
	char where[PLAN_WHERE_LEN];
};

enum plan_step_kind {
	STEP_BOOT = 0,      /* (implicit first step) the listeners start */
	STEP_PLUG,          /* virtio-mem: the guest plugs SIZE bytes */
	STEP_UNPLUG,        /* virtio-mem: the guest unplugs SIZE bytes */
	STEP_HOTPLUG,       /* a virtio-mem device with hotplug=on enters the AS */
	STEP_SHARE,         /* CVM: [gpa, gpa+size) private -> shared */
	STEP_PRIVATE,       /* CVM: shared -> private */
	STEP_VIOMMU_MAP,    /* vIOMMU: COUNT maps of SIZE each */
	STEP_VIOMMU_UNMAP,  /* vIOMMU: unmap COUNT of the oldest live maps */
};

struct plan_step {
	enum plan_step_kind kind;
	char dev[PLAN_ID_LEN];
	uint64_t gpa, size, count;
	unsigned int repeat;
	char label[PLAN_ID_LEN];
	unsigned int line;
};

struct plan_vm {
	char source[PLAN_WHERE_LEN]; /* file name or "command line" */
	enum plan_machine machine;
	bool kvm;
	uint64_t ram;            /* -m size */
	unsigned int slots;
	uint64_t maxmem;
	char ram_memdev[PLAN_ID_LEN]; /* -machine memory-backend= */
	/* Where maxmem and ram_memdev were given (FILE:LINE or the argument),
	 * for the messages of plan_resolve(); empty: the source as a whole. */
	char maxmem_where[PLAN_WHERE_LEN];
	char ram_memdev_where[PLAN_WHERE_LEN];
	char ram_where[PLAN_WHERE_LEN];  /* where the RAM size (-m) was given */
	enum plan_cvm cvm;
	enum plan_viommu viommu;
	bool caching_mode;       /* intel-iommu caching-mode=on */
	uint64_t viommu_bound;   /* live vIOMMU mappings the guest may hold; 0: unknown */
	bool iommufd_object;     /* -object iommufd seen */
	/*
	 * A VGA-compatible display claims the legacy window 0xa0000-0xbffff,
	 * so RAM below 1 MiB is mapped only up to 0xa0000; without one QEMU
	 * maps RAM up to the option ROMs at 0xc0000 (seen in the lab).
	 * QEMU adds a default VGA unless -nodefaults; -vga sets or drops it;
	 * a -device VGA, cirrus-vga, virtio-vga, qxl-vga or vmware-svga adds
	 * one.
	 */
	bool no_default_vga;     /* -nodefaults */
	int vga_option;          /* -vga: -1 not given, 0 none, 1 a VGA type */
	bool vga_device;         /* a VGA-compatible -device */
	size_t nr_backends, nr_vmems, nr_vfios, nr_steps;
	struct plan_backend backends[PLAN_MAX_BACKENDS];
	struct plan_vmem vmems[PLAN_MAX_VMEMS];
	struct plan_vfio vfios[PLAN_MAX_VFIOS];
	struct plan_step steps[PLAN_MAX_STEPS];
};

struct plan_host {
	uint32_t dma_entry_limit; /* default 65535 */
	uint64_t memlock;         /* bytes; UINT64_MAX unlimited */
	enum dmakit_kernel_profile kernel;
	bool iommufd_available;   /* unknown is true */
	char source[PLAN_WHERE_LEN];
	/* --profile, --budget, --absent-cap (docs/profiles.md); zero: the
	 * kernel as it is, QEMU's 65535 for an absent DMA_AVAIL. */
	enum dmakit_limit_policy profile;
	uint64_t budget;          /* account-bytes; 0: the default (1 GiB) */
	bool absent_unlimited;    /* the VMM reads an absent DMA_AVAIL as unlimited */
	uint32_t iova_bits;       /* the host IOMMU's address width: 39 (default) or 48 */
	bool profile_given;       /* one of the three was given: show profiles */
};

void plan_vm_init(struct plan_vm *vm);
/* Whether the VM has a VGA-compatible display (see struct plan_vm). */
bool plan_vm_has_vga(const struct plan_vm *vm);
void plan_host_init(struct plan_host *h);
/* Use a file's host line (@file) in place of @host, keeping the kernel
 * profile settings (--profile, --budget, --absent-cap) given in @host. */
void plan_host_take_file(struct plan_host *host, const struct plan_host *file);

/* Parsers: 0, or -1 with one line "WHERE: message" in err. */
int plan_parse_size(const char *s, uint64_t default_unit, uint64_t *out);
int plan_parse_qemu_args(int argc, char **argv, const char *where, struct plan_vm *vm,
			 char *err, size_t errlen);
int plan_parse_qemu_file(const char *path, struct plan_vm *vm, char *err, size_t errlen);
int plan_parse_scenario(const char *path, struct plan_vm *vm, struct plan_host *host,
			bool *host_given, char *err, size_t errlen);
int plan_parse_libvirt(const char *path, struct plan_vm *vm, char *err, size_t errlen);
int plan_parse_host_json(const char *path, struct plan_host *h, char *err, size_t errlen);
/* Any input: a libvirt XML, a QEMU command line or a scenario file. */
int plan_parse_any(const char *path, struct plan_vm *vm, struct plan_host *host,
		   bool *host_given, char *err, size_t errlen);
/* Cross-checks (memdev exists, sizes are consistent). */
/* @where (one of a plan_vm's *_where fields), or the VM's source when the
 * value was not given in one place. */
const char *plan_vm_where(const struct plan_vm *vm, const char *where);
int plan_resolve(struct plan_vm *vm, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* The layout in the library                                                  */

#define PLAN_MAX_CONTAINERS 2

struct plan_container {
	bool iommufd;
	size_t nr_devices;
	const char *devices[PLAN_MAX_VFIOS];
	struct dmakit_listener *listener;
};

struct plan_layout {
	struct dmakit_address_space *as;      /* the devices' DMA address space */
	struct dmakit_address_space *sysmem;  /* guest RAM (== as without vIOMMU) */
	struct dmakit_memory_region *ram_mr, *rom_mr, *bios_mr, *iommu_mr;
	struct dmakit_guest_memfd *gmfd;
	struct dmakit_virtio_mem *vmem[PLAN_MAX_VMEMS];
	uint64_t vmem_addr[PLAN_MAX_VMEMS];
	uint64_t below_4g, above_4g;
	size_t nr_containers;
	struct plan_container containers[PLAN_MAX_CONTAINERS];
	uint32_t max_memslots;
	/* vIOMMU: the guest's live maps (a FIFO) for the sim */
	uint64_t viommu_next_iova, viommu_seq;
	uint64_t *q_iova, *q_size;
	size_t q_head, q_tail, q_cap;
};

struct plan_build_opts {
	enum dmakit_listener_strategy strategy;
	/* true: the containers have the host's dma_entry_limit and the listener
	 * QEMU's dma_max_mappings (the sim); false: no limit anywhere, so the
	 * layout is always built and the numbers computed (the plan). */
	bool enforce;
	/* Keep the emulator's IO page-table model (dmakit_container_config's
	 * model_page_tables) in the type1 containers; account-bytes always
	 * does. Off by default: plan computes the figure instead. */
	bool model_page_tables;
};

/* Where plan_layout_build() puts guest RAM and the virtio-mem devices
 * (docs/plan.md): addresses saturate at UINT64_MAX instead of wrapping.
 * Needs a resolved VM (plan_resolve() sets the devices' sizes). */
struct plan_placement {
	uint64_t below_4g, above_4g;
	uint64_t ram_end;                    /* the first address past RAM */
	uint64_t vmem_addr[PLAN_MAX_VMEMS];
	uint64_t vmem_end[PLAN_MAX_VMEMS];   /* the first address past each */
};
void plan_layout_place(const struct plan_vm *vm, struct plan_placement *p);

/* Build the VM's memory map, containers and listeners. On error, @err is
 * one line: the listener's refusal (QEMU's message) as QEMU prints it, and
 * anything else prefixed with where it comes from (FILE:LINE, the argument,
 * or the source as a whole). */
int plan_layout_build(const struct plan_vm *vm, const struct plan_host *host,
		      const struct plan_build_opts *o, struct plan_layout *L,
		      char *err, size_t errlen);
void plan_layout_destroy(struct plan_layout *L);
/* Run one step (all its repeats); 0, or the first -errno with its message
 * in err; *fails counts the guest operations that were refused. *bad is
 * set when the step does not fit the VM (a bad scenario: no such device,
 * not a confidential guest, an address outside guest RAM, ...), as opposed
 * to an operation the kernel refused, whatever its errno. */
int plan_layout_step(const struct plan_vm *vm, struct plan_layout *L,
		     const struct plan_step *s, uint64_t *fails, bool *bad, char *err,
		     size_t errlen);

/* Keep a message that echoes input values on one line: rewrite every
 * control character of @msg (a NUL-terminated string in a buffer of @len
 * bytes) as \n, \t, \r or \xNN, cutting the end if it no longer fits. The
 * readers' format strings hold none, so only echoed values change. */
void plan_escape_message(char *msg, size_t len);

/* Human sizes: "16 GiB", "2 MiB", "384 KiB", "12345 bytes". */
void plan_fmt_size(char *buf, size_t len, uint64_t bytes);

#endif /* DMAKIT_PLAN_H */
