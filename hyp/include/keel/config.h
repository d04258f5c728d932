/* Build-time limits of the firmware, shared by the assembly and Swift. */
#ifndef KEEL_CONFIG_H
#define KEEL_CONFIG_H

/* Physical CPUs Keel can run on (per-CPU stacks are reserved for each). */
#define KEEL_MAX_CPUS 8
/* Stack per physical CPU. */
#define KEEL_STACK_SIZE 0x8000
/* Image header: offset from a 2 MiB aligned DRAM base; must match the board's textOffset. */
#ifndef KEEL_TEXT_OFFSET
#define KEEL_TEXT_OFFSET 0x80000
#endif
/* The EL2 map makes the 1 << KEEL_EL2_NORMAL_SHIFT bytes (1 GiB) aligned block holding Keel
 * Normal memory (hyp/boot/start.S); everything else is Device. Every VM's RAM, shared region
 * and boot bundle must lie in that block, where Keel can write them. */
#define KEEL_EL2_NORMAL_SHIFT 30

#endif
