/*
 * GICv3 CPU interface (ICC_*) and virtualization control (ICH_*) system registers, one mrs/msr
 * each. Only touched when the board's GIC is a v3 (ID_AA64PFR0_EL1.GIC says so): on a v2 board
 * these encodings are UNDEFINED.
 */
#ifndef KEEL_GIC_H
#define KEEL_GIC_H
#include "keel/sysreg.h"

KEEL_SYSREG_RW(icc_sre_el2)
KEEL_SYSREG_RW(icc_pmr_el1)
KEEL_SYSREG_RW(icc_bpr1_el1)
KEEL_SYSREG_RW(icc_ctlr_el1)
KEEL_SYSREG_RW(icc_igrpen1_el1)
KEEL_SYSREG_R(icc_iar1_el1)
KEEL_SYSREG_W(icc_eoir1_el1)
KEEL_SYSREG_W(icc_dir_el1)
KEEL_SYSREG_W(icc_sgi1r_el1)
KEEL_SYSREG_RW(ich_hcr_el2)
KEEL_SYSREG_R(ich_vtr_el2)
KEEL_SYSREG_R(ich_misr_el2)
KEEL_SYSREG_R(ich_elrsr_el2)
KEEL_SYSREG_RW(ich_vmcr_el2)
KEEL_SYSREG_RW(ich_ap0r0_el2)
KEEL_SYSREG_RW(ich_ap1r0_el2)
/* Present only with 6 (ICH_AP<g>R1) or 7 (R1-R3) preemption bits: ICH_VTR_EL2.PREbits. */
KEEL_SYSREG_W(ich_ap0r1_el2)
KEEL_SYSREG_W(ich_ap0r2_el2)
KEEL_SYSREG_W(ich_ap0r3_el2)
KEEL_SYSREG_W(ich_ap1r1_el2)
KEEL_SYSREG_W(ich_ap1r2_el2)
KEEL_SYSREG_W(ich_ap1r3_el2)
KEEL_SYSREG_R(id_aa64pfr0_el1)

#define KEEL_ICH_LR_CASE(n) \
    case n: if (write) __asm__ volatile("msr ich_lr" #n "_el2, %0" :: "r"(value)); \
            else __asm__ volatile("mrs %0, ich_lr" #n "_el2" : "=r"(value)); break;

/* ICH_LR<n>_EL2, n < 16: read (write = 0) or write. */
static inline __attribute__((always_inline)) uint64_t keel_ich_lr(unsigned n, int write, uint64_t value) {
    switch (n) {
        KEEL_ICH_LR_CASE(0) KEEL_ICH_LR_CASE(1) KEEL_ICH_LR_CASE(2) KEEL_ICH_LR_CASE(3)
        KEEL_ICH_LR_CASE(4) KEEL_ICH_LR_CASE(5) KEEL_ICH_LR_CASE(6) KEEL_ICH_LR_CASE(7)
        KEEL_ICH_LR_CASE(8) KEEL_ICH_LR_CASE(9) KEEL_ICH_LR_CASE(10) KEEL_ICH_LR_CASE(11)
        KEEL_ICH_LR_CASE(12) KEEL_ICH_LR_CASE(13) KEEL_ICH_LR_CASE(14) KEEL_ICH_LR_CASE(15)
        default: break;
    }
    return value;
}
static inline uint64_t keel_read_ich_lr(unsigned n) { return keel_ich_lr(n, 0, 0); }
static inline void keel_write_ich_lr(unsigned n, uint64_t v) { (void)keel_ich_lr(n, 1, v); }

#endif
