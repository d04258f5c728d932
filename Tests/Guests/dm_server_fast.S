/* dm_server.S for the forwarding benchmark (dm_bench.S): one COMPLETE per request, interrupt
 * mode. */
#define DM_FAST
#include "dm_server.S"
