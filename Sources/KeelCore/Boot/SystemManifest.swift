/// Several VMs in one packed image: a table saying where each VM runs (its physical CPUs and
/// RAM) and where its boot bundle (`BootBundle`) is. `keel pack` appends it to Keel's image in
/// place of a single bundle; the firmware validates all of it before any VM starts.
///
/// All fields little-endian. Header (64 bytes):
///
///     0  magic "KEELSYST"       16  total size (header, table and every bundle)
///     8  version (5)            24  VM count
///    12  header size (64)       28  CRC-32 of the header (this field zero) and the VM table
///
///    32  shared region count      36  the VM whose power-off powers the machine off, plus 1
///                                   (0: the last VM's)
///    40  device range count       44  passed-through interrupt count
///    48  virtio device count
///
/// VM record (80 bytes): name (16 bytes, NUL-padded), first physical CPU u32, CPU count u32,
/// RAM IPA u64, RAM PA u64, RAM size u64, bundle offset u64 (from the manifest's start),
/// bundle size u64, fault limit u32, reset limit u32 (0: none; Keel stops a VM that reaches
/// either), doorbell peers u32 (bit n: VM n), doorbell flags u32 (bit 0: the peers are the
/// config's `doorbell_peers`; clear: the VMs it shares a region with, and the peers field is
/// zero). Version 2 added the doorbell fields (version 1 had 8 reserved bytes there). Then the
/// shared regions (32 bytes each): PA u64, size u64, IPA u64 (the
/// same in every VM that maps it), VM mask u32 (bit n: VM n), reserved u32. Then the devices
/// passed through (version 3): MMIO ranges (32 bytes each): PA u64, size u64, IPA u64, owning VM
/// u32, reserved u32; and interrupts (8 bytes each): INTID u32, owning VM u32. Then the virtio
/// devices served by a device-model VM (version 4, docs/device-model.md; 48 bytes each since
/// version 5, 32 in version 4): frontend VM u32, serving VM u32, type u32 (virtio device ID),
/// timeout in ms u32, network u32, flags u32 (bit 0: a restricted DMA pool), pool IPA u64 and
/// pool size u64 (the frontend's guest addresses of its pool, inside its RAM; zero without the
/// flag), reserved u64. The checksum covers every table.
///
/// The checks are the firmware's defence against a damaged or hand-made image: every bundle
/// inside the manifest, each VM's CPUs on the board and no CPU given twice, RAM inside the
/// board's DRAM, away from Keel and the manifest, and no two VMs' RAM overlapping; each device
/// range page aligned, in the physical address space, outside DRAM, Keel's console and the GIC
/// (`Limits.keelDevices`), no other range, and at a guest address clear of its VM's RAM, shared
/// regions and Keel's emulated devices; each interrupt an SPI the vGIC has, not Keel's, given
/// once. Reading is bounds-checked and never allocates.
public struct SystemManifest {
    public static let magic: UInt64 = 0x5453_5953_4C45_454B  // "KEELSYST" little-endian
    public static let version: UInt32 = 5
    public static let headerSize = 64
    public static let recordSize = 80
    public static let maxVMs = 4
    public static let nameSize = 16
    public static let regionSize = 32
    public static let maxRegions = 4
    public static let deviceSize = 32
    public static let maxDevices = 8
    public static let interruptSize = 8
    public static let maxInterrupts = 16
    public static let virtioSize = 48
    public static var maxVirtio: Int { DeviceModel.maxDevices }
    /// The SPIs a device may bring: those the vGIC has (`VirtualDistributor.intidLimit`), less
    /// the INTIDs Keel uses in every VM (`reservedINTIDs`).
    public static let interruptLimit: UInt32 = 96
    /// The emulated console's SPI (INTID 33, also Keel's own UART's line) and the doorbell's.
    public static let reservedINTIDs: [2 of UInt32] = [33, SMCCC.doorbellINTID]

    /// A device range passed through to VM `vm`: `[pa, pa + size)` at `ipa` in its stage 2.
    public struct DeviceRange: Equatable, Sendable {
        public var pa: UInt64
        public var size: UInt64
        public var ipa: UInt64
        public var vm: UInt32
        public init(pa: UInt64, size: UInt64, ipa: UInt64, vm: UInt32) {
            self.pa = pa
            self.size = size
            self.ipa = ipa
            self.vm = vm
        }
    }

    /// A physical SPI delivered to VM `vm` as a hardware interrupt of the same INTID.
    public struct Interrupt: Equatable, Sendable {
        public var intid: UInt32
        public var vm: UInt32
        public init(intid: UInt32, vm: UInt32) {
            self.intid = intid
            self.vm = vm
        }
    }

