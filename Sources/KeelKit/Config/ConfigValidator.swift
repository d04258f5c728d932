import Foundation
import KeelBoards
import KeelCore

/// Checks a `SystemConfig` against its board before anything is packed or booted, and reports
/// every problem at once: an unknown board, VM names, CPUs (given twice, or not on the board),
/// memory (empty, unaligned, beyond the IPA size, overlapping another region of the same VM,
/// more than the board has), images (missing, of the wrong kind, not fitting the VM), board
/// devices (unknown, Keel's own, given twice) and shared memory.
public enum ConfigValidator {
    /// Keel's stage 2 gives guests at most a 40-bit IPA space.
    static let ipaLimit: UInt64 = 1 << 40
    static let page: UInt64 = 4096
    /// Guest addresses of the virtual GIC (distributor, redistributors or CPU interface).
    static let virtualGIC = MemoryRange(base: 0x0800_0000, size: 0x0100_0000)

    public static func validate(_ config: SystemConfig) throws(ConfigError) -> ValidatedSystem {
        var problems = ProblemList(file: config.file)
        guard let board = BoardCatalog.named(config.board) else {
            let fix = (nearest(config.board, in: BoardCatalog.names).map { "did you mean \"\($0)\"? " } ?? "")
                + "the boards are \(BoardCatalog.names.joined(separator: ", ")) (keel boards lists them)"
            throw ConfigError([ConfigProblem(file: config.file, scope: nil, key: "board", problem: "there is no board \"\(config.board)\"", fix: fix)])
        }
        var validated: [ValidatedVM] = []
        var cpuOwner: [Int: String] = [:]
        var deviceOwner: [String: String] = [:]
        var seenNames: Set<String> = []
        for (index, vm) in config.vms.enumerated() {
            let scope = vmScope(vm.name, index: index)
            if vm.name.trimmingCharacters(in: .whitespaces).isEmpty {
                problems.add(scope, "name", "is empty; a VM's name prefixes its console lines and names it in messages",
                             fix: "give the VM a name, e.g. name = \"vm\(index)\"")
            } else if !seenNames.insert(vm.name).inserted {
                problems.add(scope, "name", "a second VM is called \"\(vm.name)\"", fix: "give every VM its own name")
            }
            checkCPUs(vm, scope: scope, board: board.board, owners: &cpuOwner, into: &problems)
            checkMemory(vm, scope: scope, into: &problems)
            checkDevices(vm, scope: scope, board: board, owners: &deviceOwner, into: &problems)
            checkOverlaps(vm, scope: scope, shared: config.sharedMemory, board: board, into: &problems)
            if let images = checkImages(vm, scope: scope, directory: config.directory, into: &problems) {
                validated.append(images)
            }
        }
        checkSharedMemory(config, into: &problems)
        checkDoorbellPeers(config, into: &problems)
        checkPassthrough(config, board: board, into: &problems)
        checkVirtio(config, board: board, into: &problems)
        // Saturating: sizes come from the file, and a sum that wrapped would look small.
        let total = (config.vms.map(\.memory.size) + config.sharedMemory.map(\.size)).reduce(UInt64(0), saturatingSum)
        if total > board.board.ramSize {
            problems.add(nil, "vm", "the VMs' memory and shared memory take \(sizeString(total)), more than the \(sizeString(board.board.ramSize)) of RAM \(board.name) has",
                         fix: "make the VMs' memory.size smaller")
        }
        try problems.throwIfAny()
        return ValidatedSystem(config: config, board: board, vms: validated)
    }

