/// A guest's request to send a software-generated interrupt (SGI), decoded into the INTID and
/// the vCPUs it goes to (bit n = vCPU n). Keel's vCPUs have MPIDR affinity Aff0 = n and all
/// other affinity fields zero, so a target outside that cluster matches no vCPU.
public struct SGIRequest: Equatable, Sendable {
    public var intid: UInt32
    public var targets: UInt32

    public init(intid: UInt32, targets: UInt32) {
        self.intid = intid
        self.targets = targets
    }

    private static func all(_ count: Int) -> UInt32 { count >= 32 ? ~0 : (1 << UInt32(count)) - 1 }

    /// GICv3 `ICC_SGI1R_EL1` (and SGI0R/ASGI1R, same layout): TargetList [15:0], Aff1 [23:16],
    /// INTID [27:24], Aff2 [39:32], IRM [40], RS [47:44], Aff3 [55:48].
    public init(iccSGIR value: UInt64, sender: Int, vcpuCount: Int) {
        intid = UInt32((value >> 24) & 0xF)
        let everyone = SGIRequest.all(vcpuCount)
        if value & (1 << 40) != 0 {
            targets = everyone & ~(1 << UInt32(sender))  // IRM: all but self
            return
        }
        let aff1 = (value >> 16) & 0xFF, aff2 = (value >> 32) & 0xFF, aff3 = (value >> 48) & 0xFF
        let rangeSelector = (value >> 44) & 0xF
        guard aff1 | aff2 | aff3 == 0, rangeSelector < 2 else { targets = 0; return }
        let list = UInt64(value & 0xFFFF) << (16 * rangeSelector)
        targets = UInt32(truncatingIfNeeded: list) & everyone
    }

    /// GICv2 `GICD_SGIR`: TargetListFilter [25:24] (0 list, 1 all but self, 2 self),
    /// CPUTargetList [23:16], SGIINTID [3:0].
    public init(gicdSGIR value: UInt32, sender: Int, vcpuCount: Int) {
        intid = value & 0xF
        let everyone = SGIRequest.all(vcpuCount)
        switch (value >> 24) & 3 {
        case 0: targets = (value >> 16) & 0xFF & everyone
        case 1: targets = everyone & ~(1 << UInt32(sender))
        case 2: targets = 1 << UInt32(sender)
        default: targets = 0
        }
    }
}
