/// The board this firmware was built for and the VMs it runs. The Makefile compiles the board
/// files from boards/ into the firmware, so these are the same values the host tools use; it
/// builds one firmware per board and names the board with `-D KEEL_BOARD_<NAME>`.
///
/// The addresses Keel drives come from the DTB where it has one (`machine`, below); the board
/// file is the fallback and the cross-check.
#if KEEL_BOARD_XLNX_ZCU102
let activeBoard = xlnxZCU102
let activeBoardGICv2 = xlnxZCU102
let defaultVMLayout = xlnxZCU102DefaultVM
#elseif KEEL_BOARD_RASPBERRY_PI_4
let activeBoard = raspberryPi4
let activeBoardGICv2 = raspberryPi4
let defaultVMLayout = raspberryPi4DefaultVM
#elseif KEEL_BOARD_IMX8MP_EVK
let activeBoard = imx8mpEVK
let activeBoardGICv2 = imx8mpEVK
let defaultVMLayout = imx8mpEVKDefaultVM
#else
let activeBoard = qemuVirt
/// One firmware runs both virt boards: a GICv2 machine is held against this board file.
let activeBoardGICv2 = qemuVirtGICv2
let defaultVMLayout = qemuVirtDefaultVM
#endif

/// The machine Keel drives: the board file's values until `BootDTB.read` replaces them with what
/// the DTB it was booted with says (held against the board file), before any other CPU starts.
/// Written once on the boot CPU; read everywhere after.
nonisolated(unsafe) var machine = Machine(board: activeBoard)
