extension String {
    /// The string without the leading and trailing characters listed in `set` (e.g. " \t").
    public func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}

/// Text taken from outside input, made safe to print on a terminal or in a cron mail.
public enum Text {
    /// `text` with every control character (C0, DEL, C1), bidirectional override or isolate, line or
    /// paragraph separator written as a visible `\u{…}` escape, so that text a
    /// sender chose can neither move the cursor, recolour a terminal, fake a new log line, nor reorder
    /// what is around it. Printable text (any script) is kept as it is.
    public static func printable(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x00...0x1F, 0x7F...0x9F, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF:
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Whether `text` would print unchanged by `printable`.
    public static func isPrintable(_ text: String) -> Bool { printable(text) == text }
}
