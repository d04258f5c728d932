/* xorshift64 (Marsaglia): \reg = next(\reg), \tmp clobbered. A fixed seed makes each run the
 * same, so a failure repeats. */
#ifndef KEEL_XORSHIFT_H
#define KEEL_XORSHIFT_H
.macro XORSHIFT reg, tmp
    eor     \reg, \reg, \reg, lsl #13
    eor     \reg, \reg, \reg, lsr #7
    eor     \reg, \reg, \reg, lsl #17
.endm
#endif
