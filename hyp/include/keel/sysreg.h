/*
 * System register accessors. Each is a static inline function around one mrs/msr, imported
 * into Swift; the optimizer inlines them to the single instruction.
 */
#ifndef KEEL_SYSREG_H
#define KEEL_SYSREG_H

#include <stdint.h>

#define KEEL_SYSREG_R(name) \
    static inline __attribute__((always_inline)) uint64_t read_##name(void) { \
        uint64_t v; __asm__ volatile("mrs %0, " #name : "=r"(v)); return v; }
#define KEEL_SYSREG_W(name) \
    static inline __attribute__((always_inline)) void write_##name(uint64_t v) { __asm__ volatile("msr " #name ", %0" :: "r"(v)); }
#define KEEL_SYSREG_RW(name) KEEL_SYSREG_R(name) KEEL_SYSREG_W(name)
/* Registers the assembler may not know by name: accessors named `name`, encoded as `enc`. */
#define KEEL_SYSREG_R_ENC(name, enc) \
    static inline __attribute__((always_inline)) uint64_t read_##name(void) { \
        uint64_t v; __asm__ volatile("mrs %0, " #enc : "=r"(v)); return v; }
#define KEEL_SYSREG_W_ENC(name, enc) \
    static inline __attribute__((always_inline)) void write_##name(uint64_t v) { __asm__ volatile("msr " #enc ", %0" :: "r"(v)); }

/* EL2 control */
KEEL_SYSREG_R(CurrentEL)
KEEL_SYSREG_R(mpidr_el1)
KEEL_SYSREG_R(midr_el1)
KEEL_SYSREG_RW(hcr_el2)
KEEL_SYSREG_RW(mdcr_el2)
KEEL_SYSREG_RW(cptr_el2)
KEEL_SYSREG_RW(cnthctl_el2)
KEEL_SYSREG_RW(cntvoff_el2)
KEEL_SYSREG_RW(vtcr_el2)
KEEL_SYSREG_RW(vttbr_el2)
KEEL_SYSREG_RW(vpidr_el2)
KEEL_SYSREG_RW(vmpidr_el2)
KEEL_SYSREG_RW(tpidr_el2)
KEEL_SYSREG_R(sctlr_el2)
KEEL_SYSREG_RW(vbar_el2)
/* Fine-grained traps (FEAT_FGT, FEAT_FGT2) and HCRX_EL2 (FEAT_HCX): UNDEFINED without the
 * feature, so written only where the ID registers say they exist (EL2.configureTraps). */
KEEL_SYSREG_W_ENC(hfgrtr_el2, S3_4_C1_C1_4)
KEEL_SYSREG_W_ENC(hfgwtr_el2, S3_4_C1_C1_5)
KEEL_SYSREG_W_ENC(hfgitr_el2, S3_4_C1_C1_6)
KEEL_SYSREG_W_ENC(hdfgrtr_el2, S3_4_C3_C1_4)
KEEL_SYSREG_W_ENC(hdfgwtr_el2, S3_4_C3_C1_5)
KEEL_SYSREG_W_ENC(hafgrtr_el2, S3_4_C3_C1_6)
KEEL_SYSREG_W_ENC(hdfgrtr2_el2, S3_4_C3_C1_0)
KEEL_SYSREG_W_ENC(hdfgwtr2_el2, S3_4_C3_C1_1)
KEEL_SYSREG_W_ENC(hfgrtr2_el2, S3_4_C3_C1_2)
KEEL_SYSREG_W_ENC(hfgwtr2_el2, S3_4_C3_C1_3)
KEEL_SYSREG_W_ENC(hfgitr2_el2, S3_4_C3_C1_7)
KEEL_SYSREG_W_ENC(hcrx_el2, S3_4_C1_C2_2)

/* Exit syndrome */
KEEL_SYSREG_R(esr_el2)
KEEL_SYSREG_R(far_el2)
KEEL_SYSREG_R(hpfar_el2)

/* Guest EL1 state that Keel writes when it injects an exception or resets a vCPU */
KEEL_SYSREG_RW(sctlr_el1)
KEEL_SYSREG_RW(vbar_el1)
KEEL_SYSREG_RW(esr_el1)
KEEL_SYSREG_RW(far_el1)
KEEL_SYSREG_RW(elr_el1)
KEEL_SYSREG_RW(spsr_el1)
KEEL_SYSREG_R(actlr_el1)
/* GCSCR_EL1 (FEAT_GCS only): its EXLOCKEN decides PSTATE.EXLOCK on exception entry. */
KEEL_SYSREG_R_ENC(gcscr_el1, S3_0_C2_C5_0)
/* The guest's timers (it owns both; Keel only stops them when a vCPU restarts) */
KEEL_SYSREG_RW(cntv_ctl_el0)
KEEL_SYSREG_RW(cntp_ctl_el0)

/* Identification */
KEEL_SYSREG_R(id_aa64mmfr0_el1)
KEEL_SYSREG_R(id_aa64isar1_el1)
KEEL_SYSREG_R(pmcr_el0)
KEEL_SYSREG_R(cntfrq_el0)
KEEL_SYSREG_R(cntpct_el0)
KEEL_SYSREG_R(cntvct_el0)
/* The EL2 physical timer (CNTHP, PPI 26): Keel's own alarm (a contended lock's sleep, a vCPU
 * parked on a forwarded MMIO access). */
KEEL_SYSREG_W(cnthp_tval_el2)
KEEL_SYSREG_W(cnthp_ctl_el2)
/* An IRQ pending at this CPU (bit 7; at EL2 the physical line): a CPU waiting in WFE, which a
 * masked interrupt does not end, looks here on each wake-up. */
KEEL_SYSREG_R(isr_el1)

static inline void keel_isb(void) { __asm__ volatile("isb" ::: "memory"); }
static inline void keel_dsb_ish(void) { __asm__ volatile("dsb ish" ::: "memory"); }
static inline void keel_dsb_ishst(void) { __asm__ volatile("dsb ishst" ::: "memory"); }
static inline void keel_wfi(void) { __asm__ volatile("wfi"); }
static inline void keel_wfe(void) { __asm__ volatile("wfe"); }
static inline void keel_yield(void) { __asm__ volatile("yield"); }
/*
 * Clean [start, start + size) to the point of coherency, then invalidate the instruction
 * caches: what Keel copied into a VM's RAM must be visible to a guest that starts with its MMU
 * and caches off (non-cacheable accesses).
 */
static inline void keel_clean_dcache_range(uintptr_t start, uintptr_t size) {
    uint64_t ctr;
    __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
    uintptr_t line = (uintptr_t)4 << ((ctr >> 16) & 0xF);
    for (uintptr_t p = start & ~(line - 1); p < start + size; p += line) {
        __asm__ volatile("dc cvac, %0" :: "r"(p) : "memory");
    }
    __asm__ volatile("dsb ish; ic ialluis; dsb ish; isb" ::: "memory");
}
/*
 * Clean and invalidate the line holding `va` to the point of coherency, wait for it (dsb sy),
 * then wake CPUs in WFE: how a spin-table release reaches a CPU that polls with its MMU and
 * caches off (as Linux's smp_spin_table.c does).
 */
static inline void keel_clean_to_poc_and_sev(uintptr_t va) {
    __asm__ volatile("dc civac, %0; dsb sy; sev" :: "r"(va) : "memory");
}
/* Invalidate all stage-1 and stage-2 EL1&0 TLB entries of the current VMID, all CPUs. */
static inline void keel_tlbi_vmalls12e1is(void) { __asm__ volatile("tlbi vmalls12e1is" ::: "memory"); }

/*
 * SMC to the firmware below Keel (on QEMU virt: QEMU's PSCI). SMCCC: arguments in x0-x3,
 * result in x0; x0-x17 may be clobbered.
 */
static inline uint64_t keel_smc(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3) {
    register uint64_t x0 __asm__("x0") = fn;
    register uint64_t x1 __asm__("x1") = a1;
    register uint64_t x2 __asm__("x2") = a2;
    register uint64_t x3 __asm__("x3") = a3;
    __asm__ volatile("smc #0"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                     :
                     : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
                       "x15", "x16", "x17", "memory");
    return x0;
}

/*
 * Read one register of the feature ID space (op0=3, op1=0, CRn=0, CRm=1..7), which HCR_EL2.TID3
 * traps. Every encoding in it is either a register or reserved RAZ, so each read is safe.
 * index = CRm * 8 + op2.
 */
#define KEEL_ID_CASE(crm, op2) \
    case (crm) * 8 + (op2): __asm__ volatile("mrs %0, S3_0_C0_C" #crm "_" #op2 : "=r"(v)); break;
#define KEEL_ID_ROW(crm) \
    KEEL_ID_CASE(crm, 0) KEEL_ID_CASE(crm, 1) KEEL_ID_CASE(crm, 2) KEEL_ID_CASE(crm, 3) \
    KEEL_ID_CASE(crm, 4) KEEL_ID_CASE(crm, 5) KEEL_ID_CASE(crm, 6) KEEL_ID_CASE(crm, 7)

static inline uint64_t keel_read_id_reg(unsigned index) {
    uint64_t v = 0;
    switch (index) {
        KEEL_ID_ROW(1) KEEL_ID_ROW(2) KEEL_ID_ROW(3) KEEL_ID_ROW(4)
        KEEL_ID_ROW(5) KEEL_ID_ROW(6) KEEL_ID_ROW(7)
        default: break;
    }
    return v;
}

#endif
