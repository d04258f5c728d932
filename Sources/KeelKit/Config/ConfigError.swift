/// One problem in a config file, said so a person can fix it: which file, which VM (or shared
/// memory region), which key, what is wrong, and what to do.
///
///     system.toml: vm "linux" key memory.size: 0x0 is empty (fix: give the VM at least 4 KiB, e.g. size = "256M")
public struct ConfigProblem: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    /// `vm "linux"`, `shared_memory "ring"`, or nil for top-level keys.
    public var scope: String?
    public var key: String
    public var problem: String
    public var fix: String

    public init(file: String, scope: String?, key: String, problem: String, fix: String) {
        self.file = file
        self.scope = scope
        self.key = key
        self.problem = problem
        self.fix = fix
    }

    public var description: String {
        "\(file): \(scope.map { "\($0) " } ?? "")key \(key): \(problem) (fix: \(fix))"
    }
}

/// Every problem found in a config file; nothing is packed or booted while there is one.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var problems: [ConfigProblem]
    public init(_ problems: [ConfigProblem]) { self.problems = problems }
    public var description: String { problems.map(\.description).joined(separator: "\n") }
    public var messages: [String] { problems.map(\.description) }
}

/// Collects problems for one file while reading or checking it.
struct ProblemList {
    let file: String
    private(set) var problems: [ConfigProblem] = []

    init(file: String) { self.file = file }

    mutating func add(_ scope: String?, _ key: String, _ problem: String, fix: String) {
        problems.append(ConfigProblem(file: file, scope: scope, key: key, problem: problem, fix: fix))
    }

    mutating func append(contentsOf other: ProblemList) { problems += other.problems }

    func throwIfAny() throws(ConfigError) {
        if !problems.isEmpty { throw ConfigError(problems) }
    }
}

/// `vm "linux"`, or `vm #2` for one without a usable name.
func vmScope(_ name: String?, index: Int) -> String {
    if let name, !name.isEmpty { return "vm \"\(name)\"" }
    return "vm #\(index + 1)"
}

func hexString(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// Sizes as people read them: "256 MiB", "4 KiB", else bytes in hex.
func sizeString(_ value: UInt64) -> String {
    if value != 0, value % (1 << 30) == 0 { return "\(value >> 30) GiB" }
    if value != 0, value % (1 << 20) == 0 { return "\(value >> 20) MiB" }
    if value != 0, value % (1 << 10) == 0 { return "\(value >> 10) KiB" }
    return hexString(value) + " bytes"
}
