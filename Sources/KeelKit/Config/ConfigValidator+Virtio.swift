import Foundation
import KeelBoards
import KeelCore

/// `device_model`, `device_model_poll` and `[[vm.virtio]]` (docs/device-model.md): a polling VM
/// is a device model; each device served by another VM
/// that is a device model, its disk a readable raw image of whole sectors, its network named;
/// no more devices than the transports and the VM table hold; and the addresses and INTIDs the
/// device model uses clear of each VM's own.
extension ConfigValidator {
    static func checkVirtio(_ config: SystemConfig, board: KnownBoard, into problems: inout ProblemList) {
        let models = config.vms.filter(\.deviceModel).map(\.name)
        let modelList = models.isEmpty ? "no VM has device_model = true" : "the device models are \(models.map { "\"\($0)\"" }.joined(separator: ", "))"
        var total = 0
        for (index, vm) in config.vms.enumerated() {
            let scope = vmScope(vm.name, index: index)
            total += vm.virtio.count
            if vm.deviceModelPoll && !vm.deviceModel {
                problems.add(scope, "device_model_poll", "only a device model polls (this VM has no device_model = true)",
                             fix: "add device_model = true to vm \"\(vm.name)\", or remove device_model_poll")
            }
            if vm.virtio.count > VirtioPlan.maxTransports {
                problems.add(scope, "virtio", "\(vm.virtio.count) virtio devices; a VM has at most \(VirtioPlan.maxTransports) transports (\(rangeString(VirtioPlan.transportWindow)))",
                             fix: "keep at most \(VirtioPlan.maxTransports) [[vm.virtio]] tables in this VM")
            }
            for (i, device) in vm.virtio.enumerated() {
                let key = "virtio[\(i)]."
                checkServer(device, of: vm, config: config, scope: scope, key: key + "served_by", modelList: modelList, into: &problems)
                checkDisk(device, config: config, scope: scope, key: key + "disk", into: &problems)
                switch (device.kind, device.network) {
                case (.net, nil):
                    problems.add(scope, key + "network", "missing; a net device is on a network",
                                 fix: "add network = \"lan\" (the frontends on one network are switched together)")
                case (.net, let name?) where name.trimmingCharacters(in: .whitespaces).isEmpty:
                    problems.add(scope, key + "network", "is empty", fix: "name the network, e.g. network = \"lan\"")
                case (.blk, _?), (.console, _?):
                    problems.add(scope, key + "network", "a \(device.kind.rawValue) device is on no network", fix: "remove network (it is for type = \"net\")")
                default:
                    break
                }
            }
            checkPools(vm, scope: scope, into: &problems)
        }
        if total > VirtioPlan.maxDevices {
            problems.add(nil, "virtio", "the VMs have \(total) virtio devices; Keel's VM table and a device model's request page hold at most \(VirtioPlan.maxDevices)",
                         fix: "keep at most \(VirtioPlan.maxDevices) [[vm.virtio]] tables in all")
        }
        checkDeviceModelAddresses(config, board: board, into: &problems)
    }

    /// `served_by` names another VM, which has `device_model = true`.
    private static func checkServer(_ device: VirtioDeviceConfig, of vm: VMConfig, config: SystemConfig, scope: String, key: String,
                                    modelList: String, into problems: inout ProblemList) {
        let others = config.vms.filter { $0.deviceModel && $0.name != vm.name }.map(\.name)
        let nameOne = others.isEmpty ? "add a [[vm]] with device_model = true (a Linux VM that runs keel-dm) and name it"
            : "name a device-model VM: \(others.map { "\"\($0)\"" }.joined(separator: ", "))"
        if device.servedBy == vm.name {
            problems.add(scope, key, "vm \"\(vm.name)\" cannot serve its own virtio devices (its vCPU would wait for itself)", fix: nameOne)
        } else if let server = config.vm(named: device.servedBy) {
            if !server.deviceModel {
                problems.add(scope, key, "vm \"\(server.name)\" is not a device model (\(modelList))",
                             fix: "add device_model = true to vm \"\(server.name)\", or \(nameOne)")
            }
        } else {
            let fix = nearest(device.servedBy, in: others).map { "did you mean \"\($0)\"?" } ?? nameOne
            problems.add(scope, key, "there is no vm \"\(device.servedBy)\"", fix: fix)
        }
    }

    /// `dma = "pool"`: each pool a multiple of 4 KiB of at least `minPoolSize` (one swiotlb
    /// segment: Linux's restricted-dma-pool hands out 2 KiB slots in runs of up to 128), and all
    /// of the VM's pools, carved from the top of its RAM, leaving RAM below them; `dma_pool`
    /// only with `dma = "pool"`.
    private static func checkPools(_ vm: VMConfig, scope: String, into problems: inout ProblemList) {
        var total: UInt64 = 0
        var last: String?
        for (i, device) in vm.virtio.enumerated() {
            let key = "virtio[\(i)].dma_pool"
            guard let size = device.poolSize else {
                if let size = device.dmaPool {
                    problems.add(scope, key, "\(sizeString(size)) given, but dma is \"shared\" (a pool is for dma = \"pool\")",
                                 fix: "add dma = \"pool\" (the frontend's kernel needs CONFIG_DMA_RESTRICTED_POOL), or remove dma_pool")
                }
                continue
            }
            if size < minPoolSize || size % 4096 != 0 {
                problems.add(scope, key, "\(sizeString(size)) is not a DMA pool Keel can map (a multiple of 4 KiB, at least \(sizeString(minPoolSize)))",
                             fix: "write dma_pool = \"4M\" (the default when dma_pool is left out)")
                continue
            }
            total = saturatingSum(total, size)
            last = key
        }
        if let last, total >= vm.memory.size {
            problems.add(scope, last, "the DMA pools take \(sizeString(total)), and the VM has \(sizeString(vm.memory.size)) of memory: none would be left for its kernel",
                         fix: "make dma_pool smaller (it is carved from the top of memory), or give the VM more memory.size")
        }
    }

    /// The smallest `dma_pool`: one swiotlb segment (128 slots of 2 KiB).
    public static let minPoolSize: UInt64 = 256 << 10

    /// blk: a readable, non-empty raw image of whole 512-byte sectors; other types: no disk.
    private static func checkDisk(_ device: VirtioDeviceConfig, config: SystemConfig, scope: String, key: String, into problems: inout ProblemList) {
        guard device.kind == .blk else {
            if device.disk != nil {
                problems.add(scope, key, "a \(device.kind.rawValue) device has no disk", fix: "remove disk (it is for type = \"blk\")")
            }
            return
        }
        guard let disk = device.disk else {
            problems.add(scope, key, "missing; a blk device serves a disk image", fix: "add disk = \"disk.img\" (a raw image, relative to this file)")
            return
        }
        let path = resolve(disk, in: config.directory)
        if let problem = fileProblem(path, written: disk, key: "disk") {
            let fix = problem.message.contains("is empty") ? "give a raw disk image of whole 512-byte sectors, e.g. truncate -s 64M \(disk)" : problem.fix
            problems.add(scope, key, problem.message, fix: fix)
        } else if !FileManager.default.isReadableFile(atPath: path) || FileHandle(forReadingAtPath: path) == nil {
            problems.add(scope, key, "\"\(disk)\" cannot be read (\(path))", fix: "check its permissions")
        } else if let size = fileSize(atPath: path), size % 512 != 0 {
            let up = (UInt64(size) + 511) / 512 * 512
            problems.add(scope, key, "\"\(disk)\" is \(size) bytes, not whole 512-byte sectors",
                         fix: "pad it to \(up) bytes: truncate -s \(up) \(disk)")
        }
    }

    /// The guest addresses and INTIDs of docs/device-model.md against each VM's own: a frontend's
    /// transports (all of them, the window Keel traps) and the INTIDs of those it has; a device
    /// model's request page, its windows onto the frontends' RAM and, if it serves any, its
    /// request INTID.
    private static func checkDeviceModelAddresses(_ config: SystemConfig, board: KnownBoard, into problems: inout ProblemList) {
        let plan = VirtioPlan(config)
        for (index, vm) in config.vms.enumerated() {
            let scope = vmScope(vm.name, index: index)
            var reserved: [(what: String, range: MemoryRange)] = []
            let serves = !plan.served(by: index).isEmpty
            if !vm.virtio.isEmpty {
                reserved.append(("its virtio transports", VirtioPlan.transportWindow))
            }
            if vm.deviceModel {
                reserved.append(("its device-model request page", VirtioPlan.requestPage))
                for window in plan.windowRanges(of: index, in: config) {
                    reserved.append(("its window onto vm \"\(config.vms[window.frontend].name)\"'s RAM", window.range))
                }
            }
            guard !reserved.isEmpty else { continue }
            // The INTIDs Keel raises in this VM, as the firmware counts them.
            func usedBy(_ intid: UInt32) -> String? {
                guard DeviceModel.usesINTID(intid, transports: vm.virtio.count, serves: serves) else { return nil }
                return serves && intid == VirtioPlan.requestINTID ? "its device-model request interrupt" : "the interrupt of its virtio transport \(intid - VirtioPlan.transportINTID(0))"
            }
            var own: [(key: String, what: String, range: MemoryRange)] = [("memory", "the VM's memory", vm.memory)]
            var seen: Set<String> = []
            var interrupts: [(key: String, intid: UInt32)] = []
            for (i, assignment) in vm.devices.enumerated() where seen.insert(assignment.name).inserted {
                guard let device = board.device(named: assignment.name), !device.hypervisorOwned else { continue }
                for range in assignment.mmio ?? [MemoryRange(base: device.base, size: device.size)] {
                    own.append(("devices[\(i)]", "device \"\(assignment.name)\"", range))
                }
                let ownINTIDs = device.intid == 0 ? [] : Array(device.intid..<(device.intid + device.interruptCount))
                for (j, intid) in (assignment.interrupts ?? ownINTIDs).enumerated() {
                    interrupts.append((assignment.interrupts == nil ? "devices[\(i)]" : "devices[\(i)].interrupts[\(j)]", intid))
                }
            }
            for (i, device) in vm.emulated.enumerated() {
                own.append(("emulated[\(i)].base", "the emulated \(device.kind.rawValue)", device.range))
            }
            for region in config.sharedMemory where region.vms.contains(vm.name) {
                own.append(("shared_memory \"\(region.name)\"", "shared memory \"\(region.name)\"", region.range))
            }
            for mine in own {
                for keel in reserved where keel.range.overlaps(mine.range) {
                    problems.add(scope, mine.key, "\(mine.what) (\(rangeString(mine.range))) overlaps \(keel.what) (\(rangeString(keel.range))), where Keel's device model is",
                                 fix: "move it clear of \(rangeString(keel.range))")
                }
            }
            for interrupt in interrupts {
                if let what = usedBy(interrupt.intid) {
                    problems.add(scope, interrupt.key, "INTID \(interrupt.intid) is \(what)",
                                 fix: "list the device's other interrupts in interrupts = [...], or pass through another device")
                }
            }
        }
    }
}
