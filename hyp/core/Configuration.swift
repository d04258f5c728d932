/// The board this firmware was built for and the VMs it runs. The Makefile compiles the board
/// files from boards/ into the firmware, so these are the same values the host tools use; it
/// builds one firmware per board and names the board with `-D KEEL_BOARD_<NAME>`.
///
/// (Issue 5 replaces the constants with the DTB Keel is booted with and a packed VM config.)
#if KEEL_BOARD_XLNX_ZCU102
let activeBoard = xlnxZCU102
let defaultVMLayout = xlnxZCU102DefaultVM
#else
let activeBoard = qemuVirt
let defaultVMLayout = qemuVirtDefaultVM
#endif
