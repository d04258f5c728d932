import Foundation

/// The reference tables in Reference/ (from shared/reference): tab-separated, `#` comments.
enum ReferenceTables {
    static func rows(_ file: String) throws -> [[String]] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Reference/\(file)")
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
    }

    static func hexValue(_ text: String) -> UInt8 {
        UInt8(text.dropFirst(2), radix: 16)!
    }
}
