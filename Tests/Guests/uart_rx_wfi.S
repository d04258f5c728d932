/* Console input by interrupt, waited for in WFI: see lib/uart_rx.h. */
#include "guest.h"
#define RX_READY "rx_wfi: ready\n"
#define RX_GOT "rx_wfi: got "
#include "uart_rx.h"
