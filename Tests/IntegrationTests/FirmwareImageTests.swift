import Foundation
import KeelBoards
import KeelKit
import Testing

@Suite("The firmware image")
struct FirmwareImageTests {
    func littleEndian(_ data: Data, _ offset: Int, _ count: Int) -> UInt64 {
        (0..<count).reduce(UInt64(0)) { $0 | UInt64(data[offset + $1]) << (8 * UInt64($1)) }
    }

    @Test("keel.bin carries a Linux arm64 Image header that matches the board")
    func imageHeader() throws {
        let bin = try Data(contentsOf: URL(fileURLWithPath: Repo.path("build/hyp/keel.bin")))
        #expect(Array(bin[0x38..<0x3C]) == Array("ARM\u{64}".utf8))
        #expect(littleEndian(bin, 8, 8) == qemuVirt.textOffset)  // text_offset
        let imageSize = littleEndian(bin, 16, 8)
        #expect(imageSize >= UInt64(bin.count))  // image_size counts BSS too
        #expect(littleEndian(bin, 24, 8) == 0x2)  // flags: LE, 4 KiB pages
        // code0 is a branch (B imm26).
        #expect(littleEndian(bin, 0, 4) >> 26 == 0b000101)
    }

    @Test("every board's keel.elf is linked where its boot loader puts it: 2 MiB aligned DRAM base + text_offset (the Pi's firmware and QEMU at 0x80000, the others' booti alike)",
          arguments: BoardCatalog.all.filter { $0.firmwareDirectory != nil })
    func loadAddress(board: KnownBoard) throws {
        let elf = try Data(contentsOf: URL(fileURLWithPath: Repo.path("build/\(board.firmwareDirectory!)/keel.elf")))
        #expect(Array(elf[0..<4]) == [0x7F, 0x45, 0x4C, 0x46])
        #expect(littleEndian(elf, 0x18, 8) == board.board.loadAddress, "\(board.name)")  // e_entry
    }

    @Test("the load addresses are the boards' documented ones")
    func documentedLoadAddresses() {
        let expected: [String: UInt64] = ["qemu-virt": 0x4008_0000, "qemu-virt-gicv2": 0x4008_0000, "xlnx-zcu102": 0x8_0000,
                                          "raspberry-pi-4": 0x8_0000, "imx8mp-evk": 0x4008_0000]
        #expect(Dictionary(uniqueKeysWithValues: BoardCatalog.all.map { ($0.name, $0.board.loadAddress) }) == expected)
    }

    @Test("started at EL1 (no virtualization=on), Keel says why and stops")
    func refusesEL1() throws {
        var board = qemuVirt
        board.qemuMachine = "virt"
        let bundle = try TemporaryBundle(rawGuest: Repo.guest("demo"), layout: qemuVirtDefaultVM, board: board)
        let command = QEMUCommand(firmware: Repo.path("build/hyp/keel.bin"), bundle: bundle.path, board: board, layout: qemuVirtDefaultVM)
        let output = Output()
        let outcome = try QEMURunner(command: command, timeout: 5, output: { output.append($0) }).run()
        #expect(outcome == .timedOut(seconds: 5))  // parked, as it should be
        #expect(output.text.contains("[keel] error: started at EL1; Keel is a hypervisor and needs EL2"))
        #expect(!output.text.contains("Hello from a bare-metal guest"))
    }
}

final class Output: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) { lock.withLock { data.append(more) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}

extension KnownBoard: CustomTestStringConvertible {
    public var testDescription: String { name }
}
