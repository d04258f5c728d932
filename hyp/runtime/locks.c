/* Storage for the locks in keel/atomic.h, and releasing the console's when a CPU abandons it. */
#include "keel/atomic.h"

uint32_t keel_console_lock;
uint32_t keel_console_owner;

/* The console's lock comes with its owner word (CPU index + 1, Console.swift): both go. */
unsigned keel_release_console_lock(void) {
    if (!keel_spin_held_by_me(&keel_console_lock)) return 0;
    __atomic_store_n(&keel_console_owner, 0, __ATOMIC_RELEASE);
    return keel_spin_release_mine(&keel_console_lock);
}

/*
 * A contended lock: spin a little (a holder that runs releases it within a few hundred
 * instructions), then sleep between looks. The sleep is a WFI that the EL2 physical timer
 * (CNTHP, INTID 26, enabled in every CPU's GIC) ends after about 30 us: it gives the CPU back,
 * where a spin would not. Under QEMU's multi-threaded TCG, WFE and YIELD do not wait, so with
 * more vCPUs than host cores a waiter spinning on a holder whose host thread was descheduled
 * burnt its whole time slice; WFI halts the waiter's thread and lets the holder run. The
 * unlock sends nothing: a sleeper looks again when its timer ends. IRQs are masked at EL2, so
 * the timer's interrupt only ends the WFI; the timer is off again before the next look, so its
 * level-sensitive line (and the pending state the GIC derives from it) is gone.
 */
#define KEEL_SPIN_LOOKS 256
void keel_spin_wait(uint32_t *lock) {
    for (int i = 0; i < KEEL_SPIN_LOOKS; i++) {
        if (!__atomic_load_n(lock, __ATOMIC_RELAXED)) return;
        __asm__ volatile("yield");
    }
    uint64_t frequency;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frequency));
    uint64_t ticks = (frequency >> 15) + 1;  /* about 30 us at any counter frequency */
    while (__atomic_load_n(lock, __ATOMIC_RELAXED)) {
        __asm__ volatile("msr cnthp_tval_el2, %0\n\tmsr cnthp_ctl_el2, %1\n\tisb" :: "r"(ticks), "r"((uint64_t)1) : "memory");
        if (__atomic_load_n(lock, __ATOMIC_RELAXED)) __asm__ volatile("wfi" ::: "memory");
        __asm__ volatile("msr cnthp_ctl_el2, %0\n\tisb" :: "r"((uint64_t)0) : "memory");
    }
}
