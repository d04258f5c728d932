import KeelBoards

/// A config that passed `ConfigValidator`: the board it names and each VM with its files
/// resolved (absolute paths) and its kernel kind known.
public struct ValidatedSystem {
    public var config: SystemConfig
    public var board: KnownBoard
    public var vms: [ValidatedVM]
}

public struct ValidatedVM {
    public var config: VMConfig
    public var kind: VMConfig.KernelKind
    public var kernelPath: String
    public var initrdPath: String?
    /// nil: generate the device tree.
    public var dtbPath: String?
    /// Where vCPU 0 starts a raw binary (IPA).
    public var entry: UInt64
    public var name: String { config.name }
}
