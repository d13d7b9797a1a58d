/* SPDX-License-Identifier: MIT */
/*
 * dmakit: shared definitions of the public API.
 *
 * The one error rule of the library: every function that can fail returns 0
 * (or a non-negative count) on success and a negative errno value (-EINVAL,
 * -ENOSPC, ...) on failure. Nothing in the library sets errno for the caller
 * or prints. dmakit_errno_name() and dmakit_strerror() turn such a value into
 * text for a person.
 *
 * Interval vocabulary, used in every header of the project:
 *   - `iova`, `size`: a range given by its first byte and its length in bytes,
 *     as the kernel ABI gives it;
 *   - `last`: the last byte of a range, INCLUSIVE (a range ending at the top of
 *     the 64-bit space has last = UINT64_MAX, which an exclusive end cannot
 *     express);
 *   - `end`: one past the last byte, EXCLUSIVE, used only where it cannot wrap.
 * Every `iova + size - 1` in the library is computed with an overflow check.
 */
#ifndef DMAKIT_COMMON_H
#define DMAKIT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(DMAKIT_BUILDING_LIBRARY) && defined(__GNUC__)
#define DMAKIT_EXPORT __attribute__((visibility("default")))
#else
#define DMAKIT_EXPORT
#endif

#define DMAKIT_VERSION_MAJOR 0
#define DMAKIT_VERSION_MINOR 1
#define DMAKIT_VERSION_PATCH 0
#define DMAKIT_VERSION_STRING "0.1.0"

/** @returns the library's version string, e.g. "0.1.0". */
DMAKIT_EXPORT const char *dmakit_version(void);

/**
 * dmakit_errno_name() - symbolic name of an errno value.
 * @err: an errno value, positive or negative (-EINVAL and EINVAL both work).
 *
 * @returns "EINVAL", "ENOSPC", ... or "E<number>" for a value the table does
 * not know (a pointer to a static buffer per thread in that case), and "OK"
 * for 0. Never NULL.
 */
DMAKIT_EXPORT const char *dmakit_errno_name(int err);

/**
 * dmakit_errno_from_name() - the inverse of dmakit_errno_name().
 * @returns the positive errno value, or 0 if @name is not known.
 */
DMAKIT_EXPORT int dmakit_errno_from_name(const char *name);

/** dmakit_strerror() - a sentence for a person; like strerror(-err). */
DMAKIT_EXPORT const char *dmakit_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_COMMON_H */
