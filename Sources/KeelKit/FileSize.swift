import Foundation

/// The size of the file at `path`, following symbolic links (`attributesOfItem` alone gives a
/// link's own size: a symlinked initrd then looked as if it changed size while being read).
func fileSize(atPath path: String) -> Int? {
    let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    return ((try? FileManager.default.attributesOfItem(atPath: resolved))?[.size] as? NSNumber)?.intValue
}
