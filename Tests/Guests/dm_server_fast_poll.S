/* dm_server.S for the forwarding benchmark (dm_bench.S): one COMPLETE per request, polling. */
#define DM_FAST
#define DM_POLLING
#include "dm_server.S"
