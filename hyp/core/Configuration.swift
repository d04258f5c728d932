/// The board this firmware was built for and the VMs it runs. The Makefile compiles the board
/// files from boards/ into the firmware, so these are the same values the host tools use.
///
/// (Issue 5 replaces the constants with the DTB Keel is booted with and a packed VM config.)
let activeBoard = qemuVirt
let defaultVMLayout = qemuVirtDefaultVM
