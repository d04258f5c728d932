/*
 * Shared definitions of Keel's bare-metal test guests (AArch64 assembly, EL1, MMU off).
 *
 * Calling convention of the lib functions: arguments in x0-x1; they may clobber x0-x15 and x30,
 * and preserve x16-x29. Test programs keep their values in x19-x28.
 */
#ifndef KEEL_GUEST_H
#define KEEL_GUEST_H

#define UART_BASE        0x09000000   /* the VM's emulated PL011 */
#define GICD_BASE        0x08000000   /* the VM's emulated GIC distributor */
#define SMCCC_VERSION    0x80000000
#define SMCCC_ARCH_FEATURES 0x80000001
#define KEEL_CALL_UID    0x8600FF01
#define PSCI_VERSION     0x84000000
#define PSCI_CPU_ON_64   0xC4000003
#define PSCI_SYSTEM_OFF  0x84000008
#define PSCI_FEATURES    0x8400000A

/* x0 = the address of a NUL-terminated string placed in .rodata. */
.macro ADR_STR str
    .pushsection .rodata.str, "aMS", @progbits, 1
9999: .asciz "\str"
    .popsection
    adrp    x0, 9999b
    add     x0, x0, :lo12:9999b
.endm

/* Print a string. */
.macro PRINT str
    ADR_STR "\str"
    bl      puts
.endm

/* Print "label" then the register in hex and a newline. */
.macro PRINT_KV str, reg
    mov     x1, \reg
    ADR_STR "\str"
    bl      print_kv
.endm

/* Load a 64-bit constant. */
.macro MOV64 reg, value
    ldr     \reg, =\value
.endm

/* x0-x30 as they are into a 256-byte frame pushed on the stack (xN at [sp, #8 * N]): what an
 * access left in every register, for a check of them all. */
.macro PUSH_ALL_REGS
    sub     sp, sp, #256
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    str     x30, [sp, #240]
.endm

/* The next synchronous exception resumes at `label` instead of the next instruction. */
.macro RESUME_AT label
    adr     x9, \label
    adrp    x10, exc_resume
    str     x9, [x10, :lo12:exc_resume]
.endm

#endif
