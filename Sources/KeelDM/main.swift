import KeelDMLinux

// keel-dm: the device model of Keel's device-model VM (docs/device-model.md). Reads
// /etc/keel-dm.conf, maps the request page and the windows of the frontends it serves from
// /dev/keel-dm, and serves each forwarded access to a virtio-mmio transport from the register
// files and devices of KeelDMCore.
//
//     keel-dm [--poll] [--conf PATH] [--device PATH]    serve (interrupt mode, or spin with --poll)
//     keel-dm --self-test                                 the blk, net, console and hostile cases
//                                                         on arrays inside this binary

/// The request page's layout (docs/device-model.md, "The request page").
enum RequestPage {
    static let magic: UInt64 = 0x5152_4D44_4C45_454B  // "KEELDMRQ"
    static let version: UInt32 = 1
    static let maxDevices = 16
    static let devicesAt = 64
    static let deviceSize = 64
    static let pageSize = 4096
    /// In a device row (KeelCore's `DeviceModel.PageDevice`): flags (bit 0: a DMA pool), the
    /// pool's guest IPA and size.
    static let deviceFlags = 44
    static let flagPool: UInt32 = 1
    static let devicePoolIPA = 48
    static let devicePoolSize = 56
    /// The answer page (KeelCore's `DeviceModel.Answer`), one slot per request slot.
    static let answerSlotSize = 64
    static let answerSequence = 0
    static let answerValue = 8
    static let answerPickedUp = 16
    /// The header's flags word; bit 1: Keel takes answers from the answer page.
    static let flags = 28
    static let flagAnswers: UInt32 = 2
}

enum Hypercall {
    static let complete: UInt32 = 0x8600_0020
    static let notify: UInt32 = 0x8600_0021
    static let polling: UInt32 = 0x8600_0022
}

/// One row of the request page's device table.
struct TableDevice {
    var frontend: UInt32
    var transport: UInt32
    var type: UInt32
    var network: UInt32
    var ramIPA: UInt64
    var ramSize: UInt64
    var windowIPA: UInt64
    /// `dma = "pool"`: the frontend's restricted DMA pool (guest addresses); nil for none.
    var pool: (ipa: UInt64, size: UInt64)?

    /// What this device reaches: the pool, at its place in the window, or the frontend's RAM.
    var reach: (ipa: UInt64, base: UInt64, size: UInt64)? {
        guard let pool else { return ramSize > 0 ? (windowIPA, ramIPA, ramSize) : nil }
        // Keel checked the pool lies in the RAM; a page that says otherwise maps nothing.
        guard pool.size > 0, pool.ipa >= ramIPA, pool.size <= ramSize, pool.ipa - ramIPA <= ramSize - pool.size else { return nil }
        return (windowIPA + (pool.ipa - ramIPA), pool.ipa, pool.size)
    }
}

typealias LinuxBackend = VirtioBackend<WindowRAM, FileDisk>

/// A console's output waiting for its line end, and the prefix its lines get.
struct ConsoleLine {
    var prefix: [UInt8]
    var pending: [UInt8] = []
}

struct Server {
    let dm: KeelDMDevice
    let backend: LinuxBackend
    /// Request-page device index -> backend device (-1: not configured, reads all ones).
    var backendIndex: [Int]
    /// Backend device -> request-page index (for KEEL_DM_NOTIFY).
    var pageIndex: [Int]
    var consoles: [Int: ConsoleLine]
    let slotCount: Int
    let slotSize: Int
    let slotOffset: Int
    /// The last sequence completed per slot: a slot still odd with it is Keel's to make even.
    var served: [UInt32]
    /// Backend device -> its fault was printed (cleared when a reset clears the fault).
    var faultShown: [Bool] = []
    /// Polling: the answer page, where completions go without a system call; nil: by hypercall.
    var answers: AnswerSlots? = nil