    /// A virtio device of VM `frontend`, served by the device-model VM `servedBy`. The k-th
    /// record of a frontend is its transport k; the records a VM serves are its devices 0, 1, ...
    public struct Virtio: Equatable, Sendable {
        public var frontend: UInt32
        public var servedBy: UInt32
        /// The virtio device ID (`DeviceModel.DeviceType`).
        public var type: UInt32
        /// How long a forwarded access waits for the device model.
        public var timeoutMs: UInt32
        /// net: the switch it is on (frontends with the same non-zero value are connected); 0 otherwise.
        public var network: UInt32
        /// `dma = "pool"`: the frontend's restricted DMA pool, `[poolIPA, poolIPA + poolSize)` in
        /// its guest addresses (inside its RAM); size 0 for none (the device model may reach all
        /// of the frontend's RAM). Written with flags bit 0 (`flagPool`).
        public var poolIPA: UInt64 = 0
        public var poolSize: UInt64 = 0
        public init(frontend: UInt32, servedBy: UInt32, type: UInt32, timeoutMs: UInt32 = DeviceModel.defaultTimeoutMilliseconds, network: UInt32 = 0,
                    poolIPA: UInt64 = 0, poolSize: UInt64 = 0) {
            self.frontend = frontend
            self.servedBy = servedBy
            self.type = type
            self.timeoutMs = timeoutMs
            self.network = network
            self.poolIPA = poolIPA
            self.poolSize = poolSize
        }
        /// Whether the device has a restricted DMA pool.
        public var hasPool: Bool { poolSize != 0 }
        /// Flags bit 0: the record's pool fields name a restricted DMA pool.
        public static let flagPool: UInt32 = 1
        /// Where each field lies in the record.
        public static let flagsOffset = 20, poolIPAOffset = 24, poolSizeOffset = 32, reservedOffset = 40
    }

    /// Memory several VMs map, for rings and mailboxes beside the doorbell hypercall.
    public struct Region: Equatable, Sendable {
        public var pa: UInt64
        public var size: UInt64
        public var ipa: UInt64
        public var vms: UInt32
        public init(pa: UInt64, size: UInt64, ipa: UInt64, vms: UInt32) {
            self.pa = pa
            self.size = size
            self.ipa = ipa
            self.vms = vms
        }
    }

    public struct VMRecord: Equatable, Sendable {
        public var firstCPU: Int
        public var cpuCount: Int
        public var ramIPA: UInt64
        public var ramPA: UInt64
        public var ramSize: UInt64
        public var bundleOffset: UInt64
        public var bundleSize: UInt64
        /// Injected faults (UNDEF, external aborts) and SYSTEM_RESETs after which Keel stops the
        /// VM; 0 for no limit.
        public var faultLimit: UInt32 = 0
        public var resetLimit: UInt32 = 0
        /// The VMs it may ring with Keel's doorbell as the config lists them (bit n: VM n), or
        /// nil: those it shares a region with (`doorbellPeers(of:)`).
        public var doorbellPeers: UInt32? = nil

        public init(firstCPU: Int, cpuCount: Int, ramIPA: UInt64, ramPA: UInt64, ramSize: UInt64, bundleOffset: UInt64, bundleSize: UInt64) {
            self.firstCPU = firstCPU
            self.cpuCount = cpuCount
            self.ramIPA = ramIPA
            self.ramPA = ramPA
            self.ramSize = ramSize
            self.bundleOffset = bundleOffset
            self.bundleSize = bundleSize
        }
    }

    /// What the firmware's machine offers, to check the records against.
    public struct Limits: Sendable {
        public var cpus: Int
        public var dramBase: UInt64
        public var dramSize: UInt64
        /// Physical memory no VM may have: Keel's image, BSS and this manifest.
        public var reservedStart: UInt64
        public var reservedEnd: UInt64
        /// The DRAM Keel's EL2 map makes Normal memory (the firmware's: the 1 GiB block holding
        /// Keel). Keel copies images into each VM's RAM: RAM it maps as Device would take those
        /// stores as device accesses. Every VM's RAM and shared region must lie inside it.
        public var normalBase: UInt64
        public var normalSize: UInt64
        /// The end of the guest address space stage 2 gives a VM (its IPA size): every VM's RAM
        /// and shared region must end at or below it, or mapping them would fail at boot.
        public var ipaLimit: UInt64 = .max
        /// Guest addresses Keel maps for itself in every VM (a GICv2's virtual CPU interface),
        /// which no VM's RAM or shared region may cover; size 0 for none.
        public var deviceIPABase: UInt64 = 0
        public var deviceIPASize: UInt64 = 0
        /// The end of the physical address space: no device range reaches past it.
        public var paLimit: UInt64 = .max
        /// Physical ranges Keel drives itself (its console, the GIC's frames), which no device
        /// range may cover: `keelDeviceCount` of them.
        public var keelDevices: [6 of (base: UInt64, size: UInt64)] = .init(repeating: (0, 0))
        public var keelDeviceCount = 0
        /// Guest addresses of the devices Keel emulates in every VM (the virtual GIC, the
        /// console), which no device range's guest address may cover; size 0 for none.
        public var emulatedIPABase: UInt64 = 0
        public var emulatedIPASize: UInt64 = 0