    static func checkCPUs(_ vm: VMConfig, scope: String, board: Board, owners: inout [Int: String], into problems: inout ProblemList) {
        if vm.cpus.isEmpty {
            problems.add(scope, "cpus", "is empty", fix: "give the VM at least one CPU, e.g. cpus = [0]")
        }
        var mine: Set<Int> = []
        for (i, cpu) in vm.cpus.enumerated() {
            if cpu >= board.maxCPUs {
                problems.add(scope, "cpus[\(i)]", "CPU \(cpu) is not on \(board.name), which has CPUs 0 to \(board.maxCPUs - 1)",
                             fix: "use CPUs 0 to \(board.maxCPUs - 1)")
            } else if !mine.insert(cpu).inserted {
                problems.add(scope, "cpus[\(i)]", "CPU \(cpu) is given twice", fix: "list each CPU once")
            } else if let owner = owners[cpu] {
                problems.add(scope, "cpus[\(i)]", "CPU \(cpu) is already vm \"\(owner)\"'s", fix: "give each VM its own CPUs; Keel pins vCPUs 1:1")
            } else {
                owners[cpu] = vm.name
            }
        }
    }

    static func checkMemory(_ vm: VMConfig, scope: String, into problems: inout ProblemList) {
        let memory = vm.memory
        if memory.size == 0 {
            problems.add(scope, "memory.size", "is 0", fix: "give the VM memory, e.g. size = \"256M\"")
        } else if memory.size % page != 0 {
            problems.add(scope, "memory.size", "\(hexString(memory.size)) is not a multiple of 4 KiB", fix: "round it to 4 KiB, e.g. \(hexString(roundedToPage(memory.size)))")
        }
        if memory.base % page != 0 {
            problems.add(scope, "memory.base", "\(hexString(memory.base)) is not 4 KiB aligned", fix: "use a multiple of 0x1000, e.g. \(hexString(memory.base & ~(page - 1)))")
        }
        if memory.size > ipaLimit || memory.base > ipaLimit - memory.size {
            problems.add(scope, "memory", "\(hexString(memory.base)) + \(sizeString(memory.size)) ends beyond the 40-bit guest address space (\(hexString(ipaLimit)))",
                         fix: "lower memory.base or memory.size")
        }
    }

    static func checkDevices(_ vm: VMConfig, scope: String, board: KnownBoard, owners: inout [String: String], into problems: inout ProblemList) {
        for (i, assignment) in vm.devices.enumerated() {
            let key = "devices[\(i)]"
            guard let device = board.device(named: assignment.name) else {
                let names = board.deviceList.filter { !$0.hypervisorOwned }.map { $0.name.description }
                let fix = (nearest(assignment.name, in: names).map { "did you mean \"\($0)\"? " } ?? "")
                    + "\(board.name) has \(names.joined(separator: ", "))"
                problems.add(scope, key, "\(board.name) has no device \"\(assignment.name)\"", fix: fix)
                continue
            }
            if device.hypervisorOwned {
                problems.add(scope, key, "\"\(assignment.name)\" is Keel's own console on \(board.name)", fix: "remove it; the VM gets an emulated console")
                continue
            }
            if let owner = owners[assignment.name] {
                problems.add(scope, key, "\"\(assignment.name)\" is already vm \"\(owner)\"'s", fix: "give each device to one VM")
                continue
            }
            owners[assignment.name] = vm.name
            let window = MemoryRange(base: device.base, size: device.size)
            for (j, range) in (assignment.mmio ?? []).enumerated() {
                if !window.contains(range) || range.size == 0 {
                    problems.add(scope, "\(key).mmio[\(j)]", "\(hexString(range.base)) + \(hexString(range.size)) is not inside \(assignment.name)'s registers (\(hexString(device.base)) + \(hexString(device.size)))",
                                 fix: "remove mmio to take the whole device, or stay inside its registers")
                } else if (range.base | range.size) % page != 0 {
                    // Stage 2 maps whole 4 KiB pages: a part of one would hand the VM the rest.
                    problems.add(scope, "\(key).mmio[\(j)]", "\(hexString(range.base)) + \(hexString(range.size)) is not 4 KiB aligned; Keel maps a device in whole pages",
                                 fix: "use the 4 KiB pages that hold it, e.g. { base = \(hexString(range.base & ~(page - 1))), size = \(hexString(roundedToPage(range.end - (range.base & ~(page - 1))))) }")
                }
            }
            let own = device.intid == 0 ? [] : Array(device.intid..<(device.intid + device.interruptCount))
            for (j, intid) in (assignment.interrupts ?? []).enumerated() where !own.contains(intid) {
                problems.add(scope, "\(key).interrupts[\(j)]", "INTID \(intid) is not \(assignment.name)'s (\(own.isEmpty ? "it has none" : own.map(String.init).joined(separator: ", ")))",
                             fix: "remove interrupts to take the device's own")
            }
        }
    }

