/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the libFuzzer targets (tests/fuzz/fuzz_*.c): a byte
 * reader that never runs dry (past the end every read is 0, so a short input
 * is a valid input), and the one way a target reports a mismatch with its
 * reference model: print what differs and abort(), which libFuzzer records
 * as a crash with the input that caused it.
 */
#ifndef DMAKIT_FUZZ_COMMON_H
#define DMAKIT_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline bool fz_empty(const struct fz *f)
{
	return f->n == 0;
}

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t v = fz_u8(f);

	return (uint16_t)(v | (uint16_t)fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t v = fz_u16(f);

	return v | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t v = fz_u32(f);

	return v | (uint64_t)fz_u32(f) << 32;
}

/*
 * The reference models and the comparisons: not instrumented for coverage.
 * Their linear scans would otherwise dominate the run time (one callback per
 * comparison), and the fuzzer should be steered by the library's branches,
 * not by the model's.
 */
#define FZ_MODEL __attribute__((no_sanitize("coverage"), noinline))

/* A mismatch: the fuzzer's verdict. Keeps going in no case. */
#define FZ_FAIL(...)                                                        \
	do {                                                                \
		fprintf(stderr, "MISMATCH at %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__);                               \
		fputc('\n', stderr);                                        \
		abort();                                                    \
	} while (0)

#define FZ_CHECK(cond, ...)          \
	do {                         \
		if (!(cond))         \
			FZ_FAIL(__VA_ARGS__); \
	} while (0)

/* Set DMAKIT_FUZZ_VERBOSE=1 to print every operation (replaying a crash). */
static inline bool fz_verbose(void)
{
	static int v = -1;

	if (v < 0) {
		const char *e = getenv("DMAKIT_FUZZ_VERBOSE");

		v = e && *e && *e != '0';
	}
	return v;
}

#define FZ_LOG(...)                                   \
	do {                                          \
		if (fz_verbose())                     \
			fprintf(stderr, __VA_ARGS__); \
	} while (0)

#endif /* DMAKIT_FUZZ_COMMON_H */
