/* dm_server.S polling, answering through an answer page in its own RAM (KEEL_DM_ANSWERS) instead
 * of KEEL_DM_COMPLETE, hostile around each answer: an answer naming the next sequence first (Keel
 * must ignore it), and once Keel took the answer, a COMPLETE of the same request (-2) and garbage
 * over the slot. */
#define DM_POLLING
#define DM_ANSWERS
#include "dm_server.S"
