/* Hostile guest, SMC and HVC (issue 6), on two vCPUs (keel run --smp 2):
 *   - 4096 calls of xorshift function ids and arguments, alternating HVC and SMC, covering
 *     the SMCCC owner ranges (arch, CPU, SiP, OEM, standard secure and hypervisor, vendor
 *     hypervisor, trusted apps and OSes), fast and yielding, SMC32 and SMC64, with Keel's own
 *     function numbers kept out (PSCI below 0x100, the UID and revision at 0xFFxx): each must
 *     return NOT_SUPPORTED with x4-x17 preserved (SMCCC 1.1);
 *   - HVC and SMC with non-zero immediates;
 *   - PSCI with bad arguments: CPU_ON to vCPUs that do not exist, MPIDRs with high bits, the
 *     caller itself (ALREADY_ON), entry points outside RAM or unaligned; AFFINITY_INFO and
 *     CPU_SUSPEND with garbage;
 *   - CPU_ON of vCPU 1 at an IPA with no code (where Keel sits physically; the VM's RAM
 *     there is zeros): it storms on UNDEFs and aborts while vCPU 0 carries on and powers the
 *     VM off. */
#include "attack.h"
#include "xorshift.h"

#define PSCI_CPU_ON_32      0x84000003
#define PSCI_CPU_SUSPEND_64 0xC4000001
#define PSCI_AFFINITY_INFO  0xC4000004
#define CALLS               4096

.macro CALL label, fn, a1=0, a2=0, a3=0
    MOV64   x1, \a1
    MOV64   x2, \a2
    MOV64   x3, \a3
    MOV64   x0, \fn
    hvc     #0
    mov     x20, x0
    PRINT_KV "hvc: \label=", x20
.endm

/* x4-x17 = x22 + 4 ... x22 + 17. */
.macro FILL_PRESERVED
    add     x4, x22, #4
    add     x5, x22, #5
    add     x6, x22, #6
    add     x7, x22, #7
    add     x8, x22, #8
    add     x9, x22, #9
    add     x10, x22, #10
    add     x11, x22, #11
    add     x12, x22, #12
    add     x13, x22, #13
    add     x14, x22, #14
    add     x15, x22, #15
    add     x16, x22, #16
    add     x17, x22, #17
.endm

/* x23 |= whatever of x4-x17 changed. */
.macro CHECK_PRESERVED
    .irp n, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17
    add     x0, x22, #\n
    eor     x0, x0, x\n
    orr     x23, x23, x0
    .endr
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "hvc: start\n"
    MOV64   x22, 0x2545F4914F6CDD1D     /* seed */
    mov     x24, #0                     /* calls */
    mov     x25, #0                     /* results other than NOT_SUPPORTED */
    mov     x23, #0                     /* preserved registers that changed */
    adrp    x9, exc_count
    ldr     x19, [x9, :lo12:exc_count]

1:  XORSHIFT x22, x0
    /* Function id: bit 31 fast, bit 30 SMC64, owner [29:24] = the random byte mod 64,
     * number [15:0] random but in 0x100-0xFEFF; bits [23:16] random (must be zero, SMCCC:
     * still not a call Keel knows). */
    and     x26, x22, #0xFFFFFFFF
    and     x0, x26, #0xFFFF
    cmp     x0, #0x100
    b.lo    2f
    mov     x1, #0xFF00
    cmp     x0, x1
    b.lo    3f
2:  eor     x26, x26, #0x1000
3:  XORSHIFT x22, x0
    mov     x1, x22
    lsr     x2, x22, #3
    lsr     x3, x22, #7
    FILL_PRESERVED
    mov     x0, x26
    orr     x0, x0, x22, lsl #32        /* garbage above w0: ignored */
    tbnz    x24, #0, 4f
    hvc     #0
    b       5f
