/* Storage for the locks in keel/atomic.h, and releasing the console's when a CPU abandons it. */
#include "keel/atomic.h"

uint32_t keel_console_lock;
uint32_t keel_console_owner;

/* The console's lock comes with its owner word (CPU index + 1, Console.swift): both go. */
unsigned keel_release_console_lock(void) {
    if (!keel_spin_held_by_me(&keel_console_lock)) return 0;
    __atomic_store_n(&keel_console_owner, 0, __ATOMIC_RELEASE);
    return keel_spin_release_mine(&keel_console_lock);
}
