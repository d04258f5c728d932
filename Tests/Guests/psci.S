/* PSCI 1.1 with two vCPUs (keel run --smp 2): every function Keel implements, its error
 * returns, and a secondary vCPU started, stopped and started again. Two exactly: the
 * "cpu_on32(2)" check expects vCPU 2 not to exist; with --smp 4 it starts vCPU 2 at 0x40000000,
 * which runs this guest's boot again beside vCPU 0 and the guest may hang (Keel runs on). */
#include "guest.h"

#define PSCI_CPU_OFF        0x84000002
#define PSCI_CPU_ON_32      0x84000003
#define PSCI_AFFINITY_INFO  0xC4000004
#define PSCI_CPU_SUSPEND    0xC4000001
#define PSCI_MIGRATE_INFO   0x84000006
#define PSCI_SYSTEM_RESET   0x84000009

/* x0 = PSCI call result of (fn, a1, a2, a3) over HVC. */
.macro CALL fn, a1=0, a2=0, a3=0
    MOV64   x1, \a1
    MOV64   x2, \a2
    MOV64   x3, \a3
    MOV64   x0, \fn
    hvc     #0
.endm

.macro CHECK label, fn, a1=0, a2=0, a3=0
    CALL    \fn, \a1, \a2, \a3
    mov     x19, x0
    PRINT_KV "psci: \label=", x19
.endm

/* Wait until AFFINITY_INFO(1) returns `state`. */
.macro WAIT_CPU1 state
9:  CALL    PSCI_AFFINITY_INFO, 1, 0
    cmp     x0, #\state
    b.ne    9b
.endm

/* Wait until the word at `label` equals `value`. */
.macro WAIT_WORD label, value
    adrp    x9, \label
8:  ldr     x10, [x9, :lo12:\label]
    cmp     x10, #\value
    b.ne    8b
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "psci: start\n"
    CHECK   "version", PSCI_VERSION
    CHECK   "features(cpu_on)", PSCI_FEATURES, PSCI_CPU_ON_64
    CHECK   "features(cpu_off)", PSCI_FEATURES, PSCI_CPU_OFF
    CHECK   "features(affinity_info)", PSCI_FEATURES, PSCI_AFFINITY_INFO
    CHECK   "features(cpu_suspend)", PSCI_FEATURES, PSCI_CPU_SUSPEND
    CHECK   "features(migrate_info_type)", PSCI_FEATURES, PSCI_MIGRATE_INFO
    CHECK   "features(smccc_version)", PSCI_FEATURES, SMCCC_VERSION
    CHECK   "features(system_reset)", PSCI_FEATURES, PSCI_SYSTEM_RESET
    CHECK   "features(system_off)", PSCI_FEATURES, PSCI_SYSTEM_OFF
    CHECK   "features(psci_features)", PSCI_FEATURES, PSCI_FEATURES
    CHECK   "features(cpu_freeze)", PSCI_FEATURES, 0x8400000B
    CHECK   "features(not_psci)", PSCI_FEATURES, 0x12345678
    CHECK   "smccc_version", SMCCC_VERSION
    CHECK   "smccc_arch_features(self)", SMCCC_ARCH_FEATURES, SMCCC_ARCH_FEATURES
    CHECK   "smccc_arch_features(workaround_1)", SMCCC_ARCH_FEATURES, 0x80008000
    CHECK   "unknown_psci", 0x8400001F
    CHECK   "migrate_info_type", PSCI_MIGRATE_INFO
    CHECK   "affinity_info(0)", PSCI_AFFINITY_INFO, 0, 0
    CHECK   "affinity_info(1)", PSCI_AFFINITY_INFO, 1, 0
    CHECK   "affinity_info(1,level1)", PSCI_AFFINITY_INFO, 1, 1
    CHECK   "affinity_info(9)", PSCI_AFFINITY_INFO, 9, 0
    CHECK   "cpu_on(9)", PSCI_CPU_ON_64, 9, 0x40000000, 0
    CHECK   "cpu_on(raw_mpidr)", PSCI_CPU_ON_64, 0x80000001, 0x40000000, 0
    CHECK   "cpu_on(bad_entry)", PSCI_CPU_ON_64, 1, 0x20000000, 0
    CHECK   "cpu_on(self)", PSCI_CPU_ON_64, 0, 0x40000000, 0
    CHECK   "cpu_on32(2)", PSCI_CPU_ON_32, 2, 0x40000000, 0
    CHECK   "cpu_suspend(standby)", PSCI_CPU_SUSPEND, 0, 0, 0

    /* Start vCPU 1 and wait until it has reported in. */
    ldr     x2, =secondary_start
    MOV64   x1, 1
    MOV64   x3, 0x1234
    MOV64   x0, PSCI_CPU_ON_64
    hvc     #0
    mov     x20, x0                     /* printed once vCPU 1 has finished printing */
    WAIT_WORD reported, 1
    PRINT_KV "psci: cpu_on(1)=", x20
    CHECK   "cpu_on(1,again)", PSCI_CPU_ON_64, 1, 0x40000000, 0
    CHECK   "affinity_info(1,running)", PSCI_AFFINITY_INFO, 1, 0
    bl      let_secondary_go
    WAIT_CPU1 1
    PRINT   "psci: cpu1 is off\n"

    /* And again: the same vCPU, a new context id. */
    ldr     x2, =secondary_start
    MOV64   x1, 1
    MOV64   x3, 0x5678
    MOV64   x0, PSCI_CPU_ON_64
    hvc     #0
    mov     x20, x0
    WAIT_WORD reported, 2
    PRINT_KV "psci: cpu_on(1,restart)=", x20
    bl      let_secondary_go
    WAIT_CPU1 1
    PRINT   "psci: cpu1 is off again\n"

    adrp    x1, exc_count
    ldr     x19, [x1, :lo12:exc_count]
    PRINT_KV "psci: exceptions=", x19
    PRINT   "psci: done\n"
    ldp     x29, x30, [sp], #16
    ret

let_secondary_go:
    adrp    x9, go
    mov     x10, #1
    str     x10, [x9, :lo12:go]
    dsb     sy
    ret

/* vCPU 1: report the context id and MPIDR, then wait for vCPU 0 before CPU_OFF. */
    .globl secondary_main
secondary_main:
    stp     x29, x30, [sp, #-16]!
    mov     x19, x0
    PRINT_KV "psci: cpu1 up, context=", x19
    mrs     x19, mpidr_el1
    PRINT_KV "psci: cpu1 mpidr=", x19
    adrp    x9, go
    str     xzr, [x9, :lo12:go]
    adrp    x9, reported
    ldr     x10, [x9, :lo12:reported]
    add     x10, x10, #1
    str     x10, [x9, :lo12:reported]
    dsb     sy
    WAIT_WORD go, 1
    ldp     x29, x30, [sp], #16
    ret

    .data
    .balign 8
reported:   .quad 0
go:         .quad 0
