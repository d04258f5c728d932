/* VM 2 of the doorbell test: waits for VM 1's doorbell, prints its message, replies and rings
 * back. See lib/doorbell.h. */
#include "guest.h"
#define PEER_VM 1
#include "doorbell.h"