    /// The pieces of the board a device range must not cover: Keel's console and the GIC's frames.
    static func keelOwned(_ board: Board) -> [(what: String, range: MemoryRange)] {
        var owned: [(String, MemoryRange)] = [("Keel's console", MemoryRange(base: board.uartBase, size: 0x1000)),
                                              ("the GIC distributor", MemoryRange(base: board.gic.distributor, size: 0x1_0000))]
        if board.gicVersion == 3 || board.gic.redistributors != 0 {
            owned.append(("the GIC redistributors", MemoryRange(base: board.gic.redistributors, size: UInt64(board.maxCPUs) * 0x2_0000)))
        }
        for (what, base, size) in [("the GIC CPU interface", board.gic.cpuInterface, UInt64(0x2000)),
                                   ("the GIC hypervisor interface", board.gic.hypervisorControl, UInt64(0x1000)),
                                   ("the GIC virtual CPU interface", board.gic.virtualCPUInterface, UInt64(0x2000))] where base != 0 {
            owned.append((what, MemoryRange(base: base, size: size)))
        }
        return owned
    }

    /// Devices passed through, across the VMs: no range over Keel's console, the GIC, the DRAM
    /// or another VM's device; interrupts that are SPIs the vGIC has and Keel does not use; and
    /// identity-mapped memory (`memory.identity`) inside the DRAM, clear of other identity RAM.
    static func checkPassthrough(_ config: SystemConfig, board known: KnownBoard, into problems: inout ProblemList) {
        let board = known.board
        let dram = MemoryRange(base: board.ramBase, size: board.ramSize)
        var taken: [(vm: String, device: String, range: MemoryRange)] = []
        var identity: [(vm: String, range: MemoryRange)] = []
        for (index, vm) in config.vms.enumerated() {
            let scope = vmScope(vm.name, index: index)
            if vm.identityMemory {
                if !dram.contains(vm.memory) {
                    problems.add(scope, "memory.identity", "IPA = PA puts the VM's RAM at \(rangeString(vm.memory)), outside \(known.name)'s DRAM (\(rangeString(dram)))",
                                 fix: "give memory.base and memory.size inside the DRAM")
                }
                for other in identity where other.range.overlaps(vm.memory) {
                    problems.add(scope, "memory.identity", "the VM's RAM (\(rangeString(vm.memory))) is also vm \"\(other.vm)\"'s identity-mapped RAM", fix: "give each VM its own physical memory")
                }
                identity.append((vm.name, vm.memory))
            }
            var seen: Set<String> = []
            for (i, assignment) in vm.devices.enumerated() where seen.insert(assignment.name).inserted {
                guard let device = known.device(named: assignment.name), !device.hypervisorOwned else { continue }
                let key = "devices[\(i)]"
                for range in assignment.mmio ?? [MemoryRange(base: device.base, size: device.size)] {
                    for owned in keelOwned(board) where owned.range.overlaps(range) {
                        problems.add(scope, key, "\"\(assignment.name)\" (\(rangeString(range))) overlaps \(owned.what) (\(rangeString(owned.range))), which Keel keeps", fix: "pass through another device")
                    }
                    if range.overlaps(dram) {
                        problems.add(scope, key, "\"\(assignment.name)\" (\(rangeString(range))) overlaps the DRAM (\(rangeString(dram)))", fix: "pass through device registers, not memory")
                    }
                    for other in taken where other.vm != vm.name && other.range.overlaps(range) {
                        problems.add(scope, key, "\"\(assignment.name)\" (\(rangeString(range))) overlaps vm \"\(other.vm)\"'s \"\(other.device)\" (\(rangeString(other.range)))", fix: "give each device to one VM")
                    }
                    taken.append((vm.name, assignment.name, range))
                }
                let own = device.intid == 0 ? [] : Array(device.intid..<(device.intid + device.interruptCount))
                for (j, intid) in (assignment.interrupts ?? own).enumerated() {
                    let reserved = SystemManifest.reservedINTIDs[0] == intid || SystemManifest.reservedINTIDs[1] == intid
                    guard intid < 32 || intid >= SystemManifest.interruptLimit || reserved else { continue }
                    let why = intid < 32 ? "is not an SPI (INTIDs 0-31 are each CPU's own)"
                        : reserved ? "is one Keel uses itself (\(intid == SMCCC.doorbellINTID ? "its doorbell" : "its console"))"
                        : "is beyond the SPIs Keel's virtual GIC has (32-\(SystemManifest.interruptLimit - 1))"
                    problems.add(scope, assignment.interrupts == nil ? key : "\(key).interrupts[\(j)]", "INTID \(intid) of \"\(assignment.name)\" \(why)",
                                 fix: "list the device's other interrupts in interrupts = [...], or pass through another device")
                }
            }
        }
    }

