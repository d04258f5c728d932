/* Console input by interrupt, waited for reading FR: see lib/uart_rx.h. */
#include "guest.h"
#define RX_POLL
#define RX_READY "rx_poll: ready\n"
#define RX_GOT "rx_poll: got "
#include "uart_rx.h"
