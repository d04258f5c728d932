/*
 * Keel boot stub: the Linux arm64 Image header, then the least that must happen before Swift
 * can run. QEMU -kernel, U-Boot booti and the Raspberry Pi firmware all enter here with the MMU
 * off and the DTB address in x0.
 *
 *   1. zero BSS (stacks, page tables and Swift globals live there)
 *   2. check the exception level: Keel needs EL2; anything else prints why and parks
 *   3. build the EL2 identity map, W^X (below)
 *   4. per CPU: stack, VBAR_EL2, MAIR/TCR/TTBR0_EL2, MMU and caches on, SCTLR_EL2.WXN set
 *   5. keel_main(dtb, cpu) in Swift
 *
 * The EL2 map. Nothing at EL2 is both writable and executable, and only Keel's text executes:
 *   - the 1 GiB block holding Keel (KEEL_EL2_NORMAL_SHIFT): Normal write-back memory, read-write
 *     and execute-never, in 2 MiB blocks; it holds Keel, every VM's RAM and the boot bundle,
 *     which Keel writes (images copied in at boot and SYSTEM_RESET, stage-2 tables);
 *   - the 2 MiB block holding Keel's image, in 4 KiB pages: text read-only and executable,
 *     rodata (with the build id and GOT) read-only and execute-never, the rest read-write and
 *     execute-never (the linker script aligns the boundaries to 4 KiB);
 *   - every other 1 GiB block Device-nGnRnE, read-write, execute-never.
 * SCTLR_EL2.WXN makes any writable page execute-never as well, whatever its descriptor says.
 */
#include "keel/config.h"

/* Stage-1 descriptors of the EL2 map (Arm ARM D8.3): valid bit 0; bit 1 set for a table
 * (levels 1-2) or a page (level 3), clear for a block; AttrIdx [4:2] indexes MAIR_EL2 below;
 * AP [7:6]: bit 7 read-only, bit 6 RES1 (a regime with one privilege level); SH [9:8]; AF [10];
 * XN [54]. */
#define EL2_TABLE         3
#define EL2_PAGE          3
#define EL2_BLOCK         1
#define EL2_AF            (1 << 10)
#define EL2_XN            (1 << 54)
#define EL2_AP_RW         (1 << 6)
#define EL2_AP_RO         (3 << 6)
#define EL2_NORMAL        ((1 << 2) | (3 << 8) | EL2_AF)
#define EL2_DEVICE        ((0 << 2) | EL2_AF)
#define EL2_BLOCK_DEVICE  (EL2_DEVICE | EL2_AP_RW | EL2_XN | EL2_BLOCK)
#define EL2_BLOCK_RAM     (EL2_NORMAL | EL2_AP_RW | EL2_XN | EL2_BLOCK)
#define EL2_PAGE_TEXT     (EL2_NORMAL | EL2_AP_RO | EL2_PAGE)
#define EL2_PAGE_RODATA   (EL2_NORMAL | EL2_AP_RO | EL2_XN | EL2_PAGE)
#define EL2_PAGE_RAM      (EL2_NORMAL | EL2_AP_RW | EL2_XN | EL2_PAGE)
/* MAIR_EL2: attr0 Device-nGnRnE, attr1 Normal inner/outer write-back RW-allocate. */
#define EL2_MAIR          0xFF00
/* TCR_EL2: T0SZ=25 (39-bit VA, walk starts at level 1), IRGN0/ORGN0 write-back (01),
 * SH0 inner shareable, TG0 4 KiB, bits 23 and 31 RES1. PS [18:16] is filled from PARange. */
#define EL2_TCR           ((25) | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (1 << 31))
/* SCTLR_EL2: RES1 bits, M (MMU), C (data cache), SA (SP alignment check), I (icache),
 * WXN (writable means execute-never). */
#define EL2_SCTLR_RES1    0x30C50830
#define EL2_SCTLR         (EL2_SCTLR_RES1 | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 12) | (1 << 19))

    .section .text.head, "ax"
    .globl _start
