/*
 * Keel boot stub: the Linux arm64 Image header, then the least that must happen before Swift
 * can run. QEMU -kernel, U-Boot booti and the Raspberry Pi firmware all enter here with the MMU
 * off and the DTB address in x0.
 *
 *   1. zero BSS (stacks, page tables and Swift globals live there)
 *   2. check the exception level: Keel needs EL2; anything else prints why and parks
 *   3. build the EL2 identity map: the 1 GiB block holding Keel is Normal write-back memory,
 *      every other block Device-nGnRnE and execute-never
 *   4. per CPU: stack, VBAR_EL2, MAIR/TCR/TTBR0_EL2, MMU and caches on
 *   5. keel_main(dtb, cpu) in Swift
 */
#include "keel/config.h"

/* Stage-1 block descriptors of the EL2 map (Arm ARM D8.3): type 01, AttrIdx [4:2], SH [9:8],
 * AF [10], XN [54]. AttrIdx indexes MAIR_EL2 below. */
#define EL2_BLOCK_NORMAL  ((1 << 2) | (3 << 8) | (1 << 10) | 1)
#define EL2_BLOCK_DEVICE  ((1 << 54) | (0 << 2) | (1 << 10) | 1)
/* MAIR_EL2: attr0 Device-nGnRnE, attr1 Normal inner/outer write-back RW-allocate. */
#define EL2_MAIR          0xFF00
/* TCR_EL2: T0SZ=25 (39-bit VA, walk starts at level 1), IRGN0/ORGN0 write-back (01),
 * SH0 inner shareable, TG0 4 KiB, bits 23 and 31 RES1. PS [18:16] is filled from PARange. */
#define EL2_TCR           ((25) | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (1 << 31))
/* SCTLR_EL2: RES1 bits, M (MMU), C (data cache), SA (SP alignment check), I (icache). */
#define EL2_SCTLR_RES1    0x30C50830
#define EL2_SCTLR         (EL2_SCTLR_RES1 | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 12))

    .section .text.head, "ax"
    .globl _start
_start:
    b       primary_entry           /* code0 */
    .long   0                       /* code1 */
    .quad   KEEL_TEXT_OFFSET        /* text_offset */
    .quad   _keel_image_size        /* image_size, BSS included */
    .quad   0x2                     /* flags: little-endian, 4 KiB pages, 2 MiB base near DRAM */
    .quad   0                       /* res2 */
    .quad   0                       /* res3 */
    .quad   0                       /* res4 */
    .ascii  "ARM\x64"               /* magic */
    .long   0                       /* res5 */

    .text
primary_entry:
    mov     x19, x0                 /* DTB address from the boot loader */

    /* 1. BSS: 16-byte aligned by the linker script; aligned stores only (MMU is off). */
    adrp    x0, _keel_bss_start
    add     x0, x0, :lo12:_keel_bss_start
    adrp    x1, _keel_bss_end
    add     x1, x1, :lo12:_keel_bss_end
1:  cmp     x0, x1
    b.hs    2f
    stp     xzr, xzr, [x0], #16
    b       1b
2:
    mov     x20, #0                 /* the boot CPU is Keel's CPU 0 */
    bl      set_cpu_stack

    /* 2. Exception level. */
    mrs     x0, CurrentEL
    lsr     x0, x0, #2
    cmp     x0, #2
    b.eq    3f
    bl      keel_wrong_el           /* Swift; prints with the MMU off and parks */
    b       park
3:
    /* 3. The EL2 identity map. */
    bl      build_el2_map
    /* 4. This CPU's EL2 state. */
    bl      el2_cpu_init
    /* 5. Swift. */
    mov     x0, x19
    mov     x1, x20
    bl      keel_main
park:
    wfe
    b       park

/*
 * A secondary CPU, started by the firmware's PSCI CPU_ON at EL2 with the MMU off and
 * x0 = the context id Keel passed: its CPU index. BSS and the page tables already exist.
 */
    .globl keel_secondary_entry
keel_secondary_entry:
    mov     x20, x0
    bl      set_cpu_stack
    mrs     x0, CurrentEL
    lsr     x0, x0, #2
    cmp     x0, #2
    b.ne    park
    bl      el2_cpu_init
    mov     x0, x20
    bl      keel_secondary_main
    b       park

/* keel_appended_bundle(): where `keel pack` puts the boot bundle after Keel's image (the linker
 * script's _keel_appended_bundle, 4 KiB aligned). */
    .globl keel_appended_bundle
keel_appended_bundle:
    adrp    x0, _keel_appended_bundle
    add     x0, x0, :lo12:_keel_appended_bundle
    ret

/* keel_image_start(): Keel's first byte (the linker script's _keel_start). */
    .globl keel_image_start
keel_image_start:
    adrp    x0, _keel_start
    add     x0, x0, :lo12:_keel_start
    ret

/* keel_switch_stack(top, fn, arg): sp = top, then fn(arg). */
    .globl keel_switch_stack
keel_switch_stack:
    mov     sp, x0
    mov     x0, x2
    br      x1

/* sp = keel_stacks + (x20 + 1) * KEEL_STACK_SIZE */
set_cpu_stack:
    adrp    x0, keel_stacks
    add     x0, x0, :lo12:keel_stacks
    add     x1, x20, #1
    mov     x2, #KEEL_STACK_SIZE
    madd    x0, x1, x2, x0
    mov     sp, x0
    ret

build_el2_map:
    adrp    x0, keel_el2_l1
    add     x0, x0, :lo12:keel_el2_l1
    adrp    x1, _start
    lsr     x1, x1, #30             /* index of the 1 GiB block holding Keel */
    ldr     x3, =EL2_BLOCK_DEVICE
    ldr     x4, =EL2_BLOCK_NORMAL
    mov     x2, #0
1:  cmp     x2, x1
    csel    x6, x4, x3, eq
    orr     x5, x6, x2, lsl #30
    str     x5, [x0, x2, lsl #3]
    add     x2, x2, #1
    cmp     x2, #512
    b.lo    1b
    dsb     sy
    ret

el2_cpu_init:
    adrp    x0, keel_vectors
    add     x0, x0, :lo12:keel_vectors
    msr     vbar_el2, x0
    ldr     x0, =EL2_MAIR
    msr     mair_el2, x0
    mrs     x1, id_aa64mmfr0_el1
    and     x1, x1, #0xF            /* PARange */
    cmp     x1, #5
    mov     x2, #5
    csel    x1, x1, x2, ls          /* 52-bit output would need LPA2 descriptors */
    ldr     x0, =EL2_TCR
    orr     x0, x0, x1, lsl #16
    msr     tcr_el2, x0
    adrp    x0, keel_el2_l1
    msr     ttbr0_el2, x0
    isb
    tlbi    alle2
    ic      iallu
    dsb     sy
    isb
    ldr     x0, =EL2_SCTLR
    msr     sctlr_el2, x0
    isb
    ret

    .bss
    .balign 4096
    .globl keel_el2_l1
keel_el2_l1:
    .space  4096
    .balign 16
    .globl keel_stacks
keel_stacks:
    .space  KEEL_MAX_CPUS * KEEL_STACK_SIZE
    .size   keel_stacks, . - keel_stacks
