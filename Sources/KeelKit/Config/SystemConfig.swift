/// The system a `system.toml` describes, as plain values: which board, the VMs on it and the
/// memory they share. `ConfigReader` builds it from the file, `ConfigValidator` checks it against
/// the board before anything is packed or booted.
public struct SystemConfig: Equatable, Sendable {
    /// The config file as named in messages (the path given on the command line).
    public var file: String
    /// The directory relative paths are resolved against: the config file's.
    public var directory: String
    public var board: String
    public var vms: [VMConfig]
    public var sharedMemory: [SharedMemoryConfig]
    /// The VM whose power-off powers the machine off (`power_off_with`); nil: the last VM's.
    public var powerOffWith: String? = nil
    /// `[qemu] args`: more of QEMU's command line for `keel run` (devices to pass through,
    /// their disks), with every `file=PATH` option's relative PATH resolved against `directory`.
    public var qemuArguments: [String] = []

    public init(file: String, directory: String, board: String, vms: [VMConfig], sharedMemory: [SharedMemoryConfig]) {
        self.file = file
        self.directory = directory
        self.board = board
        self.vms = vms
        self.sharedMemory = sharedMemory
    }

    public func vm(named name: String) -> VMConfig? { vms.first { $0.name == name } }
}

/// A range of guest-physical (IPA) addresses.
public struct MemoryRange: Equatable, Sendable {
    public var base: UInt64
    public var size: UInt64
    public init(base: UInt64, size: UInt64) {
        self.base = base
        self.size = size
    }
    /// One past the last byte; saturates instead of wrapping for ranges at the top.
    public var end: UInt64 { base.addingReportingOverflow(size).overflow ? .max : base + size }
    public func overlaps(_ other: MemoryRange) -> Bool {
        size > 0 && other.size > 0 && base < other.end && other.base < end
    }
    public func contains(_ other: MemoryRange) -> Bool { other.base >= base && other.end <= end }
}

public struct VMConfig: Equatable, Sendable {
    public enum KernelKind: String, Equatable, CaseIterable, Sendable {
        /// A Linux arm64 Image, booted with the Linux boot protocol (DTB in x0).
        case linux
        /// A raw binary, entered at `entry` (default: the start of the VM's memory).
        case raw
    }

    /// Where the guest's device tree comes from.
    public enum DeviceTreeSource: Equatable, Sendable {
        /// Keel writes one describing exactly this VM.
        case generate
        /// A DTB file, passed as is.
        case file(String)
    }

    public var name: String
    /// Physical CPUs the VM's vCPUs are pinned to, vCPU i on `cpus[i]`.
    public var cpus: [Int]
    public var memory: MemoryRange
    /// `memory.identity`: the VM's RAM at the physical address equal to its guest address
    /// (IPA = PA), for devices that master the bus (DMA) with no SMMU to translate for them.
    public var identityMemory = false
    /// Paths as written in the file, resolved against `SystemConfig.directory`.
    public var kernel: String
    /// nil: from the file (an arm64 Image header means Linux).
    public var kind: KernelKind?
    public var entry: UInt64?
    public var initrd: String?
    public var dtb: DeviceTreeSource
    public var bootargs: String?
    public var devices: [DeviceAssignment]
    public var emulated: [EmulatedDevice]
    /// Containment policy: after this many injected faults (UNDEF, external aborts), or this many
    /// PSCI SYSTEM_RESETs, Keel stops the VM (an exception storm, a crash loop); nil: never.
    public var faultLimit: UInt64? = nil
    public var resetLimit: UInt64? = nil
    /// The VMs it may ring with Keel's doorbell (`doorbell_peers`, by name); nil: those it
    /// shares memory with. It may always ring itself.
    public var doorbellPeers: [String]? = nil
    /// `device_model = true`: the VM is a device model (docs/device-model.md). It may serve other
    /// VMs' `[[vm.virtio]]` devices; a Linux one gets `keel pack`'s keel-dm initramfs.
    public var deviceModel = false
    /// `device_model_poll = true` (only with `device_model`): its initramfs runs `keel-dm --poll`,
    /// which spins on the request page instead of waiting for Keel's request interrupt (give it
    /// a vCPU that has nothing else to do).
    public var deviceModelPoll = false
    /// `[[vm.virtio]]`: the virtio devices this VM sees (transport k is the k-th), each served
    /// by a device-model VM.
    public var virtio: [VirtioDeviceConfig] = []

