/* VM 1 of the doorbell test: writes a message to the shared page, rings VM 2, waits for the
 * reply. See lib/doorbell.h. */
#include "guest.h"
#define ROLE_PING
#define PEER_VM 2
#include "doorbell.h"
