/* SPDX-License-Identifier: MIT */
/*
 * dmakit fault injection: make the n-th memory allocation of the library, or
 * the n-th call into a container's backend, fail, so every failure path can
 * be driven in a test ("fail-nth"): run a scenario once to count the points,
 * then again failing each point in turn, and check the state is exactly as
 * before the call that failed.
 *
 * The switch is per thread: it counts and fails only what the calling thread
 * does, so tests can run in parallel. It costs one thread-local test per
 * allocation or backend call when off.
 */
#ifndef DMAKIT_FAULT_H
#define DMAKIT_FAULT_H

#include <dmakit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

enum dmakit_fault_point {
	DMAKIT_FAULT_ALLOC = 0,        /* an allocation returns NULL (the caller sees -ENOMEM) */
	DMAKIT_FAULT_BACKEND_CALL = 1, /* a backend ioctl fails with the given errno, not run */
};

/**
 * dmakit_fault_arm() - from now on, in this thread, count the events of
 * @point from zero and make event number @nth (1-based) fail; @err is the
 * errno a failed backend call returns (e.g. ENOSPC), ignored for
 * allocations. @nth == 0 counts without failing.
 */
DMAKIT_EXPORT void dmakit_fault_arm(enum dmakit_fault_point point, uint64_t nth, int err);

/** dmakit_fault_disarm() - stop counting and failing @point in this thread. */
DMAKIT_EXPORT void dmakit_fault_disarm(enum dmakit_fault_point point);

/** @returns how many events of @point this thread has had since it was armed. */
DMAKIT_EXPORT uint64_t dmakit_fault_count(enum dmakit_fault_point point);

/** @returns whether the armed failure of @point has fired (once per arming). */
DMAKIT_EXPORT bool dmakit_fault_fired(enum dmakit_fault_point point);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_FAULT_H */
