/* SPDX-License-Identifier: MIT */
/*
 * Errno names and messages. One table, generated from an X-macro, serves
 * dmakit_errno_name(), dmakit_errno_from_name() and dmakit_strerror().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <dmakit/common.h>

#define DMAKIT_ERRNO_MAP(X)                                                  \
	X(EPERM) X(ENOENT) X(ESRCH) X(EINTR) X(EIO) X(ENXIO) X(E2BIG)            \
	X(ENOEXEC) X(EBADF) X(ECHILD) X(EAGAIN) X(ENOMEM) X(EACCES) X(EFAULT)    \
	X(EBUSY) X(EEXIST) X(EXDEV) X(ENODEV) X(ENOTDIR) X(EISDIR) X(EINVAL)     \
	X(ENFILE) X(EMFILE) X(ENOTTY) X(EFBIG) X(ENOSPC) X(ESPIPE) X(EROFS)      \
	X(EPIPE) X(EDOM) X(ERANGE) X(EDEADLK) X(ENAMETOOLONG) X(ENOSYS)          \
	X(ENOTSUP) X(EOVERFLOW) X(EPROTO) X(EMSGSIZE) X(EADDRINUSE)              \
	X(ETIMEDOUT) X(ECANCELED) X(EUCLEAN) X(ENODATA) X(ENOLINK) X(EILSEQ)

struct errno_entry {
	int value;
	const char *name;
};

static const struct errno_entry errno_table[] = {
#define ERRNO_ENTRY(e) { e, #e },
	DMAKIT_ERRNO_MAP(ERRNO_ENTRY)
#undef ERRNO_ENTRY
};

DMAKIT_EXPORT const char *dmakit_version(void)
{
	return DMAKIT_VERSION_STRING;
}

DMAKIT_EXPORT const char *dmakit_errno_name(int err)
{
	static _Thread_local char unknown[24];
	size_t i;

	if (err < 0)
		err = -err;
	if (err == 0)
		return "OK";
	/* EOPNOTSUPP == ENOTSUP on Linux; the kernel's own name is the former. */
	if (err == EOPNOTSUPP)
		return "EOPNOTSUPP";
	for (i = 0; i < sizeof(errno_table) / sizeof(errno_table[0]); i++)
		if (errno_table[i].value == err)
			return errno_table[i].name;
	snprintf(unknown, sizeof(unknown), "E%d", err);
	return unknown;
}

DMAKIT_EXPORT int dmakit_errno_from_name(const char *name)
{
	size_t i;

	if (!name)
		return 0;
	if (strcmp(name, "EOPNOTSUPP") == 0)
		return EOPNOTSUPP;
	for (i = 0; i < sizeof(errno_table) / sizeof(errno_table[0]); i++)
		if (strcmp(errno_table[i].name, name) == 0)
			return errno_table[i].value;
	return 0;
}

DMAKIT_EXPORT const char *dmakit_strerror(int err)
{
	if (err < 0)
		err = -err;
	return strerror(err);
}
