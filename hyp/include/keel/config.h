/* Build-time limits of the firmware, shared by the assembly and Swift. */
#ifndef KEEL_CONFIG_H
#define KEEL_CONFIG_H

/* Physical CPUs Keel can run on (per-CPU stacks are reserved for each). */
#define KEEL_MAX_CPUS 8
/* Stack per physical CPU. */
#define KEEL_STACK_SIZE 0x4000
/* Image header: offset from a 2 MiB aligned DRAM base; must match the board's textOffset. */
#ifndef KEEL_TEXT_OFFSET
#define KEEL_TEXT_OFFSET 0x80000
#endif

#endif
