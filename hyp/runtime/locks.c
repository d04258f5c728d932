/* Storage for the locks in keel/atomic.h, and releasing the ones a CPU abandons. */
#include "keel/atomic.h"

uint32_t keel_console_lock;
uint32_t keel_console_owner;
uint32_t keel_console_input_lock;

/* The console's lock comes with its owner word (CPU index + 1, Console.swift): both go. */
unsigned keel_release_global_locks(void) {
    unsigned released = 0;
    if (keel_spin_held_by_me(&keel_console_lock)) {
        __atomic_store_n(&keel_console_owner, 0, __ATOMIC_RELEASE);
        released += keel_spin_release_mine(&keel_console_lock);
    }
    released += keel_spin_release_mine(&keel_console_input_lock);
    return released;
}
