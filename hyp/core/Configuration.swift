/// The board this firmware was built for and the VMs it runs. The Makefile compiles the board
/// files from boards/ into the firmware, so these are the same values the host tools use.
///
/// (Issue 5 replaces the constants with the DTB Keel is booted with and a packed VM config.)
let activeBoard = qemuVirt
let defaultVMLayout = qemuVirtDefaultVM

/// Limits of the static pools.
enum Limits {
    static let maxVMs = 1
    static let maxVCPUs = 8
}
