/* SPDX-License-Identifier: MIT */
/*
 * A small dynamically linked "VMM" for the interposer's tests, on the host
 * (fake VFIO paths) and in the real-kernel lab (/dev/vfio/vfio + edu's group).
 * It uses <linux/vfio.h>-compatible raw ioctls (dmakit's uapi.h) and libc
 * only, and prints one line per DMA request it issues, so a test can compare
 * what it did with what `dmakit record` saw.
 *
 * usage: victim CONTAINER GROUP|- COMMAND...
 *   setup            open CONTAINER (and GROUP, attach it), SET_IOMMU(type1v2)
 *   map N SIZE IOVA  N maps of SIZE bytes at IOVA, IOVA+SIZE, ... (fresh memory)
 *   unmap N SIZE IOVA
 *   unmap-all | info
 *   dup | dup2 | dup3 | fcntl   move the container to a new fd, close the old
 *   null             close the container and put /dev/null at its fd number
 *   fork             the rest runs in a child; the parent waits and exits with its status
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dmakit/uapi.h>

static int cfd = -1;

static const char *ename(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case ENOSPC: return "ENOSPC";
	case ENOENT: return "ENOENT";
	case EFAULT: return "EFAULT";
	case ENOMEM: return "ENOMEM";
	case EBUSY: return "EBUSY";
	case ENOTTY: return "ENOTTY";
	case EBADF: return "EBADF";
	case EPERM: return "EPERM";
	case EIO: return "EIO";
	default: return "E?";
	}
}

static uint64_t num(const char *s)
{
	return strtoull(s, NULL, 0);
}

static void result(const char *what, int ret)
{
	if (ret < 0)
		printf("%s %s\n", what, ename(errno));
	else
		printf("%s ok\n", what);
}

int main(int argc, char **argv)
{
	int i, gfd = -1;

	if (argc < 3) {
		fprintf(stderr, "usage: victim CONTAINER GROUP|- COMMAND...\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 3; i < argc; i++) {
		const char *c = argv[i];
		char what[128];

		if (strcmp(c, "setup") == 0) {
			cfd = open(argv[1], O_RDWR | O_CLOEXEC);
			if (cfd < 0) {
				perror(argv[1]);
				return 3;
			}
			if (strcmp(argv[2], "-") != 0) {
				gfd = open(argv[2], O_RDWR | O_CLOEXEC);
				if (gfd < 0) {
					perror(argv[2]);
					return 3;
				}
				result("set-container", ioctl(gfd, DMAKIT_VFIO_GROUP_SET_CONTAINER, &cfd));
			}
			result("set-iommu", ioctl(cfd, DMAKIT_VFIO_SET_IOMMU, (unsigned long)DMAKIT_VFIO_TYPE1v2_IOMMU));
		} else if ((strcmp(c, "map") == 0 || strcmp(c, "unmap") == 0) && i + 3 < argc) {
			uint64_t n = num(argv[i + 1]), size = num(argv[i + 2]), iova = num(argv[i + 3]), k;
			char *buf = NULL;

			if (c[0] == 'm') {
				buf = mmap(NULL, n * size, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (buf == MAP_FAILED)
					return 4;
			}
			for (k = 0; k < n; k++) {
				uint64_t a = iova + k * size;

				if (buf) {
					struct dmakit_vfio_iommu_type1_dma_map m = {
						.argsz = sizeof(m),
						.flags = DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE,
						.vaddr = (uintptr_t)(buf + k * size), .iova = a, .size = size,
					};
					snprintf(what, sizeof(what), "map iova=0x%llx size=0x%llx",
						 (unsigned long long)a, (unsigned long long)size);
					result(what, ioctl(cfd, DMAKIT_VFIO_IOMMU_MAP_DMA, &m));
				} else {
					struct dmakit_vfio_iommu_type1_dma_unmap u = {
						.argsz = sizeof(u), .iova = a, .size = size,
					};
					snprintf(what, sizeof(what), "unmap iova=0x%llx size=0x%llx",
						 (unsigned long long)a, (unsigned long long)size);
					result(what, ioctl(cfd, DMAKIT_VFIO_IOMMU_UNMAP_DMA, &u));
				}
			}
			i += 3;
		} else if (strcmp(c, "unmap-all") == 0) {
			struct dmakit_vfio_iommu_type1_dma_unmap u = {
				.argsz = sizeof(u), .flags = DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL,
			};
			result("unmap-all", ioctl(cfd, DMAKIT_VFIO_IOMMU_UNMAP_DMA, &u));
		} else if (strcmp(c, "info") == 0) {
			uint64_t b[512];
			struct dmakit_vfio_iommu_type1_info *inf = (void *)b;
			uint32_t off;
			long avail = -1;

			memset(b, 0, sizeof(b));
			inf->argsz = sizeof(b);
			if (ioctl(cfd, DMAKIT_VFIO_IOMMU_GET_INFO, inf) < 0) {
				printf("info %s\n", ename(errno));
				continue;
			}
			off = (inf->flags & DMAKIT_VFIO_IOMMU_INFO_CAPS) ? inf->cap_offset : 0;
			while (off && off + 12 <= sizeof(b)) {
				struct dmakit_vfio_info_cap_header *h = (void *)((char *)b + off);

				if (h->id == DMAKIT_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
					avail = ((struct dmakit_vfio_iommu_type1_info_dma_avail *)h)->avail;
				off = h->next;
			}
			if (avail < 0)
				printf("info avail=none\n");
			else
				printf("info avail=%ld\n", avail);
		} else if (strcmp(c, "dup") == 0 || strcmp(c, "dup2") == 0 ||
			   strcmp(c, "dup3") == 0 || strcmp(c, "fcntl") == 0) {
			int nfd;

			if (strcmp(c, "dup") == 0)
				nfd = dup(cfd);
			else if (strcmp(c, "dup2") == 0)
				nfd = dup2(cfd, 100);
			else if (strcmp(c, "dup3") == 0)
				nfd = dup3(cfd, 101, O_CLOEXEC);
			else
				nfd = fcntl(cfd, F_DUPFD_CLOEXEC, 200);
			if (nfd < 0 || nfd == cfd)
				return 5;
			close(cfd);
			cfd = nfd;
			printf("%s fd=%d\n", c, cfd);
		} else if (strcmp(c, "null") == 0) {
			int n;

			close(cfd);
			n = open("/dev/null", O_RDWR);
			if (n != cfd) {
				dup2(n, cfd);
				close(n);
			}
			printf("null fd=%d\n", cfd);
		} else if (strcmp(c, "fork") == 0) {
			pid_t p = fork();
			int st;

			if (p < 0)
				return 6;
			if (p > 0) {
				waitpid(p, &st, 0);
				return WIFEXITED(st) ? WEXITSTATUS(st) : 7;
			}
			printf("forked\n");
		} else {
			fprintf(stderr, "victim: bad command '%s'\n", c);
			return 2;
		}
	}
	return 0;
}