    /// Serves every slot holding a request not served yet: nil, or why keel-dm cannot go on
    /// (the driver refused a completion).
    mutating func scan() -> Failure? {
        for slot in 0..<slotCount {
            let at = slotOffset + slot * slotSize
            let sequence = dm.load32(at)
            guard sequence & 1 == 1, sequence != served[slot] else { continue }
            let picked = keel_cntvct()
            keel_acquire_fence()  // the fields were written before the sequence was made odd
            let device = Int(dm.load32(at + 4))
            let offset = dm.load32(at + 8)
            let size = Int(dm.load8(at + 12))
            let isWrite = dm.load8(at + 13) != 0
            let data = dm.load64(at + 16)
            var value: UInt64 = isWrite ? 0 : ~0
            if device < backendIndex.count, backendIndex[device] >= 0 {
                value = backend.access(device: backendIndex[device], offset: offset, size: size, write: isWrite, value: data)
            }
            if !isWrite && size < 8 { value &= (UInt64(1) << UInt64(8 * size)) &- 1 }
            if let answers {
                // Keel's parked CPU takes it from the page (a request it already timed out
                // ignores it, as it refuses a late COMPLETE).
                answers.answer(slot: slot, sequence: sequence, value: value, pickedUp: picked)
            } else {
                guard let result = dm.hypercall(Hypercall.complete, UInt64(slot), UInt64(sequence), value, picked) else {
                    let access = isWrite ? "write 0x\(hex(data))" : "read -> 0x\(hex(value))"
                    return Failure("cannot complete slot \(slot) sequence \(sequence) (device \(device) offset 0x\(hex(UInt64(offset))) \(access)): KEEL_DM_IOC_HVC: \(lastError())")
                }
                if result != 0 {
                    // Keel timed the request out (or the frontend was reset): nothing to undo.
                    emit(2, "keel-dm: KEEL_DM_COMPLETE slot \(slot) sequence \(sequence): \(result)\n")
                }
            }
            served[slot] = sequence
            // The frontend's vCPU runs again from here: a hint that lets it (see keel_spin_hint).
            keel_spin_hint()
            // The frontend's vCPU runs on while keel-dm moves the data of a notified queue. Only a
            // store below the config space can notify, fault a device or queue console output
            // (loads and config-space stores change nothing): the others skip the bookkeeping,
            // which lies on the frontend's next round trip when keel-dm polls.
            if isWrite && offset < VirtioMMIO.configOffset {
                backend.servePending()
                afterAccess()
            }
        }
        return nil
    }

    /// Raises the interrupts the access caused and prints the consoles' complete lines.
    mutating func afterAccess() {
        for (index, device) in backend.devices.enumerated() {
            reportFault(index, device)
            if device.interruptPending {
                device.interruptPending = false
                let result = dm.hypercall(Hypercall.notify, UInt64(pageIndex[index]))
                if result != 0 { emit(2, "keel-dm: KEEL_DM_NOTIFY \(pageIndex[index]): \(result.map { "\($0)" } ?? lastError())\n") }
            }
            if !device.output.isEmpty, var console = consoles[index] {
                for byte in device.output {
                    if byte == 0x0A || console.pending.count >= 1024 {
                        emit(1, bytes: console.prefix + console.pending + [0x0A])
                        console.pending.removeAll(keepingCapacity: true)
                    } else if byte != 0x0D {
                        console.pending.append(byte)
                    }
                }
                device.output.removeAll(keepingCapacity: true)
                consoles[index] = console
            }
        }
    }
}

extension Server {
    /// Says once, on stderr, that a device went to DEVICE_NEEDS_RESET and why: the frontend only
    /// sees the status bit (and a blk request that never completes). For a device on a DMA pool
    /// the likely cause is a frontend kernel without CONFIG_DMA_RESTRICTED_POOL (Debian's).
    mutating func reportFault(_ index: Int, _ device: LinuxBackend.Device) {
        while faultShown.count <= index { faultShown.append(false) }
        guard let fault = device.fault else {
            faultShown[index] = false
            return
        }
        guard !faultShown[index] else { return }
        faultShown[index] = true
        let pool = device.deviceFeatures & VirtioMMIO.featureAccessPlatform != 0
        let hint = pool ? " (the device has a DMA pool: does the frontend's kernel have CONFIG_DMA_RESTRICTED_POOL?)" : ""
        emit(2, "keel-dm: device \(pageIndex[index]): \(describe(fault)); it needs a reset\(hint)\n")
    }
}

/// A fault in words (Embedded Swift prints no enum case names).
func describe(_ fault: VirtqueueFault) -> String {
    switch fault {
    case .badSize: return "a queue size of 0, above 128 or not a power of two"
    case .ringOutsideRAM: return "a ring misaligned or outside the memory it may reach"
    case .availTooFarAhead: return "avail.idx too far ahead"
    case .badIndex: return "a descriptor index past the queue"
    case .chainTooLong: return "a descriptor chain that loops"
    case .bufferOutsideRAM: return "a buffer outside the memory it may reach"
    case .lengthOverflow: return "a chain longer than 2^32 - 1 bytes"
    case .indirect: return "an indirect descriptor (not offered)"
    case .readableAfterWritable: return "a readable buffer after a writable one"
    }
}