        /// `normalBase`/`normalSize` default to all of DRAM (a host check without the firmware's map).
        public init(cpus: Int, dramBase: UInt64, dramSize: UInt64, reservedStart: UInt64, reservedEnd: UInt64,
                    normalBase: UInt64? = nil, normalSize: UInt64? = nil) {
            self.cpus = cpus
            self.dramBase = dramBase
            self.dramSize = dramSize
            self.reservedStart = reservedStart
            self.reservedEnd = reservedEnd
            self.normalBase = normalBase ?? dramBase
            self.normalSize = normalSize ?? dramSize
        }

        /// True when `[base, base + size)` lies in the Normal memory.
        public func normalHolds(_ base: UInt64, size: UInt64) -> Bool {
            base >= normalBase && base - normalBase <= normalSize && size <= normalSize - (base - normalBase)
        }
    }

    public enum Problem: Error, Equatable, Sendable {
        case tooSmall, badMagic, badVersion, badHeaderSize, badChecksum, badCount
        case bundleOutside(Int), cpusNotOnBoard(Int), cpuTwice(Int, Int), ramNotAligned(Int)
        case ramOutsideDRAM(Int), ramNotNormal(Int), ramOverKeel(Int), ramOverlap(Int, Int)
        case badRegionCount, regionNotAligned(Int), regionOutsideDRAM(Int), regionOverlap(Int), regionOverRAM(Int), regionVMs(Int), regionNotNormal(Int)
        case doorbellPeers(Int)
        case ramIPAOverflow(Int)
        case regionIPAOverflow(Int), regionIPAOverlap(Int), ipaOverDevice(Int)
        case badDeviceCount, deviceNotAligned(Int), deviceVM(Int), deviceOutsidePA(Int), deviceInDRAM(Int)
        case deviceOverKeel(Int), deviceOverlap(Int), deviceIPAOverlap(Int)
        case interruptNotPassable(Int), interruptVM(Int), interruptTwice(Int)
        case badVirtioCount, virtioVMs(Int), virtioType(Int), virtioTimeout(Int), virtioTransports(Int)
        case virtioWindow(Int), virtioINTID(Int), virtioPool(Int)

        @_optimize(size)
        public var message: StaticString {
            switch self {
            case .tooSmall: "shorter than its header says"
            case .badMagic: "no KEELSYST magic"
            case .badVersion: "unknown version"
            case .badHeaderSize: "wrong header size"
            case .badChecksum: "header checksum mismatch"
            case .badCount: "no VM, or more VMs than Keel has room for"
            case .bundleOutside: "a VM's boot bundle lies outside the manifest"
            case .cpusNotOnBoard: "a VM's CPUs are not all on this machine"
            case .cpuTwice: "a CPU is given to two VMs"
            case .ramNotAligned: "a VM's RAM is not 2 MiB aligned"
            case .ramOutsideDRAM: "a VM's RAM is outside the machine's DRAM"
            case .ramNotNormal: "a VM's RAM is outside the memory Keel's EL2 map makes Normal (the 1 GiB block holding Keel)"
            case .ramOverKeel: "a VM's RAM overlaps Keel or the packed images"
            case .ramOverlap: "two VMs' RAM overlap"
            case .badRegionCount: "more shared regions than Keel has room for"
            case .regionNotAligned: "a shared region is not 4 KiB aligned"
            case .regionOutsideDRAM: "a shared region is outside the machine's DRAM"
            case .regionOverlap: "a shared region overlaps Keel, the images, a VM's RAM or another region"
            case .regionOverRAM: "a shared region's IPA overlaps the RAM of a VM that maps it"
            case .regionVMs: "a shared region names VMs that do not exist"
            case .regionNotNormal: "a shared region is outside the memory Keel's EL2 map makes Normal (the 1 GiB block holding Keel)"
            case .doorbellPeers: "a VM's doorbell peers name VMs that do not exist, or unknown flags"
            case .ramIPAOverflow: "a VM's RAM reaches past the end of the IPA space"
            case .regionIPAOverflow: "a shared region reaches past the end of the IPA space"
            case .regionIPAOverlap: "two shared regions overlap in the address space of a VM that maps both"
            case .ipaOverDevice: "a VM's RAM or shared region covers the guest address of the virtual GIC's CPU interface"
            case .badDeviceCount: "more passed-through device ranges or interrupts than Keel has room for"
            case .deviceNotAligned: "a passed-through device range is empty or not 4 KiB aligned"
            case .deviceVM: "a passed-through device range names a VM that does not exist"
            case .deviceOutsidePA: "a passed-through device range reaches past the physical or guest address space"
            case .deviceInDRAM: "a passed-through device range lies in the machine's DRAM"
            case .deviceOverKeel: "a passed-through device range overlaps Keel's console or the GIC"
            case .deviceOverlap: "two passed-through device ranges overlap"
            case .deviceIPAOverlap: "a passed-through device's guest address overlaps its VM's RAM, a shared region or a device Keel emulates"
            case .interruptNotPassable: "a passed-through interrupt is not an SPI Keel can give a VM (INTIDs 32-95, not 33 or 47, which Keel uses)"
            case .interruptVM: "a passed-through interrupt names a VM that does not exist"
            case .interruptTwice: "an interrupt is passed through twice"
            case .badVirtioCount: "more virtio devices than Keel has room for"
            case .virtioVMs: "a virtio device names a VM that does not exist, or a device model serving itself"
            case .virtioType: "a virtio device of an unknown type, or with flags set"
            case .virtioTimeout: "a virtio device with a zero timeout"
            case .virtioTransports: "a VM with more virtio devices than its transport window holds"
            case .virtioWindow: "a virtio transport window, request page or DMA window overlaps a VM's RAM, shared region or device, or leaves the IPA space"
            case .virtioINTID: "a passed-through interrupt is one Keel raises for a virtio device in that VM"
            case .virtioPool: "a virtio device's DMA pool is empty, not 4 KiB aligned, not inside its frontend's RAM or over another of its pools"
            }
        }
    }

