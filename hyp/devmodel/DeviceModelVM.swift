import KeelHW

/// A VM's part in the device model (docs/device-model.md), kept in its VM slot: as a frontend,
/// the virtio transports Keel forwards for it; as a device-model VM, the devices it serves (the
/// entries of its request page). Set at boot from the VM table (`DeviceModelSetup`), before any
/// vCPU of the VM runs; afterwards only `broken` (atomics), `lock` and the queue state change.
struct DeviceModelVM {
    /// Its transports 0 ..< `transportCount`: the VM table's virtio records that name it as the
    /// frontend, in table order.
    var transportCount = 0
    var transports: [8 of Transport] = .init(repeating: Transport())  // DeviceModel.maxTransports
    /// The transports Keel gave up on (DEVICE_NEEDS_RESET), bit k for transport k, until the
    /// frontend resets the device with its device model running. Atomics only
    /// (`VMHandle.brokenWord`): set by the vCPU that timed out or by a stopping device model,
    /// cleared by the frontend's reset.
    var broken: UInt32 = 0
    /// Serializes updates of the transports' `queue` (the frontend's vCPUs write registers
    /// concurrently; a stopping device model completes requests with IOERR from its own CPU).
    var lock: UInt32 = 0
    /// Transports given up so far that were reported on the console; after
    /// `DeviceModelFailure.maxReports` only the page's status says so (a frontend resetting a
    /// dead device in a loop cannot flood the console).
    var failureReports: UInt32 = 0
    /// The devices it serves, in its request page's order; none: it may not make the
    /// device-model hypercalls, and has no request page.
    var deviceCount = 0
    /// Its answer page (`KEEL_DM_ANSWERS`): 1 + the page's offset in its RAM in pages, 0 for
    /// none. Atomics only (`VMHandle.answersWord`): set by its own call, read by the parked
    /// frontend CPUs, cleared when it restarts.
    var answers: UInt32 = 0
    var devices: [16 of ServedDevice] = .init(repeating: ServedDevice())  // DeviceModel.maxDevices
}

/// One transport of a frontend: who serves it and how long Keel waits for an answer.
struct Transport {
    /// The serving VM, and this device's index in its request page.
    var server = 0
    var device = 0
    /// The virtio device ID (1 net, 2 blk, 3 console).
    var type: UInt32 = 0
    /// The VM table's timeout, in counter ticks.
    var timeoutTicks: UInt64 = 0
    /// Queue 0 as the frontend set it up (blk's only request queue), learned from the writes
    /// Keel forwarded: what Keel needs to fail the requests a dead device model took.
    var queue = QueueSetup()
}

/// The registers of a split virtqueue a driver writes to set it up (virtio-mmio version 2).
struct QueueSetup {
    /// QueueSel as last written: only writes while queue 0 is selected are kept.
    var selected: UInt32 = 0
    var size: UInt32 = 0
    var ready: UInt32 = 0
    var descriptors: UInt64 = 0
    var driver: UInt64 = 0
    var device: UInt64 = 0
}

/// A device a device-model VM serves: transport `transport` of VM `frontend`.
struct ServedDevice {
    var frontend = 0
    var transport = 0
}
