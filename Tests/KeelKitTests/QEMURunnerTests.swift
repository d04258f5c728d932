import Foundation
import KeelBoards
import Testing
@testable import KeelKit

/// The runner against stand-in "QEMU" scripts: real processes, real pipes and signals. Scripts
/// that wait `exec` their last command so that, like QEMU, they leave no child behind.
@Suite("Running QEMU: status, panic, timeout")
struct QEMURunnerTests {
    final class Captured: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func append(_ more: Data) { lock.withLock { data.append(more) } }
        var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
    }

    func runner(script: String, timeout: Double, scratch: Scratch) throws -> (QEMURunner, Captured) {
        let path = try scratch.file("fake-qemu", Array("#!/bin/sh\n\(script)\n".utf8), executable: true)
        var command = QEMUCommand(firmware: "k", bundle: "g", board: qemuVirt, layout: qemuVirtDefaultVM)
        command.executable = path
        let captured = Captured()
        return (QEMURunner(command: command, timeout: timeout, output: { captured.append($0) }), captured)
    }

    @Test("QEMU's exit status is the outcome, output is streamed")
    func exitStatus() throws {
        let scratch = try Scratch()
        let (runner, captured) = try runner(script: "echo hello from qemu; exit 3", timeout: 20, scratch: scratch)
        #expect(try runner.run() == .exited(3))
        #expect(captured.text == "hello from qemu\n")
    }

    @Test("a hypervisor panic stops the run, after its report")
    func panic() throws {
        let scratch = try Scratch()
        let (runner, captured) = try runner(script: "echo '[keel] PANIC: synchronous exception'; echo '[keel] x0 0x1'; exec sleep 30", timeout: 20, scratch: scratch)
        let started = Date()
        #expect(try runner.run() == .hypervisorPanic)
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(captured.text.contains("[keel] x0 0x1"))
    }

    @Test("a run that does not finish is stopped at the timeout")
    func timeout() throws {
        let scratch = try Scratch()
        let (runner, _) = try runner(script: "exec sleep 30", timeout: 1, scratch: scratch)
        #expect(try runner.run() == .timedOut(seconds: 1))
    }

    @Test("a QEMU that is not installed is a clear error")
    func missingExecutable() throws {
        var command = QEMUCommand(firmware: "k", bundle: "g", board: qemuVirt, layout: qemuVirtDefaultVM)
        command.executable = "qemu-system-that-does-not-exist"
        #expect(throws: KeelError("qemu-system-that-does-not-exist is not installed (run `make deps`, or apt-get install qemu-system-arm)")) {
            try QEMURunner(command: command, timeout: 1).run()
        }
    }
}
