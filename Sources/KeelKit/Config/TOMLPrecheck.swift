/// Finds the shapes of TOML that toml++ (under TOMLKit 0.6) cannot take: it does not report
/// them as errors but asserts on them, aborting the process (a debug build) or running into
/// undefined behaviour (a release build, where its assertions become assumptions), or it
/// recurses until the stack overflows. Returns the 1-based line and what is wrong, for the
/// first one:
///
/// - a table header whose name does not start on the line of its `[` or `[[`, and a `}` where
///   an array expects a value (`[}`); both found by `RandomInputTests`;
/// - a date or time value (`d=0615-10-15 5` asserts): Keel's config has no date or time
///   keys, so every one is refused, whatever its shape;
/// - a byte-order mark (U+FEFF) anywhere but at the very start (two of them, then `[+a]`,
///   assert);
/// - a key of more than `maxKeyParts` dotted parts (40,000 overflow the stack), or values
///   nested more than `maxNesting` deep.
///
/// A small lexer, enough to know where a line starts outside strings, comments, arrays and
/// inline tables, which bracket is open, and whether a key or a value comes next; anything
/// else it lets through for toml++ to judge.
func tomlPitfall(_ text: String) -> (line: Int, problem: String)? {
    var lexer = TOMLPrecheck(text)
    return lexer.run()
}

/// Dotted parts a key (or table header) may have; real configs use two or three.
let maxKeyParts = 64
/// Arrays and inline tables inside one another; real configs use two or three.
let maxNesting = 64

private struct TOMLPrecheck {
    let chars: [Unicode.Scalar]
    var i = 0
    var line = 1
    var open: [Unicode.Scalar] = []  // the [ and { of values, innermost last
    var atLineStart = true
    /// A key comes next or is being read: its dots separate parts.
    var inKey = true
    var keyParts = 1
    /// A value comes next (after `=`, or in an array after `[` or `,`).
    var expectValue = false

    init(_ text: String) { chars = Array(text.unicodeScalars) }

    func at(_ offset: Int) -> Unicode.Scalar? { i + offset < chars.count ? chars[i + offset] : nil }

    static func isBareKey(_ c: Unicode.Scalar) -> Bool {
        ("A"..."Z").contains(c) || ("a"..."z").contains(c) || isDigit(c) || c == "_" || c == "-"
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }

    static let byteOrderMark: Unicode.Scalar = "\u{FEFF}"

    /// Skips a string starting at `i` (its quote); counts the newlines of multi-line ones.
    /// A byte-order mark inside it is reported like one outside.
    mutating func skipString() -> String? {
        let quote = chars[i]
        let triple = at(1) == quote && at(2) == quote
        i += triple ? 3 : 1
        while i < chars.count {
            let c = chars[i]
            if c == "\n" {
                line += 1
                if !triple { return nil }  // unterminated: toml++ reports it
            }
            if c == Self.byteOrderMark { return Self.bomProblem }
            if quote == "\"" && c == "\\" { i += 2; continue }
            if c == quote && (!triple || (at(1) == quote && at(2) == quote)) {
                i += triple ? 3 : 1
                return nil
            }
            i += 1
        }
        return nil
    }

    static let bomProblem = "a byte-order mark (U+FEFF) may only be the file's first character"

    /// Starts a key: at the start of a line, after an inline table's `{` or `,`.
    mutating func startKey() {
        inKey = true
        keyParts = 1
        expectValue = false
    }

    /// A table header, `[name]` or `[[name]]`, with `i` on its first `[`: the name on this line
    /// and of at most `maxKeyParts` parts (dots inside quotes counted too: a generous count).
    mutating func header() -> String? {
        i += at(1) == "[" ? 2 : 1
        while let s = at(0), s == " " || s == "\t" { i += 1 }
        guard let first = at(0), Self.isBareKey(first) || first == "\"" || first == "'" || first == "]" else {
            return "a table header's name must follow its [ or [[ on the same line"
        }
        var parts = 1
        while let s = at(0), s != "\n" {
            if s == Self.byteOrderMark { return Self.bomProblem }
            if s == "." { parts += 1 }
            if parts > maxKeyParts { return "a table header has more than \(maxKeyParts) dotted parts" }
            i += 1
        }
        return nil
    }

    /// A bare value starting at `i` (a number, boolean, date or time). Dates and times are
    /// refused: a digit followed by `-` or `:` is one (numbers have neither after a digit).
    mutating func bareValue() -> String? {
        var previous: Unicode.Scalar = " "
        while let c = at(0), !" \t\r\n,]}#".unicodeScalars.contains(c) {
            if Self.isDigit(previous) && (c == "-" || c == ":") {
                return "a date or time value; Keel's config has none (give sizes and addresses as numbers or strings)"
            }
            previous = c
            i += 1
        }
        return nil
    }

    mutating func run() -> (line: Int, problem: String)? {
        // toml++ skips one byte-order mark at the start, as the TOML specification allows.
        if at(0) == Self.byteOrderMark { i += 1 }
        while i < chars.count {
            let c = chars[i]
            if c == Self.byteOrderMark { return (line, Self.bomProblem) }
            switch c {
            case "\n":
                line += 1
                atLineStart = true
                if open.isEmpty { startKey() }
                i += 1
                continue
            case " ", "\t", "\r":
                i += 1
                continue
            case "#":
                while i < chars.count && chars[i] != "\n" { i += 1 }
                continue
            case "\"", "'":
                if let problem = skipString() { return (line, problem) }
                expectValue = false
            case "[" where atLineStart && open.isEmpty:
                if let problem = header() { return (line, problem) }
                continue
            case "[", "{":
                open.append(c)
                if open.count > maxNesting { return (line, "arrays and inline tables nested more than \(maxNesting) deep") }
                i += 1
                if c == "{" { startKey() } else { inKey = false; expectValue = true }
            case "}" where open.last == "[":
                return (line, "a } closes an array, which only ] can")
            case "]", "}":
                if !open.isEmpty { open.removeLast() }
                i += 1
                inKey = false
                expectValue = false
            case "=" where inKey:
                inKey = false
                expectValue = true
                i += 1
            case ".":
                if inKey {
                    keyParts += 1
                    if keyParts > maxKeyParts { return (line, "a key has more than \(maxKeyParts) dotted parts") }
                }
                i += 1
            case ",":
                i += 1
                if open.last == "{" { startKey() } else if open.last == "[" { expectValue = true }
            default:
                if expectValue && (Self.isDigit(c) || ((c == "+" || c == "-") && at(1).map(Self.isDigit) == true)) {
                    if let problem = bareValue() { return (line, problem) }
                } else {
                    i += 1
                }
                expectValue = false
            }
            atLineStart = false
        }
        return nil
    }
}
