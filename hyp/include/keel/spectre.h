/*
 * What hyp/arch/Spectre.swift sets up for the mitigating exception vectors (hyp/arch/vectors.S):
 * which table VBAR_EL2 holds, the Spectre-BHB loop's count, and each CPU's firmware call.
 */
#ifndef KEEL_SPECTRE_H
#define KEEL_SPECTRE_H

#include <stdint.h>

/* The vector tables: plain, and three that mitigate on every entry from a guest. */
extern const char keel_vectors[], keel_vectors_bhb_loop[], keel_vectors_clear_bhb[], keel_vectors_firmware[];
/* Branches of the BHB loop, the largest any CPU needs (written before a CPU selects the loop). */
extern uint32_t keel_bhb_loop_count;
/* Per CPU index (MPIDR Aff0): the SMCCC function the firmware table calls. */
extern uint32_t keel_entry_firmware_call[];

/* The table for SpectreProfile.Entry `entry`: 0 plain, 1 BHB loop, 2 CLRBHB, 3 firmware call. */
static inline uint64_t keel_vector_table(uint32_t entry) {
    switch (entry) {
    case 1: return (uint64_t)(uintptr_t)keel_vectors_bhb_loop;
    case 2: return (uint64_t)(uintptr_t)keel_vectors_clear_bhb;
    case 3: return (uint64_t)(uintptr_t)keel_vectors_firmware;
    default: return (uint64_t)(uintptr_t)keel_vectors;
    }
}

static inline uint32_t keel_get_bhb_loop_count(void) { return keel_bhb_loop_count; }
static inline void keel_set_bhb_loop_count(uint32_t count) { keel_bhb_loop_count = count; }
static inline void keel_set_entry_firmware_call(uint32_t cpu, uint32_t function) { keel_entry_firmware_call[cpu] = function; }

#endif
