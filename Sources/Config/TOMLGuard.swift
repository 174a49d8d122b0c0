/// What must be refused before a configuration reaches TOMLKit: its parser (toml++ 3, in C++) stops
/// the whole process on an assertion — or, built with NDEBUG, assumes it and goes on undefined —
/// for a table header whose name starts with anything but a bare-key character or a quote (`[é]`,
/// `[=x]`, `[#]`: found by scripts/fuzz configuration). A configuration error must be a message,
/// never a crash, so this scans the text first (strings and comments skipped, as TOML reads them) and
/// refuses, with the line and column, what TOML 1.0 does not allow there anyway:
/// - a table header (`[name]`, `[[name]]` at the start of a line, outside an array) whose name does
///   not start with a letter, a digit, `_`, `-` or a quote;
/// - outside strings and comments, any character that is not printable ASCII, a tab or a line break
///   (TOML 1.0 keys and values outside strings are ASCII);
/// - a `}` closing an array or a `]` an inline table (`a = [1,}]` stops toml++ the same way).
enum TOMLGuard {
    struct Problem: Sendable, Hashable {
        var line: Int
        var column: Int
        var reason: String
    }

    // toml         = expression *( newline expression )
    // table        = std-table / array-table ; std-table = "[" ws key ws "]" ; array-table = "[[" ws key ws "]]"
    // key          = simple-key / dotted-key ; simple-key = quoted-key / unquoted-key
    // unquoted-key = 1*( ALPHA / DIGIT / %x2D / %x5F )            (TOML 1.0.0)
    static func check(_ text: String) -> Problem? {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        var line = 1
        var lineStart = 0
        var open: [(bracket: Unicode.Scalar, line: Int)] = []  // the arrays and inline tables of a value, innermost last
        var atLineStart = true  // only white space so far on this line
        func problem(_ reason: String) -> Problem { Problem(line: line, column: index - lineStart + 1, reason: reason) }
        func starts(_ prefix: String) -> Bool {
            let wanted = Array(prefix.unicodeScalars)
            return index + wanted.count <= scalars.count && Array(scalars[index..<index + wanted.count]) == wanted
        }
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "\n":
                index += 1
                line += 1
                lineStart = index
                atLineStart = true
                continue
            case " ", "\t", "\r":
                index += 1
                continue
            case "#":
                // A comment runs to the end of the line.
                while index < scalars.count, scalars[index] != "\n" { index += 1 }
                continue
            case "\"", "'":
                // A string: basic or literal, one line or many; its content is TOMLKit's to read.
                let triple = starts(String(scalar) + String(scalar) + String(scalar))
                let close = triple ? String(scalar) + String(scalar) + String(scalar) : String(scalar)
                index += triple ? 3 : 1
                while index < scalars.count, !starts(close) {
                    if scalar == "\"", scalars[index] == "\\" {
                        index += 1  // an escape in a basic string: the next character is part of it
                        guard index < scalars.count else { break }
                    }
                    if scalars[index] == "\n" {
                        guard triple else { return problem("a string in quotes ends before the end of its line") }
                        line += 1
                        lineStart = index + 1
                    }
                    index += 1
                }
                index += close.unicodeScalars.count
                atLineStart = false
                continue
            case "[" where atLineStart && open.isEmpty:
                // A table header: the name must start as TOML allows.
                index += starts("[[") ? 2 : 1
                while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" { index += 1 }
                if index < scalars.count {
                    let first = scalars[index]
                    let bare = first.isASCII && (first.properties.isAlphabetic || ("0"..."9").contains(first) || first == "-" || first == "_")
                    guard bare || first == "\"" || first == "'" || first == "]" else {
                        return problem("a table name must start with a letter, a digit, '-', '_' or a quote, like [ldap] or [[source]]")
                    }
                }
                atLineStart = false
                continue
            case "[", "{":
                open.append((scalar, line))
            case "]", "}":
                // (A "]" with nothing open ends a table header.)
                if let innermost = open.last {
                    let closes: Unicode.Scalar = innermost.bracket == "[" ? "]" : "}"
                    guard scalar == closes else {
                        return problem(
                            "'\(scalar)' cannot close the '\(innermost.bracket)' opened on line \(innermost.line); close it with '\(closes)'")
                    }
                    open.removeLast()
                }
            default:
                guard scalar.value >= 0x20, scalar.value < 0x7F else {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    return problem("U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex) may stand only inside a string in quotes")
                }
            }
            atLineStart = false
            index += 1
        }
        return nil
    }
}
