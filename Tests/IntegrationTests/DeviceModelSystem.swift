/// The TOML pieces the Linux device-model tests share (VirtioDiskTests, VirtioFaultTests,
/// DeviceModelPoolTests): Debian's kernel as the device-model VM and as frontends, and
/// virtio-blk devices served by the device model.
enum DeviceModelSystem {
    /// The device model's VM, Linux with keel-dm on CPU 0; `initrd` replaces parts of its
    /// initramfs (a test hook: unpacked after `keel pack`'s).
    static func deviceModelVM(initrd: String? = nil) -> String {
        """
        [[vm]]
        name = "dm"
        cpus = [0]
        memory = { base = 0x4000_0000, size = "128M" }
        kernel = "\(LinuxTests.kernel)"
        device_model = true
        bootargs = "console=ttyAMA0 panic=-1"
        \(initrd.map { "initrd = \"\($0)\"" } ?? "")

        """
    }

    /// A Debian Linux frontend, 256 MiB on CPU 1, booting `initrd`.
    static func linuxFrontend(name: String = "app", initrd: String) -> String {
        """
        [[vm]]
        name = "\(name)"
        cpus = [1]
        memory = { base = 0x4000_0000, size = "256M" }
        kernel = "\(LinuxTests.kernel)"
        initrd = "\(initrd)"
        bootargs = "console=ttyAMA0 panic=-1"

        """
    }

    /// A virtio-blk device of the VM above, served by "dm".
    static func blk(disk: String, timeoutMs: Int = 30000) -> String {
        """
        [[vm.virtio]]
        type = "blk"
        served_by = "dm"
        disk = "\(disk)"
        timeout_ms = \(timeoutMs)

        """
    }
}
