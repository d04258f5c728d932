/* Storage for the locks in keel/atomic.h. */
#include "keel/atomic.h"

uint32_t keel_console_lock;
uint32_t keel_console_owner;