    /// The header and both tables, read and checked by `open`: a plain value, holding no
    /// reference to the manifest's bytes.
    public let totalSize: UInt64
    public let count: Int
    public let regionCount: Int
    public let deviceCount: Int
    public let interruptCount: Int
    public let virtioCount: Int
    let powerOffPlusOne: Int
    var records = InlineArray<4, VMRecord>(repeating: VMRecord(firstCPU: 0, cpuCount: 0, ramIPA: 0, ramPA: 0, ramSize: 0, bundleOffset: 0, bundleSize: 0))
    var regions = InlineArray<4, Region>(repeating: Region(pa: 0, size: 0, ipa: 0, vms: 0))
    var devices = InlineArray<8, DeviceRange>(repeating: DeviceRange(pa: 0, size: 0, ipa: 0, vm: 0))
    var interrupts = InlineArray<16, Interrupt>(repeating: Interrupt(intid: 0, vm: 0))
    var virtios = InlineArray<16, Virtio>(repeating: Virtio(frontend: 0, servedBy: 0, type: 0, timeoutMs: 0))
    /// Each VM's name field (NUL-padded), `nameSize` bytes per VM.
    var names = InlineArray<64, UInt8>(repeating: 0)

    /// The VM whose SYSTEM_OFF powers the machine off, or nil for the last VM's.
    public var powerOffWith: Int? { powerOffPlusOne == 0 ? nil : powerOffPlusOne - 1 }

    /// Validates the manifest at the start of `bytes` (all that may be read) against `limits`.
    @_optimize(size)
    public static func open(_ bytes: Span<UInt8>, _ limits: Limits) throws(Problem) -> SystemManifest {
        if let problem = check(bytes, limits) { throw problem }
        return SystemManifest(bytes)
    }

    /// Reads the header and tables; `check` has found them inside `bytes`.
    @_optimize(size)
    private init(_ bytes: Span<UInt8>) {
        totalSize = SystemManifest.u64(bytes, 16)
        count = min(Int(SystemManifest.u32(bytes, 24)), SystemManifest.maxVMs)
        regionCount = min(Int(SystemManifest.u32(bytes, 32)), SystemManifest.maxRegions)
        powerOffPlusOne = Int(SystemManifest.u32(bytes, 36))
        deviceCount = min(Int(SystemManifest.u32(bytes, 40)), SystemManifest.maxDevices)
        interruptCount = min(Int(SystemManifest.u32(bytes, 44)), SystemManifest.maxInterrupts)
        virtioCount = min(Int(SystemManifest.u32(bytes, 48)), SystemManifest.maxVirtio)
        for i in 0..<count {
            let at = SystemManifest.headerSize + i * SystemManifest.recordSize
            var r = VMRecord(firstCPU: Int(SystemManifest.u32(bytes, at + 16)), cpuCount: Int(SystemManifest.u32(bytes, at + 20)),
                             ramIPA: SystemManifest.u64(bytes, at + 24), ramPA: SystemManifest.u64(bytes, at + 32),
                             ramSize: SystemManifest.u64(bytes, at + 40), bundleOffset: SystemManifest.u64(bytes, at + 48),
                             bundleSize: SystemManifest.u64(bytes, at + 56))
            r.faultLimit = SystemManifest.u32(bytes, at + 64)
            r.resetLimit = SystemManifest.u32(bytes, at + 68)
            if SystemManifest.u32(bytes, at + 76) & SystemManifest.doorbellExplicit != 0 { r.doorbellPeers = SystemManifest.u32(bytes, at + 72) }
            records[i] = r
            for k in 0..<SystemManifest.nameSize { names[i * SystemManifest.nameSize + k] = bytes[at + k] }
        }
        for k in 0..<regionCount {
            let at = SystemManifest.headerSize + count * SystemManifest.recordSize + k * SystemManifest.regionSize
            regions[k] = Region(pa: SystemManifest.u64(bytes, at), size: SystemManifest.u64(bytes, at + 8),
                                ipa: SystemManifest.u64(bytes, at + 16), vms: SystemManifest.u32(bytes, at + 24))
        }
        let devicesAt = SystemManifest.tablesSize(count: count, regions: regionCount)
        for k in 0..<deviceCount {
            let at = devicesAt + k * SystemManifest.deviceSize
            devices[k] = DeviceRange(pa: SystemManifest.u64(bytes, at), size: SystemManifest.u64(bytes, at + 8),
                                     ipa: SystemManifest.u64(bytes, at + 16), vm: SystemManifest.u32(bytes, at + 24))
        }
        let interruptsAt = devicesAt + deviceCount * SystemManifest.deviceSize
        for k in 0..<interruptCount {
            let at = interruptsAt + k * SystemManifest.interruptSize
            interrupts[k] = Interrupt(intid: SystemManifest.u32(bytes, at), vm: SystemManifest.u32(bytes, at + 4))
        }
        let virtioAt = interruptsAt + interruptCount * SystemManifest.interruptSize
        for k in 0..<virtioCount {
            let at = virtioAt + k * SystemManifest.virtioSize
            virtios[k] = Virtio(frontend: SystemManifest.u32(bytes, at), servedBy: SystemManifest.u32(bytes, at + 4),
                                type: SystemManifest.u32(bytes, at + 8), timeoutMs: SystemManifest.u32(bytes, at + 12),
                                network: SystemManifest.u32(bytes, at + 16),
                                poolIPA: SystemManifest.u64(bytes, at + Virtio.poolIPAOffset),
                                poolSize: SystemManifest.u64(bytes, at + Virtio.poolSizeOffset))
        }
    }

