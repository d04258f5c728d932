/*
 * The UART fast path (hyp/arch/vectors.S, keel_uart_fast): a guest's halfword or word access to
 * a plain register of its emulated PL011 (VirtualPL011), answered in the synchronous vector
 * before the frame is saved, as trapDataAbort, GuestUART and VirtualPL011 answer it.
 *
 * A data abort from a lower EL (EC 0x24) with IL 1, ISV 1, SAS 1 or 2 (halfword, word), SSE 0,
 * SF 0, AR 0, S1PTW 0, CM 0, EA 0, FnV 0 and ISS2 0, from AArch64 (SPSR_EL2.M[4] 0: an AArch32
 * EL0's PC step is Swift's), at offset 0x000-0x07C of its VM's UART, word-aligned, for a vCPU
 * with nothing to do before re-entry (vgic.dirty, stop), while no byte waits in the real UART
 * (Keel's console input, polled by every UART read of the Swift path: a byte waiting takes the
 * Swift path, which delivers it) goes on under the VM's UART lock (GuestUART; one try, held:
 * the Swift path, which waits):
 *   - a read of FR, RIS, MIS (computed from rxCount and IMSC as VirtualPL011.read does), IBRD,
 *     FBRD, LCRH, CR, IFLS, IMSC, DMACR (what was stored), RSR, ICR and the reserved words
 *     (0) puts the value in Wt (every one fits 16 bits: a halfword read reads the same);
 *   - a write of IBRD, FBRD, LCRH, CR, IFLS, DMACR stores the value under the register's mask
 *     (every mask fits 16 bits: a halfword write stores the same), of IMSC too unless that
 *     changes the interrupt line (VirtualPL011.interruptPending against lineHigh: GuestUART.syncLine
 *     must tell the vGIC; the Swift path), and of RSR/ECR, FR, RIS, MIS, ICR and the reserved
 *     words is ignored, as VirtualPL011.write ignores them;
 *   - DR (the receive FIFO's pop, the console's output) takes the Swift path.
 * Then the exit counted and its ESR kept, ELR_EL2 + 4. Nothing else of the Swift path's is left
 * out: syncLine after any of these finds the line as it was (lineHigh == interruptPending
 * whenever the lock is free, and none of them but IMSC touches rxCount or IMSC).
 *
 * Swift lays VM out, so the offsets cannot be static asserts here: VCPUs.checkLayout() compares
 * each with MemoryLayout at boot (UARTFastPath.matchesSwift). The vector reaches the UART's
 * fields from the lock word (one base register for the lock and the fields), so each must lie
 * within ldur's reach below it (asserted here).
 */
#ifndef KEEL_UARTFAST_H
#define KEEL_UARTFAST_H

#include "keel/pool.h"
#include "keel/context.h"

/* ESR_EL2 >> 21 of a halfword access: EC 0x24, IL 1, ISV 1, SAS 1, SSE 0; a word's is 2 more. */
#define KEEL_ESR_MMIO_HALF_TOP 0x49A
/* ESR_EL2 bits that must be clear: SF (15), AR (14), VNCR (13), SET (12:11), FnV (10), EA (9),
 * CM (8), S1PTW (7). WnR (6) is either. A logical immediate (nine ones). */
#define KEEL_ESR_UART_CLEAR 0xFF80
/* SPSR_EL2.M[4]: the exception came from AArch32. */
#define KEEL_SPSR_NRW_BIT 4
/* The offsets the vector takes: words 0x000-0x07C (a logical immediate's complement tests it). */
#define KEEL_UART_FAST_OFFSETS 0x7C
/* The real PL011's FR.RXFE: set while its receive FIFO is empty. */
#define KEEL_PL011_RXFE_BIT 4

/* VirtualPL011's interrupt sources: RXIM, RTIM (interruptPending); MIS shows RXIM's. */
#define KEEL_UART_RX_INTERRUPTS 0x50
#define KEEL_UART_RXIM 0x10
/* FR: TXFE | RXFE when nothing was received, TXFE alone otherwise. */
#define KEEL_UART_FR_EMPTY 0x90
#define KEEL_UART_FR_RECEIVED 0x80

/* Offsets into VM (hyp/core/VM.swift), checked at boot. */
#define KEEL_VM_UART_IPA      0x28   /* layout.uartIPA, UInt64 */
#define KEEL_VM_UART_IBRD     0x70   /* uart.ibrd, UInt32; fbrd, lcrh, cr, ifls, imsc follow */
#define KEEL_VM_UART_DMACR    0x88   /* uart.dmacr, UInt32 */
#define KEEL_VM_UART_RX_COUNT 0xA0   /* uart.rxCount, Int */
#define KEEL_VM_UART_LINE     0xA8   /* uart.lineHigh, Bool */
#define KEEL_VM_UART_LOCK     0x140  /* uartLock, UInt32: 0 free, else the holder's token */
/* IBRD-IMSC are consecutive words at register offsets 0x24-0x38. */
#define KEEL_VM_UART_FBRD     (KEEL_VM_UART_IBRD + 0x04)
#define KEEL_VM_UART_LCRH     (KEEL_VM_UART_IBRD + 0x08)
#define KEEL_VM_UART_CR       (KEEL_VM_UART_IBRD + 0x0C)
#define KEEL_VM_UART_IFLS     (KEEL_VM_UART_IBRD + 0x10)
#define KEEL_VM_UART_IMSC     (KEEL_VM_UART_IBRD + 0x14)
#define KEEL_UART_REG_IBRD    0x24
/* The same, from the lock word (the vector's base register). */
#define KEEL_UART_AT(field)   ((field) - KEEL_VM_UART_LOCK)

#ifndef __ASSEMBLER__
#include <stdint.h>

_Static_assert(KEEL_ESR_MMIO_HALF_TOP == (0x24u << 5 | 1u << 4 | 1u << 3 | 1u << 1 | 0u), "EC DABT_LOW, IL, ISV, SAS halfword, SSE 0");
_Static_assert(KEEL_UART_AT(KEEL_VM_UART_IBRD) - KEEL_UART_REG_IBRD >= -256 && KEEL_UART_AT(KEEL_VM_UART_LINE) < 256,
               "every field within ldur/stur's reach of the lock word");
_Static_assert(KEEL_VM_UART_LOCK < 4096, "the lock word within add's immediate");

/* The address of a word whose KEEL_PL011_RXFE_BIT is set exactly when no byte of console input
 * waits: the real PL011's FR, or keel_uart_fast_idle where Keel reads no input (Cadence), or
 * keel_uart_fast_busy (RXFE clear: "a byte waits", so every access takes the Swift path) while
 * the fast path is off (tracing, an i.MX UART). Set only by UARTFastPath.configure at boot. */
extern uint64_t keel_uart_fast_fr;
extern uint32_t keel_uart_fast_idle;
extern uint32_t keel_uart_fast_busy;
static inline void keel_set_uart_fast_fr(uint64_t address) { keel_uart_fast_fr = address; }
static inline uint64_t keel_uart_fast_idle_address(void) { return (uint64_t)(uintptr_t)&keel_uart_fast_idle; }
static inline uint64_t keel_uart_fast_busy_address(void) { return (uint64_t)(uintptr_t)&keel_uart_fast_busy; }
#endif

#endif
