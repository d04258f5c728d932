// SwiftPM wants a source file in a C target; the header is the point (a declaration only).
#include "KeelFuzzDriver.h"