    /// Bytes of header, VM table, region table and the device and interrupt tables.
    public static func tablesSize(count: Int, regions: Int, devices: Int = 0, interrupts: Int = 0, virtio: Int = 0) -> Int {
        headerSize + count * recordSize + regions * regionSize + devices * deviceSize + interrupts * interruptSize + virtio * virtioSize
    }

    /// Virtio device `index` (below `virtioCount`).
    public func virtio(_ index: Int) -> Virtio { virtios[index] }

    /// Virtio device `index`'s transport in its frontend: how many records before it name the
    /// same frontend.
    public func transport(ofVirtio index: Int) -> Int {
        var k = 0
        for j in 0..<min(index, virtioCount) where virtios[j].frontend == virtios[index].frontend { k += 1 }
        return k
    }

    /// Whether device model `server` reaches frontend `frontend` only through restricted DMA
    /// pools: every device of that frontend it serves has one. Keel then maps only the pools into
    /// its window onto that frontend, not the frontend's whole RAM.
    public func poolsOnly(frontend: Int, server: Int) -> Bool {
        var any = false
        for k in 0..<virtioCount where virtios[k].frontend == UInt32(truncatingIfNeeded: frontend) && virtios[k].servedBy == UInt32(truncatingIfNeeded: server) {
            if !virtios[k].hasPool { return false }
            any = true
        }
        return any
    }

    /// How many virtio transports VM `vm` has, and whether it serves any device.
    public func virtioUse(of vm: Int) -> (transports: Int, serves: Bool) {
        var transports = 0, serves = false
        for k in 0..<virtioCount {
            if virtios[k].frontend == UInt32(truncatingIfNeeded: vm) { transports += 1 }
            if virtios[k].servedBy == UInt32(truncatingIfNeeded: vm) { serves = true }
        }
        return (transports, serves)
    }

    /// Passed-through device range `index` (below `deviceCount`).
    public func device(_ index: Int) -> DeviceRange { devices[index] }

    /// Passed-through interrupt `index` (below `interruptCount`).
    public func interrupt(_ index: Int) -> Interrupt { interrupts[index] }

    /// Shared region `index` (below `regionCount`).
    public func region(_ index: Int) -> Region { regions[index] }

    /// True when `bytes` starts with the manifest's magic (a packed image with several VMs).
    public static func present(_ bytes: Span<UInt8>) -> Bool { bytes.count >= 8 && u64(bytes, 0) == magic }

    /// VM `index`'s record (below `count`).
    public func record(_ index: Int) -> VMRecord { records[index] }

    /// Doorbell flags, bit 0: the record's peers field is the config's list.
    public static let doorbellExplicit: UInt32 = 1

    /// The VMs VM `index` may ring with Keel's doorbell, one bit each (bit n: VM n).
    public func doorbellPeers(of index: Int) -> UInt32 {
        guard index >= 0, index < count else { return 0 }
        var sharing: UInt32 = 0
        for k in 0..<regionCount {
            let vms = region(k).vms
            if vms & (1 << UInt32(index)) != 0 { sharing |= vms }
        }
        return SystemManifest.doorbellPeers(of: index, count: count, explicit: record(index).doorbellPeers, sharing: sharing)
    }

    /// Who VM `index` of `count` may ring: itself always; the VMs of its explicit list when the
    /// config gave one (`doorbell_peers`), else `sharing`, the VMs of the shared regions it is
    /// in. Never a VM at or past `count`, nor anything for an index outside the table.
    public static func doorbellPeers(of index: Int, count: Int, explicit: UInt32?, sharing: UInt32) -> UInt32 {
        guard count > 0, count <= 32, index >= 0, index < count else { return 0 }
        let existing: UInt32 = count == 32 ? ~0 : (1 << UInt32(count)) &- 1
        return ((explicit ?? sharing) | 1 << UInt32(index)) & existing
    }