_start:
    b       primary_entry           /* code0 */
    .long   0                       /* code1 */
    .quad   KEEL_TEXT_OFFSET        /* text_offset */
    .quad   _keel_image_size        /* image_size, BSS included */
    .quad   0x2                     /* flags: little-endian, 4 KiB pages, 2 MiB base near DRAM */
    .quad   _start                  /* res2: Keel's link address; keel run checks it against the board */
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

/*
 * A secondary CPU released from a spin table (the Raspberry Pi's firmware, QEMU's raspi boot
 * stub): at EL2, MMU off, x0 = 0, not a context id. Keel released only CPUs whose MPIDR is their
 * index (MachineCheck), so Aff0 is the index; anything else (a CPU Keel never released, sent
 * here by a wrong table) parks rather than take another CPU's stack.
 */
    .globl keel_spin_table_entry
keel_spin_table_entry:
    mrs     x0, mpidr_el1
    ubfx    x1, x0, #8, #16         /* Aff1, Aff2 */
    ubfx    x2, x0, #32, #8         /* Aff3 */
    orr     x1, x1, x2
    cbnz    x1, park
    and     x0, x0, #0xff
    cmp     x0, #KEEL_MAX_CPUS
    b.hs    park
    b       keel_secondary_entry

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
    /* Level 1: 512 blocks of 1 GiB, Device; the one holding Keel points at the level-2 table. */
    adrp    x0, keel_el2_l1
    adrp    x1, _start
    lsr     x1, x1, #KEEL_EL2_NORMAL_SHIFT   /* index of the 1 GiB block holding Keel */
    ldr     x3, =EL2_BLOCK_DEVICE
    mov     x2, #0
1:  orr     x5, x3, x2, lsl #30
    str     x5, [x0, x2, lsl #3]
    add     x2, x2, #1
    cmp     x2, #512
    b.lo    1b
    adrp    x4, keel_el2_l2
    orr     x5, x4, #EL2_TABLE
    str     x5, [x0, x1, lsl #3]

    /* Level 2: that 1 GiB as 512 blocks of 2 MiB, RAM; the one holding Keel points at the
     * level-3 table. */
    lsl     x1, x1, #KEEL_EL2_NORMAL_SHIFT   /* its base address */
    ldr     x3, =EL2_BLOCK_RAM
    orr     x3, x3, x1
    mov     x2, #0
2:  orr     x5, x3, x2, lsl #21
    str     x5, [x4, x2, lsl #3]
    add     x2, x2, #1
    cmp     x2, #512
    b.lo    2b
    adrp    x6, _start
    ubfx    x7, x6, #21, #9                   /* index of Keel's 2 MiB in the level-2 table */
    adrp    x8, keel_el2_l3
    orr     x5, x8, #EL2_TABLE
    str     x5, [x4, x7, lsl #3]

    /* Level 3: Keel's 2 MiB as 512 pages of 4 KiB. Below Keel and from the end of rodata on:
     * RAM; text: read-only, executable; rodata: read-only. */
    lsr     x9, x6, #21
    lsl     x9, x9, #21                       /* the 2 MiB block's base */
    adrp    x10, _keel_text_end
    adrp    x11, _keel_ro_end
    ldr     x12, =EL2_PAGE_TEXT
    ldr     x13, =EL2_PAGE_RODATA
    ldr     x14, =EL2_PAGE_RAM
    mov     x2, #0
3:  add     x15, x9, x2, lsl #12              /* the page's address */
    mov     x5, x14
    cmp     x15, x11
    csel    x5, x13, x5, lo                   /* below the end of rodata: read-only */
    cmp     x15, x10
    csel    x5, x12, x5, lo                   /* below the end of text: executable */
    cmp     x15, x6
    csel    x5, x14, x5, lo                   /* below Keel: RAM again */
    orr     x5, x5, x15
    str     x5, [x8, x2, lsl #3]
    add     x2, x2, #1
    cmp     x2, #512
    b.lo    3b
    dsb     sy
    ret

el2_cpu_init:
    msr     tpidr_el2, xzr          /* no vCPU yet: a fault now is not any VM's (Containment) */
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
keel_el2_l2:
    .space  4096
keel_el2_l3:
    .space  4096
    .balign 16
    .globl keel_stacks
keel_stacks:
    .space  KEEL_MAX_CPUS * KEEL_STACK_SIZE
    .size   keel_stacks, . - keel_stacks
