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
static inline __attribute__((always_inline)) void keel_spin_lock(uint32_t *lock) {
    while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(lock, __ATOMIC_RELAXED)) { __asm__ volatile("yield"); }
    }
}
static inline __attribute__((always_inline)) void keel_spin_unlock(uint32_t *lock) {
    __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}
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
#endif