    /// VM `index`'s name: its name field (16 bytes, NUL-padded) and how many of them are the name.
    public func name(_ index: Int) -> (field: [16 of UInt8], count: Int) {
        var field = InlineArray<16, UInt8>(repeating: 0)
        var length = 0
        for k in 0..<SystemManifest.nameSize {
            field[k] = names[index * SystemManifest.nameSize + k]
            if field[k] != 0 && length == k { length = k + 1 }
        }
        return (field, length)
    }

    /// Where VM `index`'s boot bundle lies in the manifest's bytes (still to be checked with
    /// `BootBundle.open` against its RAM); inside `totalSize` (`open` checked).
    public func bundle(_ index: Int) -> Range<Int> {
        let r = record(index)
        return Int(r.bundleOffset)..<(Int(r.bundleOffset) + Int(r.bundleSize))
    }

    @_optimize(size)  // once per boot: small beats fast
    private static func check(_ bytes: Span<UInt8>, _ limits: Limits) -> Problem? {
        guard bytes.count >= headerSize else { return .tooSmall }
        guard u64(bytes, 0) == magic else { return .badMagic }
        guard u32(bytes, 8) == version else { return .badVersion }
        guard u32(bytes, 12) == UInt32(headerSize) else { return .badHeaderSize }
        let total = u64(bytes, 16)
        let count = Int(u32(bytes, 24))
        guard count >= 1, count <= maxVMs else { return .badCount }
        let regions = Int(u32(bytes, 32))
        guard regions <= maxRegions else { return .badRegionCount }
        guard Int(u32(bytes, 36)) <= count else { return .badCount }
        let devices = Int(u32(bytes, 40)), interrupts = Int(u32(bytes, 44))
        guard devices <= maxDevices, interrupts <= maxInterrupts else { return .badDeviceCount }
        let virtio = Int(u32(bytes, 48))
        guard virtio <= maxVirtio else { return .badVirtioCount }
        let tableEnd = UInt64(tablesSize(count: count, regions: regions, devices: devices, interrupts: interrupts, virtio: virtio))
        guard total <= UInt64(bytes.count), total >= tableEnd else { return .tooSmall }
        guard u32(bytes, 28) == headerChecksum(bytes, count: count, regions: regions, devices: devices, interrupts: interrupts, virtio: virtio) else { return .badChecksum }
        let manifest = SystemManifest(bytes)
        let dramEnd = limits.dramBase &+ limits.dramSize
        for i in 0..<count {
            let r = manifest.record(i)
            guard r.bundleOffset >= tableEnd, r.bundleOffset <= total, r.bundleSize <= total - r.bundleOffset else { return .bundleOutside(i) }
            guard r.cpuCount >= 1, r.firstCPU >= 0, r.firstCPU < limits.cpus, r.cpuCount <= limits.cpus - r.firstCPU else { return .cpusNotOnBoard(i) }
            let twoMiB: UInt64 = 2 << 20
            guard r.ramSize > 0, r.ramPA % twoMiB == 0, r.ramIPA % twoMiB == 0, r.ramSize % twoMiB == 0 else { return .ramNotAligned(i) }
            // The RAM's IPA range must not wrap (every later sum of ramIPA and ramSize is then
            // safe) and must fit the stage-2 IPA space.
            guard r.ramSize <= limits.ipaLimit, r.ramIPA <= limits.ipaLimit - r.ramSize else { return .ramIPAOverflow(i) }
            guard limits.deviceIPASize == 0 || !Interval.overlap(r.ramIPA, r.ramSize, limits.deviceIPABase, limits.deviceIPASize) else {
                return .ipaOverDevice(i)
            }
            guard r.ramPA >= limits.dramBase, r.ramPA < dramEnd, r.ramSize <= dramEnd - r.ramPA else { return .ramOutsideDRAM(i) }
            guard limits.normalHolds(r.ramPA, size: r.ramSize) else { return .ramNotNormal(i) }
            guard !(Interval.isBelow(limits.reservedStart, sumOf: r.ramPA, r.ramSize) && r.ramPA < limits.reservedEnd) else { return .ramOverKeel(i) }
            let at = headerSize + i * recordSize
            let peers = u32(bytes, at + 72), flags = u32(bytes, at + 76)
            guard flags & ~doorbellExplicit == 0, peers >> UInt32(count) == 0,
                  flags & doorbellExplicit != 0 || peers == 0 else { return .doorbellPeers(i) }
            for j in 0..<i {
                let o = manifest.record(j)
                if r.firstCPU < o.firstCPU + o.cpuCount && o.firstCPU < r.firstCPU + r.cpuCount { return .cpuTwice(j, i) }
                if Interval.overlap(r.ramPA, r.ramSize, o.ramPA, o.ramSize) { return .ramOverlap(j, i) }
            }
        }
        for k in 0..<regions {
            let g = manifest.region(k)
            guard g.size > 0, g.pa % 4096 == 0, g.size % 4096 == 0, g.ipa % 4096 == 0 else { return .regionNotAligned(k) }
            guard g.pa >= limits.dramBase, g.pa < dramEnd, g.size <= dramEnd - g.pa else { return .regionOutsideDRAM(k) }
            guard g.size <= limits.ipaLimit, g.ipa <= limits.ipaLimit - g.size else { return .regionIPAOverflow(k) }
            guard limits.deviceIPASize == 0 || !Interval.overlap(g.ipa, g.size, limits.deviceIPABase, limits.deviceIPASize) else {
                return .ipaOverDevice(k)
            }
            guard limits.normalHolds(g.pa, size: g.size) else { return .regionNotNormal(k) }
            guard g.vms != 0, g.vms >> UInt32(count) == 0 else { return .regionVMs(k) }
            if g.pa < limits.reservedEnd && Interval.isBelow(limits.reservedStart, sumOf: g.pa, g.size) {
                return .regionOverlap(k)
            }
            for i in 0..<count {
                let r = manifest.record(i)
                if Interval.overlap(g.pa, g.size, r.ramPA, r.ramSize) { return .regionOverlap(k) }
                if g.vms & (1 << UInt32(i)) != 0 && Interval.overlap(g.ipa, g.size, r.ramIPA, r.ramSize) { return .regionOverRAM(k) }
            }
            for l in 0..<k {
                let o = manifest.region(l)
                if Interval.overlap(g.pa, g.size, o.pa, o.size) { return .regionOverlap(k) }
                // Stage 2 maps each region of a VM once: two at one IPA would not both map.
                if g.vms & o.vms != 0 && Interval.overlap(g.ipa, g.size, o.ipa, o.size) { return .regionIPAOverlap(k) }
            }
        }
        if let problem = checkDevices(manifest, limits) { return problem }
        if let problem = checkVirtio(manifest, limits) { return problem }
        // Flags other than the pool's and the reserved word: zero in version 5, so a later
        // version's meaning is never half-understood. Without the pool flag, no pool fields; with
        // it, a page-aligned pool inside the frontend's RAM (`checkVirtio` checked the RAM).
        let virtioAt = Int(tableEnd) - virtio * virtioSize
        for k in 0..<virtio {
            let at = virtioAt + k * virtioSize
            let flags = u32(bytes, at + Virtio.flagsOffset)
            guard flags & ~Virtio.flagPool == 0, u64(bytes, at + Virtio.reservedOffset) == 0 else { return .virtioType(k) }
            let v = manifest.virtio(k)
            guard flags & Virtio.flagPool != 0 else {
                if v.poolIPA != 0 || v.poolSize != 0 { return .virtioPool(k) }
                continue
            }
            let ram = manifest.record(Int(v.frontend))
            guard v.poolSize > 0, (v.poolIPA | v.poolSize) % 4096 == 0, v.poolIPA >= ram.ramIPA, v.poolSize <= ram.ramSize,
                  v.poolIPA - ram.ramIPA <= ram.ramSize - v.poolSize else { return .virtioPool(k) }
            // The firmware maps each pool of a frontend once into its device model's window: two
            // overlapping would map one page twice.
            for j in 0..<k where manifest.virtio(j).frontend == v.frontend && manifest.virtio(j).hasPool {
                if Interval.overlap(v.poolIPA, v.poolSize, manifest.virtio(j).poolIPA, manifest.virtio(j).poolSize) { return .virtioPool(k) }
            }
        }
        return nil
    }

