/*
 * Atomics and spinlocks for state several CPUs share (vCPU power states, the console). Need
 * the MMU and caches on: exclusives fault on Device memory.
 */
#ifndef KEEL_ATOMIC_H
#define KEEL_ATOMIC_H
#include <stdint.h>
#include <stdbool.h>

/* *p == expected ? (*p = desired, true) : false, acquire-release. */
static inline __attribute__((always_inline)) bool keel_cas32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
static inline __attribute__((always_inline)) uint32_t keel_load_acquire32(uint32_t *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline __attribute__((always_inline)) void keel_store_release32(uint32_t *p, uint32_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
/*
 * Lock ownership. A held lock's word is its owner's token, never 0: the low half of
 * MPIDR_EL1, whose bit 31 is RES1 and whose Aff0..Aff2 name the CPU. Reading it costs the
 * `mov w, #1` it replaces, so tracking who holds each lock is free on every path that locks.
 * A CPU that abandons a handler half-way (a contained fault, hyp/core/Containment.swift)
 * releases the locks it holds with keel_spin_release_mine; no other CPU can: only the owner's
 * token matches.
 */
static inline __attribute__((always_inline)) uint32_t keel_lock_token(void) {
    uint64_t mpidr;
    /* Not volatile: MPIDR_EL1 never changes on a CPU, so the compiler may reuse or hoist it. */
    __asm__("mrs %0, mpidr_el1" : "=r"(mpidr));
    return (uint32_t)mpidr;
}
/* Waits until `lock` looks free (locks.c): a short spin, then sleeps in WFI between looks. */
void keel_spin_wait(uint32_t *lock);
static inline __attribute__((always_inline)) void keel_spin_lock(uint32_t *lock) {
    uint32_t me = keel_lock_token();
    while (__builtin_expect(__atomic_exchange_n(lock, me, __ATOMIC_ACQUIRE) != 0, 0)) {
        keel_spin_wait(lock);
    }
}
static inline __attribute__((always_inline)) void keel_spin_unlock(uint32_t *lock) {
    __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}
/* True when this CPU holds `lock`. */
static inline bool keel_spin_held_by_me(uint32_t *lock) {
    return __atomic_load_n(lock, __ATOMIC_RELAXED) == keel_lock_token();
}
/* Releases `lock` when this CPU holds it; true when it did. For abandoning a handler only. */
static inline bool keel_spin_release_mine(uint32_t *lock) {
    uint32_t me = keel_lock_token();
    return __atomic_compare_exchange_n(lock, &me, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}
/* The console lock (with its owner word), released when this CPU holds it; returns 1 when it
 * did. Swift's lock words are released through keel_spin_release_mine (AtomicWord). */
unsigned keel_release_console_lock(void);
static inline void keel_sev(void) { __asm__ volatile("dsb ish; sev" ::: "memory"); }

/* The console lock and which CPU holds it (+1; 0 = none), for Console.begin ... newline. */
extern uint32_t keel_console_lock;
extern uint32_t keel_console_owner;

/* Address of the first byte above CPU `cpu`'s stack. */
#include "keel/config.h"
extern char keel_stacks[];
static inline uintptr_t keel_stack_top(unsigned cpu) {
    return (uintptr_t)keel_stacks + (uintptr_t)(cpu + 1) * KEEL_STACK_SIZE;
}
/* Jump to fn(arg) on the stack whose top is `top`: what a CPU that leaves a guest for good does,
 * so repeated CPU_OFF/CPU_ON never grows its stack. Never returns. */
__attribute__((noreturn)) void keel_switch_stack(uintptr_t top, void (*fn)(uint64_t), uint64_t arg);
/* Where the firmware starts a secondary CPU (PSCI CPU_ON), MMU off, x0 = its index. */
void keel_secondary_entry(void);
static inline uintptr_t keel_secondary_entry_address(void) { return (uintptr_t)keel_secondary_entry; }
/* Where a spin-table CPU is sent (its release address), MMU off, x0 = 0: it finds its index in
 * MPIDR_EL1.Aff0. */
void keel_spin_table_entry(void);
static inline uintptr_t keel_spin_table_entry_address(void) { return (uintptr_t)keel_spin_table_entry; }
#endif
