/* dm_server.S in polling mode: KEEL_DM_POLLING(1), then a scan of the slots without the request
 * interrupt. */
#define DM_POLLING
#include "dm_server.S"