4:  smc     #0
5:  cmn     x0, #1
    cinc    x25, x25, ne
    CHECK_PRESERVED
    add     x24, x24, #1
    cmp     x24, #CALLS
    b.lo    1b
    PRINT_KV "hvc: random_calls=", x24
    PRINT_KV "hvc: random_not_supported_mismatch=", x25
    PRINT_KV "hvc: random_clobbered=", x23
    adrp    x9, exc_count
    ldr     x0, [x9, :lo12:exc_count]
    sub     x20, x0, x19
    PRINT_KV "hvc: random_exceptions=", x20

    /* Known functions behind non-zero immediates: not SMCCC, so NOT_SUPPORTED. */
    MOV64   x0, PSCI_VERSION
    hvc     #0xFFFF
    mov     x20, x0
    PRINT_KV "hvc: hvc_imm_ffff=", x20
    MOV64   x0, PSCI_VERSION
    smc     #0x1234
    mov     x20, x0
    PRINT_KV "hvc: smc_imm_1234=", x20
    MOV64   x0, 0xFFFFFFFF84000000      /* PSCI_VERSION with garbage above w0 */
    hvc     #0
    mov     x20, x0
    PRINT_KV "hvc: version_high_garbage=", x20

    /* PSCI with bad arguments. */
    adrp    x27, secondary_start
    add     x27, x27, :lo12:secondary_start
    CALL    "cpu_on_vcpu7", PSCI_CPU_ON_64, 7, 0x40000000
    CALL    "cpu_on_aff1", PSCI_CPU_ON_64, 0x100, 0x40000000
    CALL    "cpu_on_aff3", PSCI_CPU_ON_64, 0xFF00000000, 0x40000000
    CALL    "cpu_on_bit31", PSCI_CPU_ON_64, 0x80000001, 0x40000000
    CALL    "cpu_on_all_ones", PSCI_CPU_ON_64, 0xFFFFFFFFFFFFFFFF, 0x40000000
    CALL    "cpu_on_self", PSCI_CPU_ON_64, 0, 0x40000000
    CALL    "cpu_on_below_ram", PSCI_CPU_ON_64, 1, 0x3FFFFFFC
    CALL    "cpu_on_past_ram", PSCI_CPU_ON_64, 1, 0x50000000
    CALL    "cpu_on_bundle", PSCI_CPU_ON_64, 1, 0x60000000
    CALL    "cpu_on_uart", PSCI_CPU_ON_64, 1, 0x09000000
    CALL    "cpu_on_unaligned", PSCI_CPU_ON_64, 1, 0x40000002
    CALL    "cpu_on_huge", PSCI_CPU_ON_64, 1, 0xFFFFFFFFFFFFF000
    CALL    "cpu_on32_high_entry", PSCI_CPU_ON_32, 1, 0x130000000   /* SMC32: 0x30000000 */
    CALL    "affinity_garbage", PSCI_AFFINITY_INFO, 0xDEADBEEF, 0
    CALL    "affinity_level9", PSCI_AFFINITY_INFO, 0, 9
    CALL    "affinity_vcpu1_off", PSCI_AFFINITY_INFO, 1, 0
    CALL    "suspend_powerdown_bad_entry", PSCI_CPU_SUSPEND_64, 0x10000, 0x30000000
    CALL    "suspend_powerdown_unaligned", PSCI_CPU_SUSPEND_64, 0x10000, 0x40000002
    CALL    "suspend_standby_garbage", PSCI_CPU_SUSPEND_64, 0xFFFEFFFF, 0xDEADBEEF
    CALL    "features_garbage", PSCI_FEATURES, 0xDEADBEEF
    CALL    "arch_features_garbage", SMCCC_ARCH_FEATURES, 0xFFFFFFFF

    /* vCPU 1 at an address with nothing but zeros behind it: UDF #0 at EL1 with whatever
     * VBAR_EL1 it has, which leads it into aborts. It is its own problem; vCPU 0 keeps
     * going and powers the VM off with vCPU 1 still storming. */
    /* Nothing printed until vCPU 1 is well into its storm: Keel's reports of its first
     * faults would land in the middle of this guest's lines (one trapped store per byte). */
    MOV64   x0, PSCI_CPU_ON_64
    mov     x1, #1
    MOV64   x2, 0x40080000
    hvc     #0
    mov     x26, x0
    MOV64   x0, PSCI_CPU_ON_64
    mov     x1, #1
    MOV64   x2, 0x40080000
    hvc     #0
    mov     x27, x0
    MOV64   x21, 200000               /* bounded: a test failure, not a hang */
6:  wfe                                 /* Keel yields: let CPU 1 pick it up */
    MOV64   x0, PSCI_AFFINITY_INFO
    mov     x1, #1
    mov     x2, #0
    hvc     #0
    cbz     x0, 7f                      /* ON */
    subs    x21, x21, #1
    b.ne    6b
7:  mov     x28, x0
    MOV64   x21, 20000                  /* trapped calls: vCPU 1 runs meanwhile */
8:  MOV64   x0, PSCI_VERSION
    hvc     #0
    subs    x21, x21, #1
    b.ne    8b
    PRINT_KV "hvc: cpu_on_keel_ipa=", x26
    PRINT_KV "hvc: cpu_on_again=", x27
    PRINT_KV "hvc: affinity_vcpu1_storming=", x28

    PRINT   "hvc: still running\n"
    ldp     x29, x30, [sp], #16
    ret
