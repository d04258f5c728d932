import KeelHW

/// PSCI as the guest sees it. Keel answers every call itself; the real firmware below is only
/// reached when the whole machine must power off.
enum VirtualPSCI {
    /// The functions implemented here; PSCI_FEATURES answers from this list.
    private static func implemented(_ function: UInt32) -> Bool {
        function == PSCI.version || function == PSCI.features || function == PSCI.systemOff
    }

    static func call(_ vcpu: UnsafeMutablePointer<VCPU>, _ function: UInt32) {
        switch function {
        case PSCI.version:
            vcpu.pointee.setX(0, PSCI.version1_1)
        case PSCI.features:
            let queried = UInt32(truncatingIfNeeded: vcpu.pointee.x(1))
            vcpu.pointee.setResult(implemented(queried) ? PSCI.success : PSCI.notSupported)
        case PSCI.systemOff:
            systemOff(vcpu)
        default:
            vcpu.pointee.setResult(PSCI.notSupported)
        }
    }

    /// SYSTEM_OFF powers off the calling VM; when no VM is left running, the machine.
    private static func systemOff(_ vcpu: UnsafeMutablePointer<VCPU>) {
        let vm = vcpu.pointee.vmPointer
        vm.pointee.poweredOff = true
        Console.begin()
        Console.print("vm")
        Console.dec(vm.pointee.id)
        Console.print(": PSCI SYSTEM_OFF")
        Console.newline()
        ExitReport.print(vcpu)
        // This exit never returns to the guest: close its record here.
        vcpu.pointee.trace.arg1 = UInt64(bitPattern: PSCI.success)
        Trace.end(vcpu)
        Trace.event(.vmPoweredOff, vm: vm.pointee.id, vcpu: vcpu.pointee.id)
        Trace.flush()
        if VMs.allPoweredOff { Platform.powerOff() }
        // With other VMs still running this CPU would park here (issue 6).
        Platform.park()
    }
}
