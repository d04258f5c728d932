/// Finds the shapes of bad TOML that toml++ (under TOMLKit 0.6) does not report as errors but
/// asserts on, aborting the process (a debug build) or running into undefined behaviour (a
/// release build, where its assertions become assumptions): a table header whose name does not
/// start on the line of its `[` or `[[`, and a `}` where an array expects a value (`[}`). Both
/// found by `RandomInputTests`. Returns the 1-based line and what is wrong, for the first one.
///
/// A small lexer, enough to know where a line starts outside strings, comments, arrays and
/// inline tables, and which bracket is open; anything else it lets through for toml++ to judge.
func tomlPitfall(_ text: String) -> (line: Int, problem: String)? {
    let chars = Array(text.unicodeScalars)
    var i = 0
    var line = 1
    var open: [Unicode.Scalar] = []  // the [ and { of values, innermost last
    var atLineStart = true
    func at(_ offset: Int) -> Unicode.Scalar? { i + offset < chars.count ? chars[i + offset] : nil }
    func isBareKey(_ c: Unicode.Scalar) -> Bool {
        ("A"..."Z").contains(c) || ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
    }
    /// Skips a string starting at `i` (its quote); counts the newlines of multi-line ones.
    func skipString() {
        let quote = chars[i]
        let triple = at(1) == quote && at(2) == quote
        i += triple ? 3 : 1
        while i < chars.count {
            let c = chars[i]
            if c == "\n" {
                line += 1
                if !triple { return }  // unterminated: toml++ reports it
            }
            if quote == "\"" && c == "\\" { i += 2; continue }
            if c == quote && (!triple || (at(1) == quote && at(2) == quote)) {
                i += triple ? 3 : 1
                return
            }
            i += 1
        }
    }
    while i < chars.count {
        let c = chars[i]
        switch c {
        case "\n":
            line += 1
            atLineStart = true
            i += 1
            continue
        case " ", "\t", "\r":
            i += 1
            continue
        case "#":
            while i < chars.count && chars[i] != "\n" { i += 1 }
            continue
        case "\"", "'":
            skipString()
        case "[" where atLineStart && open.isEmpty:
            // A table header: [name] or [[name]], the name on this line.
            i += at(1) == "[" ? 2 : 1
            while let s = at(0), s == " " || s == "\t" { i += 1 }
            guard let first = at(0), isBareKey(first) || first == "\"" || first == "'" || first == "]" else {
                return (line, "a table header's name must follow its [ or [[ on the same line")
            }
            while let s = at(0), s != "\n" { i += 1 }
            continue
        case "[", "{":
            open.append(c)
            i += 1
        case "}" where open.last == "[":
            return (line, "a } closes an array, which only ] can")
        case "]", "}":
            if !open.isEmpty { open.removeLast() }
            i += 1
        default:
            i += 1
        }
        atLineStart = false
    }
    return nil
}
