/* Round-trip micro-benchmarks, measured by the guest with the virtual counter. Under QEMU
 * -icount shift=0 every instruction (guest and hypervisor alike) is one nanosecond of virtual
 * time, so the figures repeat exactly and ticks * (1e9 / CNTFRQ) is instructions.
 * Output: "bench: <name> <iterations> <ticks>" per figure, then "bench: cntfrq <Hz>". */
#include "guest.h"

#define ITERATIONS 4096

/* Time ITERATIONS runs of the body; print the result under `name`. Body may use x0-x7 (through
 * x19 Keel takes an exit as light, keel/context.h; the figures are for those). */
.macro BENCH name
    isb
    mrs     x20, cntvct_el0
    mov     x21, #ITERATIONS
1:
.endm
.macro BENCH_END name
    subs    x21, x21, #1
    b.ne    1b
    isb
    mrs     x22, cntvct_el0
    sub     x22, x22, x20
    PRINT   "bench: \name 4096 "
    mov     x0, x22
    bl      puthex
    bl      newline
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!

    BENCH
    nop
    BENCH_END loop_baseline

    MOV64   x19, 0xC6001234              /* vendor hypervisor range, unknown: the null hypercall */
    BENCH
    mov     x0, x19
    hvc     #0
    BENCH_END hvc_null

    MOV64   x19, PSCI_VERSION
    BENCH
    mov     x0, x19
    hvc     #0
    BENCH_END hvc_psci_version

    ldr     x19, =UART_BASE
    BENCH
    ldr     w0, [x19, #0x18]            /* emulated UART FR */
    BENCH_END mmio_uart_read

    BENCH
    str     wzr, [x19, #0x38]           /* emulated UART IMSC */
    BENCH_END mmio_uart_write

    ldr     x19, =GICD_BASE
    BENCH
    ldr     w0, [x19, #0x004]           /* emulated GICD_TYPER */
    BENCH_END mmio_gicd_read

    ldr     w4, [x19, #0x420]           /* GICD_IPRIORITYR8 (SPIs 32-35), written back unchanged */
    BENCH
    str     w4, [x19, #0x420]
    BENCH_END mmio_gicd_write

    ldr     x19, =0x080A0000            /* vCPU 0's redistributor (GICv3) */
    BENCH
    ldr     w0, [x19, #0x008]           /* emulated GICR_TYPER, low word */
    BENCH_END mmio_gicr_read

    BENCH
    mrs     x0, id_aa64dfr0_el1         /* trapped and sanitized */
    BENCH_END sysreg_id_read

    mrs     x19, cntfrq_el0
    PRINT_KV "bench: cntfrq ", x19
    ldp     x29, x30, [sp], #16
    ret