    /// The virtio records (`check` has read the tables): VMs that exist, no device model
    /// serving itself, known types, a timeout, at most `DeviceModel.maxTransports` per frontend;
    /// each frontend's transport window and each device model's request page and DMA windows
    /// clear of that VM's RAM, shared regions and passed-through devices, inside its IPA space;
    /// and no passed-through interrupt of a VM that Keel raises there for virtio.
    @_optimize(size)
    private static func checkVirtio(_ manifest: SystemManifest, _ limits: Limits) -> Problem? {
        /// Whether `[ipa, ipa + size)` is clear of what VM `vm` already has at guest addresses.
        @_optimize(size)
        func clear(_ ipa: UInt64, _ size: UInt64, in vm: Int) -> Bool {
            guard size <= limits.ipaLimit, ipa <= limits.ipaLimit - size else { return false }
            let r = manifest.record(vm)
            if Interval.overlap(ipa, size, r.ramIPA, r.ramSize) { return false }
            if limits.emulatedIPASize > 0 && Interval.overlap(ipa, size, limits.emulatedIPABase, limits.emulatedIPASize) { return false }
            if limits.deviceIPASize > 0 && Interval.overlap(ipa, size, limits.deviceIPABase, limits.deviceIPASize) { return false }
            for g in 0..<manifest.regionCount where manifest.region(g).vms & (1 << UInt32(vm)) != 0 {
                if Interval.overlap(ipa, size, manifest.region(g).ipa, manifest.region(g).size) { return false }
            }
            for d in 0..<manifest.deviceCount where manifest.device(d).vm == UInt32(vm) {
                if Interval.overlap(ipa, size, manifest.device(d).ipa, manifest.device(d).size) { return false }
            }
            return true
        }
        for k in 0..<manifest.virtioCount {
            let v = manifest.virtio(k)
            guard v.frontend < UInt32(manifest.count), v.servedBy < UInt32(manifest.count), v.frontend != v.servedBy else { return .virtioVMs(k) }
            guard DeviceModel.DeviceType(rawValue: v.type) != nil else { return .virtioType(k) }
            guard v.timeoutMs > 0 else { return .virtioTimeout(k) }
            guard manifest.transport(ofVirtio: k) < DeviceModel.maxTransports else { return .virtioTransports(k) }
            let frontend = Int(v.frontend), server = Int(v.servedBy)
            guard clear(DeviceModel.transportIPA, DeviceModel.transportWindow, in: frontend),
                  clear(DeviceModel.requestPageIPA, DeviceModel.requestPageSize, in: server) else { return .virtioWindow(k) }
            let ram = manifest.record(frontend).ramSize
            guard ram <= DeviceModel.windowSpan, clear(DeviceModel.windowIPA(frontend: frontend), ram, in: server) else { return .virtioWindow(k) }
        }
        for q in 0..<manifest.interruptCount {
            let i = manifest.interrupt(q)
            let use = manifest.virtioUse(of: Int(i.vm))
            if DeviceModel.usesINTID(i.intid, transports: use.transports, serves: use.serves) { return .virtioINTID(q) }
        }
        return nil
    }

