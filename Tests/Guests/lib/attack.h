/*
 * Shared by the hostile guests (attack_*.S): each attack is bracketed by ATTACK_BEGIN and
 * ATTACK_END, which print "NAME: exc=<exceptions taken> ec=<ESR_EL1.EC of the last one>" so
 * the test sees, per attack, whether the guest got an exception and of which class.
 * x19 holds the exception count across the attack (lib/start.S's handler preserves it).
 */
#ifndef KEEL_ATTACK_H
#define KEEL_ATTACK_H
#include "guest.h"

.macro ATTACK_BEGIN
    adrp    x9, exc_count
    ldr     x19, [x9, :lo12:exc_count]
    adrp    x9, exc_esr
    str     xzr, [x9, :lo12:exc_esr]
.endm

.macro ATTACK_END name
    mov     x1, x19
    ADR_STR "\name"
    bl      attack_report
.endm

#endif