    /// Regions of one VM's guest-physical address space that must not overlap.
    static func checkOverlaps(_ vm: VMConfig, scope: String, shared: [SharedMemoryConfig], board: KnownBoard, into problems: inout ProblemList) {
        var regions: [(key: String, what: String, range: MemoryRange)] = [
            ("memory", "the VM's memory", vm.memory),
            ("memory", "the virtual GIC", virtualGIC),
        ]
        var seen: Set<String> = []
        for (i, assignment) in vm.devices.enumerated() where seen.insert(assignment.name).inserted {
            guard let device = board.device(named: assignment.name), !device.hypervisorOwned else { continue }
            for range in assignment.mmio ?? [MemoryRange(base: device.base, size: device.size)] {
                regions.append(("devices[\(i)]", "device \"\(assignment.name)\"", range))
            }
        }
        for (i, device) in vm.emulated.enumerated() {
            regions.append(("emulated[\(i)].base", "the emulated \(device.kind.rawValue)", device.range))
        }
        for region in shared where region.vms.contains(vm.name) {
            regions.append(("shared_memory \"\(region.name)\"", "shared memory \"\(region.name)\"", region.range))
        }
        for i in regions.indices {
            for j in 0..<i where regions[i].range.overlaps(regions[j].range) {
                let a = regions[j], b = regions[i]
                problems.add(scope, b.key, "\(b.what) (\(rangeString(b.range))) overlaps \(a.what) (\(rangeString(a.range)))",
                             fix: "move one of them; guest addresses must not overlap")
            }
        }
    }

