import Foundation

/// What `keel run` checks before QEMU starts, so that a wrong file is named at once instead of
/// a silent run into the timeout: the firmware is an arm64 Image Keel's build linked for this
/// board (start.S puts its link address in the Image header's res2), and an IMAGE is one
/// `keel pack` wrote (a firmware with a boot bundle or VM table appended).
public enum RunPrecheck {
    /// Offset of res2 in the arm64 Image header: Keel's link address.
    static let linkAddressOffset = 32

    /// `path` (`--firmware`) is a Keel firmware for `board`.
    public static func firmware(_ path: String, board: KnownBoard) throws {
        let bytes = try InputFile.read(path, what: "firmware")
        try checkLinked(bytes, name: path, what: "firmware", board: board,
                        fix: { other in "give --board \(other), or the firmware of \(board.name): build/\(board.firmwareDirectory ?? "hyp")/keel.bin" })
    }

    /// `path` (IMAGE) is an image `keel pack` wrote for `board`; `boardGiven` says whether
    /// `--board` named it (the fix differs).
    public static func packedImage(_ path: String, board: KnownBoard, boardGiven: Bool) throws {
        let bytes = try InputFile.read(path, what: "image")
        try checkLinked(bytes, name: path, what: "image", board: board,
                        fix: { other in "run it with --board \(other)\(boardGiven ? " instead of --board \(board.name)" : "")" })
        guard holdsBundle(bytes) else {
            throw KeelError("'\(path)' is Keel's firmware with no VM appended (no boot bundle or VM table at a 4 KiB boundary): pack one with `keel pack --config FILE -o IMAGE`, or boot a guest with `keel run --guest FILE`")
        }
    }

    /// The arm64 Image header, Keel's link address in it, and that address against `board`'s.
    static func checkLinked(_ bytes: Data, name: String, what: String, board: KnownBoard, fix: (String) -> String) throws {
        // The header's own checks (magic, sizes) say what is wrong with a file that is no Image.
        do {
            _ = try LinuxBoot.Header(bytes, name: name)
        } catch let error as KeelError {
            throw KeelError("\(what) \(error.message), so not a Keel \(what == "image" ? "image (keel pack writes one)" : "firmware (make builds build/hyp/keel.bin)")")
        }
        var link: UInt64 = 0
        for i in 0..<8 { link |= UInt64(bytes[bytes.startIndex + linkAddressOffset + i]) << (8 * UInt64(i)) }
        guard link != 0 else {
            throw KeelError("'\(name)' is an arm64 Image but not a Keel \(what): its header names no Keel link address (a Linux kernel goes with --guest; make builds Keel's firmware)")
        }
        // Boards that load Keel at the same address (xlnx-zcu102 and raspberry-pi-4: 0x80000) are
        // told apart by the board name each firmware prints in its banner ("Keel 0.1.0 on NAME").
        let sameLink = BoardCatalog.all.filter { $0.firmwareVM != nil && $0.board.loadAddress == link }
        let named = sameLink.filter { candidate in
            sameLink.contains { $0.firmwareDirectory == candidate.firmwareDirectory && names(bytes, $0.name) }
        }
        let owners = (named.isEmpty ? sameLink : named).map(\.name)
        guard link != board.board.loadAddress || !owners.isEmpty && !owners.contains(board.name) else { return }
        guard let owner = owners.first else {
            throw KeelError("'\(name)' is linked at \(hex(link)), where no board Keel's firmware runs on loads it (\(board.name) loads at \(hex(board.board.loadAddress))): rebuild it with make")
        }
        throw KeelError("'\(name)' is built for \(owners.joined(separator: " or ")) (linked at \(hex(link))), not \(board.name) (which loads Keel at \(hex(board.board.loadAddress))): \(fix(owner))")
    }

    /// True when `bytes` hold `name` as a NUL-terminated string of its own (a board's name in a
    /// firmware's read-only data).
    static func names(_ bytes: Data, _ name: String) -> Bool {
        bytes.range(of: Data([0] + Array(name.utf8) + [0])) != nil
    }

    /// A boot bundle ("KEELBOOT") or VM table ("KEELSYST") at a 4 KiB boundary past the header,
    /// where `keel pack` appends one.
    static func holdsBundle(_ image: Data) -> Bool {
        let magics = [Data("KEELBOOT".utf8), Data("KEELSYST".utf8)]
        let alignment = Int(SystemImage.bundleAlignment)
        return stride(from: alignment, to: image.count - 8, by: alignment).contains { offset in
            let at = image.startIndex + offset
            return magics.contains(image[at..<(at + 8)])
        }
    }
}