    public init(name: String, cpus: [Int], memory: MemoryRange, kernel: String, kind: KernelKind?, entry: UInt64? = nil,
                initrd: String? = nil, dtb: DeviceTreeSource = .generate, bootargs: String? = nil,
                devices: [DeviceAssignment] = [], emulated: [EmulatedDevice] = []) {
        self.name = name
        self.cpus = cpus
        self.memory = memory
        self.kernel = kernel
        self.kind = kind
        self.entry = entry
        self.initrd = initrd
        self.dtb = dtb
        self.bootargs = bootargs
        self.devices = devices
        self.emulated = emulated
    }
}

/// A board device the VM owns (passed through): its MMIO window(s) mapped into the VM, its
/// interrupts routed to it. Without `mmio`/`interrupts`, the board's values.
public struct DeviceAssignment: Equatable, Sendable {
    public var name: String
    public var mmio: [MemoryRange]?
    public var interrupts: [UInt32]?
    public init(name: String, mmio: [MemoryRange]? = nil, interrupts: [UInt32]? = nil) {
        self.name = name
        self.mmio = mmio
        self.interrupts = interrupts
    }
}

/// One `[[vm.virtio]]` table: a virtio-mmio device of the VM it is under (the frontend), served
/// by the device-model VM `servedBy`.
public struct VirtioDeviceConfig: Equatable, Sendable {
    /// `type`; the raw values are the config's words.
    public enum Kind: String, Equatable, CaseIterable, Sendable {
        case blk, net, console
    }
    /// `dma`: how the device model reaches the frontend's buffers.
    public enum DMA: String, Equatable, CaseIterable, Sendable {
        /// The device model sees the frontend's whole RAM (the default).
        case shared
        /// A `restricted-dma-pool` of `dma_pool` bytes carved from the top of the frontend's RAM
        /// (`VirtioPlan`): the frontend's kernel bounces every buffer through it, and the device
        /// model sees only the pools (docs/device-model.md). Needs CONFIG_DMA_RESTRICTED_POOL.
        case pool
    }
    /// A pool's size without `dma_pool`.
    public static let defaultPoolSize: UInt64 = 4 << 20
    public var kind: Kind
    /// The VM that serves it (`served_by`), by name.
    public var servedBy: String
    /// `disk` (blk): a raw image, as written in the file (relative to it).
    public var disk: String?
    /// `network` (net): frontends on the same name are switched together.
    public var network: String?
    /// `timeout_ms`; nil: `DeviceModel`'s default.
    public var timeoutMs: UInt64?
    public var dma: DMA = .shared
    /// `dma_pool` (with `dma = "pool"`): the pool's size; nil: `defaultPoolSize`.
    public var dmaPool: UInt64?
    /// The pool's size when `dma = "pool"`, else nil.
    public var poolSize: UInt64? { dma == .pool ? dmaPool ?? Self.defaultPoolSize : nil }

    public init(kind: Kind, servedBy: String, disk: String? = nil, network: String? = nil, timeoutMs: UInt64? = nil, dma: DMA = .shared,
                dmaPool: UInt64? = nil) {
        self.kind = kind
        self.servedBy = servedBy
        self.disk = disk
        self.network = network
        self.timeoutMs = timeoutMs
        self.dma = dma
        self.dmaPool = dmaPool
    }
}

/// A device Keel emulates for the VM at a guest address.
public struct EmulatedDevice: Equatable, Sendable {
    public enum Kind: String, Equatable, CaseIterable, Sendable {
        /// The console: an Arm PL011 whose bytes go to Keel's UART.
        case pl011
    }
    public var kind: Kind
    public var base: UInt64
    public var interrupt: UInt32?

    /// The MMIO window each kind occupies.
    public var range: MemoryRange { MemoryRange(base: base, size: 0x1000) }

    public init(kind: Kind, base: UInt64, interrupt: UInt32? = nil) {
        self.kind = kind
        self.base = base
        self.interrupt = interrupt
    }
}

/// Memory two or more VMs share, mapped at `ipa` in each of them.
public struct SharedMemoryConfig: Equatable, Sendable {
    public var name: String
    public var size: UInt64
    public var ipa: UInt64
    public var vms: [String]
    public init(name: String, size: UInt64, ipa: UInt64, vms: [String]) {
        self.name = name
        self.size = size
        self.ipa = ipa
        self.vms = vms
    }
    public var range: MemoryRange { MemoryRange(base: ipa, size: size) }
}
