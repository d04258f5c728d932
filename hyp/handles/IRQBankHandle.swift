/// One `IRQBank` of the vGIC: a vCPU's private bank (INTIDs 0-31) or one of its VM's SPI banks.
/// A handle, not a copy: a bank is 96 bytes, and copying banks was most of the interrupt paths'
/// cost.
@safe
struct IRQBankHandle {
    /// Safety: points into a vCPU or VM pool slot (see VCPUHandle, VMHandle): stable for the
    /// firmware's life.
    private let address: UnsafeMutablePointer<IRQBank>

    /// `vcpu`'s own bank: SGIs and PPIs.
    @inline(__always)
    init(privateOf vcpu: VCPUHandle) {
        unsafe address = withUnsafeMutablePointer(to: &vcpu.state.vgic.bank) { unsafe $0 }
    }

    /// The bank of `vm` holding SPI `intid`, which must be one of the VM's SPIs (32 up to
    /// `VirtualDistributor.intidLimit`: checked).
    @inline(__always)
    init(spiOf vm: VMHandle, _ intid: Int) {
        let index = intid / 32 - 1
        precondition(index >= 0 && index < VirtualDistributor.spiCount / 32)
        // Safety: `spis` is an InlineArray stored inline in the VM's slot; `index` is in it.
        unsafe address = withUnsafeMutablePointer(to: &vm.state.vgic.spis) {
            unsafe UnsafeMutableRawPointer($0).assumingMemoryBound(to: IRQBank.self) + index
        }
    }

    var state: IRQBank {
        @inline(__always) unsafeAddress { unsafe UnsafePointer(address) }
        @inline(__always) nonmutating unsafeMutableAddress { unsafe address }
    }
}