    /// The passed-through device ranges and interrupts (`check` has read the tables).
    @_optimize(size)
    private static func checkDevices(_ manifest: SystemManifest, _ limits: Limits) -> Problem? {
        let dramEnd = limits.dramBase &+ limits.dramSize
        for k in 0..<manifest.deviceCount {
            let d = manifest.device(k)
            guard d.size > 0, (d.pa | d.size | d.ipa) % 4096 == 0 else { return .deviceNotAligned(k) }
            guard d.vm < UInt32(manifest.count) else { return .deviceVM(k) }
            guard d.size <= limits.paLimit, d.pa <= limits.paLimit - d.size,
                  d.size <= limits.ipaLimit, d.ipa <= limits.ipaLimit - d.size else { return .deviceOutsidePA(k) }
            if Interval.overlap(d.pa, d.size, limits.dramBase, dramEnd - limits.dramBase) { return .deviceInDRAM(k) }
            for n in 0..<min(limits.keelDeviceCount, 6) where limits.keelDevices[n].size > 0 {
                if Interval.overlap(d.pa, d.size, limits.keelDevices[n].base, limits.keelDevices[n].size) { return .deviceOverKeel(k) }
            }
            // Its guest address: clear of what stage 2 maps or Keel emulates in its VM.
            let r = manifest.record(Int(d.vm))
            if Interval.overlap(d.ipa, d.size, r.ramIPA, r.ramSize) { return .deviceIPAOverlap(k) }
            if limits.emulatedIPASize > 0 && Interval.overlap(d.ipa, d.size, limits.emulatedIPABase, limits.emulatedIPASize) { return .deviceIPAOverlap(k) }
            if limits.deviceIPASize > 0 && Interval.overlap(d.ipa, d.size, limits.deviceIPABase, limits.deviceIPASize) { return .deviceIPAOverlap(k) }
            for g in 0..<manifest.regionCount where manifest.region(g).vms & (1 << d.vm) != 0 {
                if Interval.overlap(d.ipa, d.size, manifest.region(g).ipa, manifest.region(g).size) { return .deviceIPAOverlap(k) }
            }
            for l in 0..<k {
                let o = manifest.device(l)
                if Interval.overlap(d.pa, d.size, o.pa, o.size) { return .deviceOverlap(k) }
                if o.vm == d.vm && Interval.overlap(d.ipa, d.size, o.ipa, o.size) { return .deviceIPAOverlap(k) }
            }
        }
        for k in 0..<manifest.interruptCount {
            let q = manifest.interrupt(k)
            guard q.intid >= 32, q.intid < interruptLimit, q.intid != reservedINTIDs[0], q.intid != reservedINTIDs[1] else {
                return .interruptNotPassable(k)
            }
            guard q.vm < UInt32(manifest.count) else { return .interruptVM(k) }
            for l in 0..<k where manifest.interrupt(l).intid == q.intid { return .interruptTwice(k) }
        }
        return nil
    }

    /// CRC-32 of the header with its checksum field read as zero, then the VM and region tables
    /// and the device tables (`bytes` holds at least all of them).
    public static func headerChecksum(_ bytes: Span<UInt8>, count: Int, regions: Int = 0, devices: Int = 0, interrupts: Int = 0, virtio: Int = 0) -> UInt32 {
        var crc = CRC32.checksum(bytes.extracting(0..<28))
        crc = CRC32.checksumOfZeros(4, initial: crc)
        return CRC32.checksum(bytes.extracting(32..<tablesSize(count: count, regions: regions, devices: devices, interrupts: interrupts, virtio: virtio)), initial: crc)
    }

    static func u64(_ bytes: Span<UInt8>, _ offset: Int) -> UInt64 { LittleEndian.load(8, at: offset, in: bytes) }
    static func u32(_ bytes: Span<UInt8>, _ offset: Int) -> UInt32 { UInt32(LittleEndian.load(4, at: offset, in: bytes)) }
}
