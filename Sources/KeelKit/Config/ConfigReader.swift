import Foundation
import KeelCore
import TOMLKit

/// Reads a `system.toml` into a `SystemConfig`: TOML syntax, the shape of every table, the
/// type of every value and unknown keys. What the values mean for the board is
/// `ConfigValidator`'s job.
public enum ConfigReader {
    static let topKeys = ["board", "vm", "shared_memory", "power_off_with", "qemu"]
    static let qemuKeys = ["args"]
    static let vmKeys = ["name", "cpus", "memory", "kernel", "kind", "entry", "initrd", "dtb", "bootargs", "devices", "emulated",
                         "fault_limit", "reset_limit", "doorbell_peers", "device_model", "device_model_poll", "virtio"]
    static let memoryKeys = ["base", "size"]
    static let vmMemoryKeys = ["base", "size", "identity"]
    static let deviceKeys = ["name", "mmio", "interrupts"]
    static let emulatedKeys = ["kind", "base", "interrupt"]
    static let sharedKeys = ["name", "size", "ipa", "vms"]
    static let virtioKeys = ["type", "served_by", "disk", "network", "timeout_ms", "dma", "dma_pool"]

    /// Reads the file at `path`; `name` is how messages call it (default: the path as given).
    public static func load(_ path: String) throws(ConfigError) -> SystemConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError([ConfigProblem(file: path, scope: nil, key: "(file)", problem: "cannot be read",
                                             fix: "check the path; it is relative to the current directory")])
        }
        // Decoded as it is: Foundation's decoder would drop a leading byte-order mark, and a
        // second one behind it is what `tomlPitfall` must see to refuse it.
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ConfigError([ConfigProblem(file: path, scope: nil, key: "(file)", problem: "is not UTF-8 text",
                                             fix: "save it as UTF-8")])
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(text, file: path, directory: directory)
    }

    public static func parse(_ text: String, file: String, directory: String) throws(ConfigError) -> SystemConfig {
        var problems = ProblemList(file: file)
        func fail(_ key: String, _ problem: String, fix: String) -> ConfigError {
            ConfigError([ConfigProblem(file: file, scope: nil, key: key, problem: problem, fix: fix)])
        }
        // toml++ reads C strings: a NUL would silently cut the file short.
        guard !text.utf8.contains(0) else { throw fail("(file)", "contains a NUL byte", fix: "save it as plain UTF-8 text") }
        if let pitfall = tomlPitfall(text) {
            throw fail("(syntax)", "line \(pitfall.line): \(pitfall.problem)", fix: "correct the TOML syntax there")
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw fail("(syntax)", "line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)",
                       fix: "correct the TOML syntax there")
        } catch {
            throw fail("(syntax)", "\(error)", fix: "correct the TOML syntax")
        }
        let top = TOMLFields(root, scope: nil, known: topKeys)
        top.unknownKeys(into: &problems)
        let board = top.string("board", required: true, example: "\"qemu-virt\"", into: &problems) ?? ""

        var vms: [VMConfig] = []
        if let value = root["vm"] {
            if let array = value.array {
                for (index, element) in array.enumerated() {
                    guard let table = element.table else {
                        problems.add(vmScope(nil, index: index), "vm", "must be a table", fix: "write each VM as a [[vm]] table")
                        continue
                    }
                    if let vm = readVM(table, index: index, into: &problems) { vms.append(vm) }
                }
            } else {
                problems.add(nil, "vm", "must be an array of tables", fix: "write [[vm]] (two brackets) for each VM")
            }
        } else {
            problems.add(nil, "vm", "no VM is described", fix: "add a [[vm]] table with name, cpus, memory and kernel")
        }

        var shared: [SharedMemoryConfig] = []
        if let value = root["shared_memory"] {
            if let array = value.array {
                for (index, element) in array.enumerated() {
                    guard let table = element.table else {
                        problems.add("shared_memory #\(index + 1)", "shared_memory", "must be a table",
                                     fix: "write each region as a [[shared_memory]] table")
                        continue
                    }
                    if let region = readShared(table, index: index, into: &problems) { shared.append(region) }
                }
            } else {
                problems.add(nil, "shared_memory", "must be an array of tables", fix: "write [[shared_memory]] (two brackets) for each region")
            }
        }
        let powerOffWith = top.string("power_off_with", example: "\"linux\"", into: &problems)
        if let name = powerOffWith, !vms.contains(where: { $0.name == name }) {
            problems.add(nil, "power_off_with", "no VM is named \"\(name)\"", fix: "name one of the [[vm]] tables: \(vms.map { "\"\($0.name)\"" }.joined(separator: ", "))")
        }
        let qemuArguments = readQEMU(top, directory: directory, into: &problems)
        try problems.throwIfAny()
        var config = SystemConfig(file: file, directory: directory, board: board, vms: vms, sharedMemory: shared)
        config.powerOffWith = powerOffWith
        config.qemuArguments = qemuArguments
        return config
    }

    private static func readVM(_ table: TOMLTable, index: Int, into problems: inout ProblemList) -> VMConfig? {
        let before = problems.problems.count
        let nameFields = TOMLFields(table, scope: vmScope(nil, index: index), known: vmKeys)
        let name = nameFields.string("name", required: true, example: "\"linux\"", into: &problems)
        let scope = vmScope(name, index: index)
        let fields = TOMLFields(table, scope: scope, known: vmKeys)
        fields.unknownKeys(into: &problems)

        var cpus: [Int] = []
        if let array = fields.array("cpus", example: "[0, 1]", into: &problems) {
            for (i, element) in array.enumerated() {
                if let cpu = element.int, cpu >= 0 { cpus.append(cpu) } else {
                    problems.add(scope, "cpus[\(i)]", "\(describe(element)) is not a CPU number", fix: "list CPU numbers from 0, e.g. cpus = [0, 1]")
                }
            }
        } else if !fields.has("cpus") {
            problems.add(scope, "cpus", "missing", fix: "add cpus = [0] (the physical CPUs its vCPUs run on)")
        }

        var memory = MemoryRange(base: 0, size: 0)
        var identity = false
        if let sub = fields.subtable("memory", example: "{ base = 0x4000_0000, size = \"256M\" }", into: &problems) {
            let m = TOMLFields(sub, scope: scope, prefix: "memory.", known: vmMemoryKeys)
            m.unknownKeys(into: &problems)
            memory.base = m.integer("base", required: true, example: "0x4000_0000", into: &problems) ?? 0
            memory.size = m.size("size", required: true, example: "\"256M\"", into: &problems) ?? 0
            identity = m.bool("identity", example: "true", into: &problems) ?? false
        } else if !fields.has("memory") {
            problems.add(scope, "memory", "missing", fix: "add memory = { base = 0x4000_0000, size = \"256M\" }")
        }

        let kernel = fields.string("kernel", required: true, example: "\"Image\" (a path relative to this file)", into: &problems) ?? ""
        var kind: VMConfig.KernelKind?
        if let text = fields.string("kind", example: "\"linux\"", into: &problems) {
            kind = VMConfig.KernelKind(rawValue: text)
            if kind == nil {
                let fix = nearest(text, in: VMConfig.KernelKind.allCases.map(\.rawValue)).map { "did you mean \"\($0)\"?" }
                    ?? "write kind = \"linux\" (an arm64 Image) or kind = \"raw\" (a binary entered at entry)"
                problems.add(scope, "kind", "\"\(text)\" is not a kernel kind", fix: fix)
            }
        }
        let entry = fields.integer("entry", example: "0x4000_0000", into: &problems)
        let initrd = fields.string("initrd", example: "\"initramfs.cpio\"", into: &problems)
        var dtb = VMConfig.DeviceTreeSource.generate
        if let text = fields.string("dtb", example: "\"generate\"", into: &problems), text != "generate" {
            dtb = .file(text)
        }
        let bootargs = fields.string("bootargs", example: "\"console=ttyAMA0\"", into: &problems)

        var devices: [DeviceAssignment] = []
        if let array = fields.array("devices", example: "[\"rtc\"] or [{ name = \"rtc\" }]", into: &problems) {
            for (i, element) in array.enumerated() {
                if let name = element.string {
                    devices.append(DeviceAssignment(name: name))
                } else if let sub = element.table {
                    if let device = readDevice(sub, scope: scope, prefix: "devices[\(i)].", into: &problems) { devices.append(device) }
                } else {
                    problems.add(scope, "devices[\(i)]", "\(describe(element)) is not a device", fix: "name a board device: \"rtc\" or { name = \"rtc\" }")
                }
            }
        }

        var emulated: [EmulatedDevice] = []
        if let array = fields.array("emulated", example: "[{ kind = \"pl011\", base = 0x0900_0000 }]", into: &problems) {
            for (i, element) in array.enumerated() {
                guard let sub = element.table else {
                    problems.add(scope, "emulated[\(i)]", "\(describe(element)) is not a table", fix: "write { kind = \"pl011\", base = 0x0900_0000 }")
                    continue
                }
                let e = TOMLFields(sub, scope: scope, prefix: "emulated[\(i)].", known: emulatedKeys)
                e.unknownKeys(into: &problems)
                let kindText = e.string("kind", required: true, example: "\"pl011\"", into: &problems)
                let base = e.integer("base", required: true, example: "0x0900_0000", into: &problems)
                let interrupt = e.integer("interrupt", example: "33", into: &problems)
                var emulatedKind: EmulatedDevice.Kind?
                if let kindText {
                    emulatedKind = EmulatedDevice.Kind(rawValue: kindText)
                    if emulatedKind == nil {
                        let kinds = EmulatedDevice.Kind.allCases.map(\.rawValue)
                        problems.add(scope, "emulated[\(i)].kind", "Keel emulates no \"\(kindText)\"",
                                     fix: nearest(kindText, in: kinds).map { "did you mean \"\($0)\"?" } ?? "use one of \(kinds.joined(separator: ", "))")
                    }
                }
                if let emulatedKind, let base {
                    emulated.append(EmulatedDevice(kind: emulatedKind, base: base, interrupt: interrupt.map { UInt32(clamping: $0) }))
                }
            }
        }
        let deviceModel = fields.bool("device_model", example: "true", into: &problems) ?? false
        let deviceModelPoll = fields.bool("device_model_poll", example: "true", into: &problems) ?? false
        let virtio = readVirtio(table, scope: scope, into: &problems)
        guard problems.problems.count == before, let name else { return nil }
        var config = VMConfig(name: name, cpus: cpus, memory: memory, kernel: kernel, kind: kind, entry: entry,
                              initrd: initrd, dtb: dtb, bootargs: bootargs, devices: devices, emulated: emulated)
        config.identityMemory = identity
        config.deviceModel = deviceModel
        config.deviceModelPoll = deviceModelPoll
        config.virtio = virtio
        if let array = fields.array("doorbell_peers", example: "[\"rtos\"]", into: &problems) {
            var peers: [String] = []
            for (i, element) in array.enumerated() {
                if let peer = element.string { peers.append(peer) } else {
                    problems.add(scope, "doorbell_peers[\(i)]", "\(describe(element)) is not a VM name", fix: "list VM names, e.g. doorbell_peers = [\"rtos\"]")
                }
            }
            config.doorbellPeers = peers
        }
        for (key, path) in [("fault_limit", \VMConfig.faultLimit), ("reset_limit", \VMConfig.resetLimit)] {
            guard let value = fields.integer(key, example: "1000", into: &problems) else { continue }
            if value == 0 || value > UInt64(UInt32.max) {
                problems.add(scope, key, "\(value) is not a limit Keel keeps", fix: "use 1 to \(UInt32.max), or leave \(key) out for no limit")
            } else {
                config[keyPath: path] = value
            }
        }
        return config
    }

    /// `[[vm.virtio]]` tables: each table's keys and the words of `type` and `dma`. How the
    /// tables fit together (who serves them, their disks) is `ConfigValidator`'s.
    private static func readVirtio(_ table: TOMLTable, scope: String, into problems: inout ProblemList) -> [VirtioDeviceConfig] {
        guard let value = table["virtio"] else { return [] }
        guard let array = value.array else {
            problems.add(scope, "virtio", "must be an array of tables, not \(describe(value))",
                         fix: "write [[vm.virtio]] (two brackets) for each device, with type and served_by")
            return []
        }
        var devices: [VirtioDeviceConfig] = []
        for (i, element) in array.enumerated() {
            let prefix = "virtio[\(i)]."
            guard let sub = element.table else {
                problems.add(scope, "virtio[\(i)]", "\(describe(element)) is not a table",
                             fix: "write [[vm.virtio]] (two brackets) for each device, with type and served_by")
                continue
            }
            let v = TOMLFields(sub, scope: scope, prefix: prefix, known: virtioKeys)
            v.unknownKeys(into: &problems)
            let kinds = VirtioDeviceConfig.Kind.allCases.map(\.rawValue)
            var kind: VirtioDeviceConfig.Kind?
            if let text = v.string("type", required: true, example: "\"blk\" (or \"net\", \"console\")", into: &problems) {
                kind = VirtioDeviceConfig.Kind(rawValue: text)
                if kind == nil {
                    problems.add(scope, prefix + "type", "Keel serves no virtio device \"\(text)\"",
                                 fix: nearest(text, in: kinds).map { "did you mean \"\($0)\"?" } ?? "use one of \(kinds.joined(separator: ", "))")
                }
            }
            let servedBy = v.string("served_by", required: true, example: "\"dm\" (a VM with device_model = true)", into: &problems)
            let disk = v.string("disk", example: "\"disk.img\" (a raw image, relative to this file)", into: &problems)
            let network = v.string("network", example: "\"lan\"", into: &problems)
            var timeout: UInt64?
            if let ms = v.integer("timeout_ms", example: "\(DeviceModel.defaultTimeoutMilliseconds)", into: &problems) {
                if ms == 0 || ms > UInt64(UInt32.max) {
                    problems.add(scope, prefix + "timeout_ms", "\(ms) is not a timeout Keel keeps (0 would fail every access at once)",
                                 fix: "use 1 to \(UInt32.max) milliseconds, or leave timeout_ms out for the default \(DeviceModel.defaultTimeoutMilliseconds)")
                } else {
                    timeout = ms
                }
            }
            var dma = VirtioDeviceConfig.DMA.shared
            if let text = v.string("dma", example: "\"shared\"", into: &problems) {
                switch VirtioDeviceConfig.DMA(rawValue: text) {
                case let mode?: dma = mode
                case nil:
                    problems.add(scope, prefix + "dma", "\"\(text)\" is not a DMA mode",
                                 fix: nearest(text, in: ["shared", "pool"]).map { "did you mean \"\($0)\"?" } ?? "write dma = \"shared\" (the default) or \"pool\", or leave dma out")
                }
            }
            // Its bounds against the frontend's RAM are the validator's (checkPools).
            let dmaPool = v.size("dma_pool", example: "\"4M\"", into: &problems)
            if let kind, let servedBy {
                devices.append(VirtioDeviceConfig(kind: kind, servedBy: servedBy, disk: disk, network: network, timeoutMs: timeout, dma: dma, dmaPool: dmaPool))
            }
        }
        return devices
    }

    /// `[qemu] args = ["-drive", "if=none,id=d,file=disk.img,format=raw", ...]`: words added to
    /// QEMU's command line by `keel run`. A `file=PATH` option with a relative PATH is made
    /// relative to the config file, as every path of the file is.
    private static func readQEMU(_ top: TOMLFields, directory: String, into problems: inout ProblemList) -> [String] {
        guard let table = top.subtable("qemu", example: "{ args = [\"-device\", \"virtio-blk-device,drive=d\"] }", into: &problems) else { return [] }
        let q = TOMLFields(table, scope: "qemu", known: qemuKeys)
        q.unknownKeys(into: &problems)
        guard let array = q.array("args", example: "[\"-device\", \"virtio-blk-device,drive=d\"]", into: &problems) else { return [] }
        var words: [String] = []
        for (i, element) in array.enumerated() {
            guard let word = element.string else {
                problems.add("qemu", "args[\(i)]", "\(describe(element)) is not a string", fix: "write QEMU's words as strings, e.g. args = [\"-device\", \"virtio-blk-device,drive=d\"]")
                continue
            }
            words.append(resolvingFiles(in: word, directory: directory))
        }
        return words
    }

    /// `word` with the PATH of each comma-separated `file=PATH` made absolute against `directory`.
    static func resolvingFiles(in word: String, directory: String) -> String {
        word.split(separator: ",", omittingEmptySubsequences: false).map { option -> String in
            guard option.hasPrefix("file="), !option.dropFirst(5).hasPrefix("/"), option.count > 5 else { return String(option) }
            return "file=" + URL(fileURLWithPath: directory).appendingPathComponent(String(option.dropFirst(5))).standardized.path
        }.joined(separator: ",")
    }

    private static func readDevice(_ table: TOMLTable, scope: String, prefix: String, into problems: inout ProblemList) -> DeviceAssignment? {
        let d = TOMLFields(table, scope: scope, prefix: prefix, known: deviceKeys)
        d.unknownKeys(into: &problems)
        guard let name = d.string("name", required: true, example: "\"rtc\"", into: &problems) else { return nil }
        var mmio: [MemoryRange]?
        if let array = d.array("mmio", example: "[{ base = 0x0901_0000, size = 0x1000 }]", into: &problems) {
            mmio = []
            for (i, element) in array.enumerated() {
                guard let sub = element.table else {
                    problems.add(scope, "\(prefix)mmio[\(i)]", "\(describe(element)) is not a range", fix: "write { base = 0x0901_0000, size = 0x1000 }")
                    continue
                }
                let r = TOMLFields(sub, scope: scope, prefix: "\(prefix)mmio[\(i)].", known: memoryKeys)
                r.unknownKeys(into: &problems)
                if let base = r.integer("base", required: true, example: "0x0901_0000", into: &problems),
                   let size = r.size("size", required: true, example: "0x1000", into: &problems) {
                    mmio?.append(MemoryRange(base: base, size: size))
                }
            }
        }
        var interrupts: [UInt32]?
        if let array = d.array("interrupts", example: "[34]", into: &problems) {
            interrupts = []
            for (i, element) in array.enumerated() {
                if let n = element.int, n >= 0, n < 1020 { interrupts?.append(UInt32(n)) } else {
                    problems.add(scope, "\(prefix)interrupts[\(i)]", "\(describe(element)) is not an interrupt ID", fix: "write INTIDs (SPI n is 32 + n), e.g. interrupts = [34]")
                }
            }
        }
        return DeviceAssignment(name: name, mmio: mmio, interrupts: interrupts)
    }

    private static func readShared(_ table: TOMLTable, index: Int, into problems: inout ProblemList) -> SharedMemoryConfig? {
        let before = problems.problems.count
        let first = TOMLFields(table, scope: "shared_memory #\(index + 1)", known: sharedKeys)
        let name = first.string("name", required: true, example: "\"ring\"", into: &problems)
        let scope = name.map { "shared_memory \"\($0)\"" } ?? "shared_memory #\(index + 1)"
        let fields = TOMLFields(table, scope: scope, known: sharedKeys)
        fields.unknownKeys(into: &problems)
        let size = fields.size("size", required: true, example: "\"64K\"", into: &problems)
        let ipa = fields.integer("ipa", required: true, example: "0x7000_0000", into: &problems)
        var vms: [String] = []
        if let array = fields.array("vms", example: "[\"linux\", \"rtos\"]", into: &problems) {
            for (i, element) in array.enumerated() {
                if let vm = element.string { vms.append(vm) } else {
                    problems.add(scope, "vms[\(i)]", "\(describe(element)) is not a VM name", fix: "list VM names, e.g. vms = [\"linux\", \"rtos\"]")
                }
            }
        } else if !fields.has("vms") {
            problems.add(scope, "vms", "missing", fix: "add vms = [\"linux\", \"rtos\"] (the VMs that share it)")
        }
        guard problems.problems.count == before, let name, let size, let ipa else { return nil }
        return SharedMemoryConfig(name: name, size: size, ipa: ipa, vms: vms)
    }
}