/// Reads the configuration and the request page, maps the windows, opens the disks.
func setUp(confPath: String, devicePath: String) -> Result<Server, Failure> {
    guard let confBytes = readFile(confPath) else {
        return .failure(Failure("cannot read \(confPath): \(lastError())"))
    }
    let entries: [ConfEntry]
    switch parseConf(confBytes) {
    case .failure(let f): return .failure(Failure("\(confPath): \(f.message)"))
    case .success(let e): entries = e
    }
    let dm: KeelDMDevice
    switch KeelDMDevice.open(devicePath) {
    case .failure(let f): return .failure(f)
    case .success(let d): dm = d
    }
    guard dm.load64(0) == RequestPage.magic, dm.load32(8) == RequestPage.version else {
        return .failure(Failure("\(devicePath): the request page has no KEELDMRQ version 1 header"))
    }
    let deviceCount = Int(dm.load32(12)), slotCount = Int(dm.load32(16))
    let slotSize = Int(dm.load32(20)), slotOffset = Int(dm.load32(24))
    guard deviceCount <= RequestPage.maxDevices, slotCount >= 1, slotCount <= 64, slotSize >= 32, slotSize <= 256,
          slotOffset >= RequestPage.devicesAt + deviceCount * RequestPage.deviceSize,
          slotOffset + slotCount * slotSize <= RequestPage.pageSize else {
        return .failure(Failure("\(devicePath): the request page's counts are out of range (\(deviceCount) devices, \(slotCount) slots of \(slotSize) at \(slotOffset))"))
    }
    var table: [TableDevice] = []
    for i in 0..<deviceCount {
        let at = RequestPage.devicesAt + i * RequestPage.deviceSize
        let pooled = dm.load32(at + RequestPage.deviceFlags) & RequestPage.flagPool != 0
        table.append(TableDevice(frontend: dm.load32(at), transport: dm.load32(at + 4), type: dm.load32(at + 8),
                                 network: dm.load32(at + 12), ramIPA: dm.load64(at + 16), ramSize: dm.load64(at + 24),
                                 windowIPA: dm.load64(at + 32),
                                 pool: pooled ? (dm.load64(at + RequestPage.devicePoolIPA), dm.load64(at + RequestPage.devicePoolSize)) : nil))
    }

    let backend = LinuxBackend()
    var backendIndex = [Int](repeating: -1, count: deviceCount)
    var pageIndex: [Int] = []
    var consoles: [Int: ConsoleLine] = [:]
    var windows: [(ipa: UInt64, ram: WindowRAM)] = []
    for entry in entries {
        let where_ = "\(confPath): line \(entry.line): device \(entry.device)"
        guard entry.device < deviceCount else {
            return .failure(Failure("\(where_): the request page lists \(deviceCount) devices"))
        }
        let row = table[entry.device]
        guard row.type == entry.kind.typeID else {
            return .failure(Failure("\(where_): the request page says type \(row.type), the line \(entry.kind.typeID)"))
        }
        // A pool device reaches only its pool (all Keel mapped of that frontend when each of its
        // devices has one): mapped alone, its guest address the device's base.
        let ram: WindowRAM
        let reach = row.reach
        if let reach, let known = windows.first(where: { $0.ipa == reach.ipa }) {
            ram = known.ram
        } else {
            let what = row.pool == nil ? "the window of VM \(row.frontend)" : "the DMA pool of VM \(row.frontend)"
            guard let reach, let window = dm.mapWindow(ipa: reach.ipa, length: reach.size) else {
                return .failure(Failure("\(where_): cannot map \(what) (\(reach?.size ?? 0) bytes): \(lastError())"))
            }
            ram = window
            windows.append((reach.ipa, ram))
        }
        let base = reach?.base ?? row.ramIPA, platform = row.pool != nil
        let index: Int
        switch entry.kind {
        case .blk(let path):
            let fd = openFile(path, KEEL_O_RDWR)
            guard fd >= 0 else { return .failure(Failure("\(where_): cannot open the disk \(path): \(lastError())")) }
            let size = lseek(fd, 0, KEEL_SEEK_END)
            guard size >= 0 else { return .failure(Failure("\(where_): cannot size the disk \(path): \(lastError())")) }
            guard let disk = FileDisk.map(fd: fd, byteCount: UInt64(size)) else {
                return .failure(Failure("\(where_): cannot map the disk \(path) (\(size) bytes): \(lastError())"))
            }
            let name = Array(path.utf8.split(separator: 0x2F).last ?? [])
            index = backend.addBlk(ram: ram, ramBase: base, disk: disk, id: Array(name), accessPlatform: platform)
        case .net(let mac):
            index = backend.addNet(ram: ram, ramBase: base, mac: mac, network: row.network, accessPlatform: platform)
        case .console(let name):
            index = backend.addConsole(ram: ram, ramBase: base, accessPlatform: platform)
            consoles[index] = ConsoleLine(prefix: Array("[\(name ?? "vm\(row.frontend)")] ".utf8))
        }
        backendIndex[entry.device] = index
        pageIndex.append(entry.device)
    }
    return .success(Server(dm: dm, backend: backend, backendIndex: backendIndex, pageIndex: pageIndex, consoles: consoles,
                           slotCount: slotCount, slotSize: slotSize, slotOffset: slotOffset,
                           served: [UInt32](repeating: 0, count: slotCount)))
}

