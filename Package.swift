// swift-tools-version:6.2
// Host side of Keel. The firmware itself is built by the Makefile; the KeelCore and KeelBoards
// sources are compiled into it too (one source of truth, tested here on the host).
import Foundation
import PackageDescription

/// The sources shared with the firmware build with strict memory safety, its diagnostics as
/// errors (SE-0458), and with lifetime dependences (`~Escapable` parsers over spans).
let strictlySafe: [SwiftSetting] = [
    .strictMemorySafety(),
    .treatWarning("StrictMemorySafety", as: .error),
    .enableExperimentalFeature("Lifetimes"),
]

/// hyp/mm holds firmware-only code beside StaticBytes.swift; SwiftPM must be told to leave it out.
let firmwareOnlyMM = ((try? FileManager.default.contentsOfDirectory(atPath: Context.packageDirectory + "/hyp/mm")) ?? [])
    .filter { $0 != "StaticBytes.swift" }

/// `make fuzz` sets KEEL_FUZZ=1 and builds in its own scratch folder with -sanitize=fuzzer,address:
/// keel-fuzz links against libFuzzer, which an ordinary `swift build` does not have.
let fuzzing = ProcessInfo.processInfo.environment["KEEL_FUZZ"] == "1"

let package = Package(
    name: "Keel",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "keel", targets: ["keel"]),
        .library(name: "KeelKit", targets: ["KeelKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The system config file (`keel pack --config system.toml`).
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // The one audited adapter the shared parsers need: a string literal's bytes as a Span
        // (hyp/mm/StaticBytes.swift, compiled into the firmware too).
        .target(name: "KeelStaticBytes", path: "hyp/mm", exclude: firmwareOnlyMM, sources: ["StaticBytes.swift"], swiftSettings: strictlySafe),
        // Portable: no Foundation, no allocation on paths the firmware uses. No `unsafe`.
        .target(name: "KeelCore", dependencies: ["KeelStaticBytes"], swiftSettings: strictlySafe),
        // keel-dm's register files and devices (docs/device-model.md): no Foundation, so that the
        // Makefile compiles it with Embedded Swift into the static Linux program build/keel-dm/keel-dm.
        .target(name: "KeelDMCore", dependencies: ["KeelCore"], swiftSettings: strictlySafe),
        // Board descriptions as plain Swift data, shared with the firmware.
        .target(name: "KeelBoards", path: "boards", exclude: ["README.md", "examples"], swiftSettings: strictlySafe),
        // The machine from the boot DTB, checked against the board file; shared with the firmware.
        .target(name: "KeelMachine", dependencies: ["KeelCore", "KeelBoards"], swiftSettings: strictlySafe),
        // Host library: guest images, the QEMU runner, reports.
        .target(name: "KeelKit", dependencies: ["KeelCore", "KeelBoards", "KeelMachine", .product(name: "TOMLKit", package: "TOMLKit")]),
        // The CLI: a thin @main, one file per subcommand.
        .executableTarget(
            name: "keel",
            dependencies: ["KeelKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Reference/ holds the EC and fault-status tables (copied from shared/reference) the
        // decoders are checked against.
        .testTarget(name: "KeelCoreTests", dependencies: ["KeelCore"], exclude: ["Reference"]),
        .testTarget(name: "KeelDMCoreTests", dependencies: ["KeelDMCore", "KeelCore"]),
        .testTarget(name: "KeelKitTests", dependencies: ["KeelKit", "KeelMachine"], exclude: ["DeviceTrees"]),
        // Boots real images under qemu-system-aarch64; needs `make` to have built them.
        .testTarget(name: "IntegrationTests", dependencies: ["KeelKit", "KeelCore"]),
    ]
)

if fuzzing {
    package.products.append(.executable(name: "keel-fuzz", targets: ["keel-fuzz"]))
    package.targets += [
        // The declaration of libFuzzer's LLVMFuzzerRunDriver (a header, no code).
        .target(name: "KeelFuzzDriver"),
        .executableTarget(name: "keel-fuzz", dependencies: ["KeelKit", "KeelFuzzDriver"]),
    ]
}