    static func checkImages(_ vm: VMConfig, scope: String, directory: String, into problems: inout ProblemList) -> ValidatedVM? {
        let before = problems.problems.count
        let kernelPath = resolve(vm.kernel, in: directory)
        guard let kernel = readFile(kernelPath, written: vm.kernel, scope: scope, key: "kernel", into: &problems) else { return nil }
        let hasImageHeader = GuestImage.kind(of: kernel) == .linuxImage
        let kind = vm.kind ?? (hasImageHeader ? .linux : .raw)
        let layout = VMLayout(ramIPA: vm.memory.base, ramPA: 0, ramSize: vm.memory.size, uartIPA: 0, entryOffset: 0)
        var entry = vm.memory.base
        var initrdPath: String?
        var dtbPath: String?
        switch kind {
        case .linux:
            if !hasImageHeader {
                problems.add(scope, "kind", "\"\(vm.kernel)\" has no arm64 Image header (\"ARM\\x64\" at 0x38), so it is not a Linux kernel",
                             fix: "set kind = \"raw\" for a bare binary, or point kernel at a Linux Image")
            }
            if vm.entry != nil {
                problems.add(scope, "entry", "a Linux kernel is entered where its Image header says", fix: "remove entry (it is for kind = \"raw\")")
            }
            var initrdSize: Int?
            if let initrd = vm.initrd {
                let path = resolve(initrd, in: directory)
                if let problem = fileProblem(path, written: initrd, key: "initrd") {
                    problems.add(scope, "initrd", problem.message, fix: problem.fix)
                } else {
                    initrdPath = path
                    initrdSize = fileSize(atPath: path) ?? 0
                }
            }
            if hasImageHeader, problems.problems.count == before, vm.memory.size > LinuxBoot.deviceTreeReserve {
                do {
                    _ = try LinuxBoot(kernel: kernel, kernelName: vm.kernel, initrdSize: initrdSize, layout: layout)
                } catch let error as KeelError {
                    problems.add(scope, initrdSize != nil && error.message.contains("initrd") ? "initrd" : "kernel",
                                 "does not fit: \(error.message)", fix: "raise memory.size or use a smaller image")
                } catch {}
            } else if vm.memory.size != 0, vm.memory.size <= LinuxBoot.deviceTreeReserve {
                problems.add(scope, "memory.size", "\(sizeString(vm.memory.size)) leaves no room for a Linux kernel beside its 2 MiB device tree",
                             fix: "give a Linux VM tens of MiB at least, e.g. size = \"256M\"")
            }
            if case .file(let dtb) = vm.dtb {
                let path = resolve(dtb, in: directory)
                if let data = readFile(path, written: dtb, scope: scope, key: "dtb", into: &problems) {
                    let valid = data.withSpan { FDT($0) != nil }
                    if !valid {
                        problems.add(scope, "dtb", "\"\(dtb)\" is not a device tree blob (no valid FDT header)", fix: "compile it with dtc -O dtb, or write dtb = \"generate\"")
                    } else if data.count > Int(LinuxBoot.deviceTreeReserve) {
                        problems.add(scope, "dtb", "\"\(dtb)\" is \(data.count) bytes, more than 2 MiB", fix: "use a smaller device tree")
                    }
                    dtbPath = path
                }
            }
        case .raw:
            for (key, given) in [("initrd", vm.initrd != nil), ("bootargs", vm.bootargs != nil), ("dtb", vm.dtb != .generate)] where given {
                problems.add(scope, key, "a raw binary gets no \(key)", fix: "remove \(key), or set kind = \"linux\" for a Linux Image")
            }
            entry = vm.entry ?? vm.memory.base
            if vm.memory.size == 0 {
                // Already reported under memory.size.
            } else if entry < vm.memory.base || entry >= vm.memory.end {
                problems.add(scope, "entry", "\(hexString(entry)) is outside the VM's memory (\(rangeString(vm.memory)))", fix: "use an address inside memory, e.g. entry = \(hexString(vm.memory.base))")
            } else if UInt64(kernel.count) > vm.memory.end - entry {
                problems.add(scope, "kernel", "\"\(vm.kernel)\" is \(kernel.count) bytes, which does not fit the \(sizeString(vm.memory.end - entry)) from entry to the end of the VM's memory",
                             fix: "raise memory.size or lower entry")
            }
        }
        guard problems.problems.count == before else { return nil }
        return ValidatedVM(config: vm, kind: kind, kernelPath: kernelPath, initrdPath: initrdPath, dtbPath: dtbPath, entry: entry)
    }