func usage() -> Int32 {
    emit(2, "usage: keel-dm [--poll] [--conf PATH] [--device PATH] | --self-test\n")
    return 2
}

@_cdecl("main")
func keelDMMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    var arguments: [String] = []
    for i in 1..<Int(argc) {
        // SAFETY: the kernel hands main argc NUL-terminated strings.
        if let p = unsafe argv[i] { arguments.append(unsafe String(cString: p)) }
    }
    var poll = false
    var confPath = "/etc/keel-dm.conf"
    var devicePath = "/dev/keel-dm"
    var i = 0
    while i < arguments.count {
        switch arguments[i] {
        case "--poll": poll = true
        case "--self-test": return selfTest() ? 0 : 1
        case "--conf" where i + 1 < arguments.count: confPath = arguments[i + 1]; i += 1
        case "--device" where i + 1 < arguments.count: devicePath = arguments[i + 1]; i += 1
        default: return usage()
        }
        i += 1
    }
    var server: Server
    switch setUp(confPath: confPath, devicePath: devicePath) {
    case .failure(let f):
        emit(2, "keel-dm: \(f.message)\n")
        return 1
    case .success(let s): server = s
    }
    // Interrupt mode clears the flag too, in case an earlier run polled.
    switch server.dm.hypercall(Hypercall.polling, poll ? 1 : 0) {
    case 0?: break
    case let result?: emit(2, "keel-dm: KEEL_DM_POLLING \(poll ? 1 : 0): \(result)\n")
    case nil: emit(2, "keel-dm: KEEL_DM_POLLING \(poll ? 1 : 0): KEEL_DM_IOC_HVC: \(lastError())\n")
    }
    // Polling, answers go through the answer page: no system call, no hypercall per request.
    // Without it (Keel refused the page) they go by KEEL_DM_COMPLETE, as in interrupt mode.
    // Only once the request page says Keel took the page (the driver hands it over at the mmap).
    if poll {
        let answers = server.dm.mapAnswers()
        if answers != nil && server.dm.load32(RequestPage.flags) & RequestPage.flagAnswers != 0 {
            server.answers = answers
        } else {
            emit(2, "keel-dm: no answer page (\(answers == nil ? lastError() : "Keel does not read it")): completing by hypercall\n")
        }
    }
    emit(1, "keel-dm: serving \(server.backend.devices.count) devices (\(poll ? "polling" : "interrupts"))\n")
    while true {
        if !poll, let failure = server.dm.waitForRequests() {
            emit(2, "keel-dm: \(failure.message)\n")
            return 1
        }
        if let failure = server.scan() {
            emit(2, "keel-dm: \(failure.message)\n")
            return 1
        }
        if poll { keel_spin_hint() }
    }
}

/// Lower-case hexadecimal digits of `value`.
func hex(_ value: UInt64) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    var v = value
    repeat {
        out.append(digits[Int(v & 15)])
        v >>= 4
    } while v != 0
    return String(decoding: out.reversed(), as: UTF8.self)
}
