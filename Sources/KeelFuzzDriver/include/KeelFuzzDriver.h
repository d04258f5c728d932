// libFuzzer's entry for a program with its own main (compiler-rt, FuzzerInterface.h). Only the
// keel-fuzz product links against it, and only when built with -sanitize=fuzzer.
#ifndef KEEL_FUZZ_DRIVER_H
#define KEEL_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