    static func checkSharedMemory(_ config: SystemConfig, into problems: inout ProblemList) {
        var names: Set<String> = []
        for region in config.sharedMemory {
            let scope = "shared_memory \"\(region.name)\""
            if !names.insert(region.name).inserted {
                problems.add(scope, "name", "a second region is called \"\(region.name)\"", fix: "give every region its own name")
            }
            if region.size == 0 || region.size % page != 0 {
                problems.add(scope, "size", "\(hexString(region.size)) is not a positive multiple of 4 KiB", fix: "use e.g. size = \"64K\"")
            }
            if region.ipa % page != 0 {
                problems.add(scope, "ipa", "\(hexString(region.ipa)) is not 4 KiB aligned", fix: "use a multiple of 0x1000")
            }
            if region.size > ipaLimit || region.ipa > ipaLimit - region.size {
                problems.add(scope, "ipa", "\(hexString(region.ipa)) + \(sizeString(region.size)) ends beyond the 40-bit guest address space (\(hexString(ipaLimit)))",
                             fix: "lower ipa or size")
            }
            for (i, vm) in region.vms.enumerated() where config.vm(named: vm) == nil {
                let fix = nearest(vm, in: config.vms.map(\.name)).map { "did you mean \"\($0)\"?" } ?? "name VMs of this file: \(config.vms.map(\.name).joined(separator: ", "))"
                problems.add(scope, "vms[\(i)]", "there is no vm \"\(vm)\"", fix: fix)
            }
            if Set(region.vms).count < 2 {
                problems.add(scope, "vms", "memory is shared by two VMs at least, not \(Set(region.vms).count)", fix: "list the VMs that share it, e.g. vms = [\"linux\", \"rtos\"]")
            }
        }
    }

    /// `doorbell_peers` names VMs of this file.
    static func checkDoorbellPeers(_ config: SystemConfig, into problems: inout ProblemList) {
        for (index, vm) in config.vms.enumerated() {
            for (i, peer) in (vm.doorbellPeers ?? []).enumerated() where config.vm(named: peer) == nil {
                let fix = nearest(peer, in: config.vms.map(\.name)).map { "did you mean \"\($0)\"?" }
                    ?? "name VMs of this file: \(config.vms.map(\.name).joined(separator: ", "))"
                problems.add(vmScope(vm.name, index: index), "doorbell_peers[\(i)]", "there is no vm \"\(peer)\"", fix: fix)
            }
        }
    }

    static func resolve(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: directory).appendingPathComponent(path).standardized.path
    }

    static func readFile(_ path: String, written: String, scope: String, key: String, into problems: inout ProblemList) -> Data? {
        if let problem = fileProblem(path, written: written, key: key) {
            problems.add(scope, key, problem.message, fix: problem.fix)
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            problems.add(scope, key, "\"\(written)\" cannot be read", fix: "check its permissions")
            return nil
        }
        return data
    }

    /// What is wrong with the file a key names, and the fix: missing, a directory, or empty.
    static func fileProblem(_ path: String, written: String, key: String) -> (message: String, fix: String)? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return ("\"\(written)\" does not exist (looked at \(path))", "give a path relative to the config file")
        }
        if isDirectory.boolValue {
            return ("\"\(written)\" is a directory (\(path))", "point \(key) at a file in it")
        }
        let size = fileSize(atPath: path) ?? 0
        guard size > 0 else {
            let fix = switch key {
            case "dtb": "compile the device tree with dtc -O dtb, or write dtb = \"generate\""
            case "initrd": "build the initramfs again (keel linux fetch --force), or remove initrd"
            default: "build the image again, or point \(key) at the one you meant"
            }
            return ("\"\(written)\" is empty (\(path))", fix)
        }
        return nil
    }
}

/// `a + b`, or UInt64.max when that wraps.
func saturatingSum(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? .max : sum
}

/// `size` rounded up to a multiple of 4 KiB, or down when up would wrap (a fix to suggest).
func roundedToPage(_ size: UInt64) -> UInt64 {
    let down = size & ~(ConfigValidator.page - 1)
    return down == size || down > UInt64.max - ConfigValidator.page ? down : down + ConfigValidator.page
}

func rangeString(_ range: MemoryRange) -> String {
    "\(hexString(range.base))-\(hexString(range.end &- 1))"
}
