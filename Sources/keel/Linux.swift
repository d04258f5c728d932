import ArgumentParser
import Foundation
import KeelKit

/// `keel linux fetch`: a Linux kernel and initramfs for Keel's Linux guests; `keel linux headers`:
/// that kernel's headers, to build modules for it (keel-dm.ko).
struct Linux: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Linux guests: the kernel and initramfs they boot.",
        subcommands: [Fetch.self, Headers.self]
    )
}

extension Linux {
    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download Debian's arm64 cloud kernel and busybox, and build an initramfs (cached).",
            discussion: """
                Writes CACHE/Image (arm64 Image), CACHE/initramfs.cpio (newc) and \
                CACHE/kernel-version. Packages come from Debian (the machine's \
                /etc/apt/sources.list.d/debian.sources) through an apt configuration kept in \
                CACHE/apt: the machine's apt and dpkg are not touched. When the Image and \
                initramfs exist, prints their paths and does nothing else.
                """
        )

        @Option(help: "The cache folder.") var cache = LinuxFetch.defaultCache
        @Flag(help: "Fetch and build again even when the files exist.") var force = false

        func run() throws {
            var fetch = LinuxFetch(cache: cache)
            fetch.force = force
            let started = Date()
            let result: LinuxFetch.Result
            do {
                result = try fetch.run()
            } catch let error as KeelError {
                FileHandle.standardError.write(Data("keel: linux fetch: \(error.message)\n".utf8))
                throw ExitCode.failure
            }
            if result.fetched {
                print(String(format: "linux: done in %.1f s", Date().timeIntervalSince(started)))
            } else {
                print("linux: \(result.kernelRelease.map { "kernel \($0), " } ?? "")already in \(cache) (--force to fetch again)")
            }
            print("kernel: \(result.image)")
            print("initramfs: \(result.initramfs)")
        }
    }
}

extension Linux {
    struct Headers: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download Debian's arm64 headers of the fetched kernel, to build modules for it (cached).",
            discussion: """
                Unpacks linux-headers-RELEASE and linux-headers-ABI-common (the version in \
                CACHE/kernel-version, which `keel linux fetch` writes) into CACHE/headers; \
                CACHE/headers/build is the folder for `make -C ... M=DIR ARCH=arm64 \
                CROSS_COMPILE=aarch64-linux-gnu-`, with the host's linux-kbuild-6.1 (amd64). \
                Nothing is written outside CACHE. When they are there, does nothing.
                """
        )

        @Option(help: "The cache folder.") var cache = LinuxFetch.defaultCache

        func run() throws {
            let result: LinuxHeaders.Result
            do {
                result = try LinuxHeaders(cache: cache).run()
            } catch let error as KeelError {
                FileHandle.standardError.write(Data("keel: linux headers: \(error.message)\n".utf8))
                throw ExitCode.failure
            }
            if !result.fetched { print("linux: headers of \(result.release) already in \(cache)/headers") }
            print("headers: \(result.build)")
        }
    }
}
