import Coding

/// Text in the charsets mail uses. Unknown charsets are reported, never guessed.
public enum Charset {
    /// Decodes `bytes` in `name` (case-insensitive, with the usual aliases). Nil when the charset is
    /// not supported; throws `invalid` when the bytes are not valid in it.
    public static func decode(_ bytes: some Collection<UInt8>, charset name: String) throws(Invalid) -> String? {
        switch canonicalName(name) {
        case "utf-8":
            guard let text = String(validating: Array(bytes), as: UTF8.self) else { throw Invalid(charset: "utf-8") }
            return text
        case "us-ascii":
            guard bytes.allSatisfy({ $0 < 0x80 }) else { throw Invalid(charset: "us-ascii") }
            return String(decoding: Array(bytes), as: UTF8.self)
        case "iso-8859-1":
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        case "windows-1252":
            var scalars = String.UnicodeScalarView()
            for byte in bytes {
                if (0x80...0x9F).contains(byte) {
                    guard let scalar = windows1252High[Int(byte - 0x80)] else { throw Invalid(charset: "windows-1252") }
                    scalars.append(scalar)
                } else {
                    scalars.append(Unicode.Scalar(byte))
                }
            }
            return String(scalars)
        case "iso-8859-15":
            return String(String.UnicodeScalarView(bytes.map { byte in iso885915[byte] ?? Unicode.Scalar(byte) }))
        default:
            return nil
        }
    }

    public struct Invalid: Error, Sendable, Hashable {
        public var charset: String
    }

    /// The charsets `decode` knows, by their canonical names.
    public static let supported = ["utf-8", "us-ascii", "iso-8859-1", "windows-1252", "iso-8859-15"]

    public static func isSupported(_ name: String) -> Bool { supported.contains(canonicalName(name)) }

    static func canonicalName(_ name: String) -> String {
        let lower = name.lowercased().trimmingCharacters(in: " \t\"")
        switch lower {
        case "utf-8", "utf8": return "utf-8"
        case "us-ascii", "ascii", "ansi_x3.4-1968", "us", "iso646-us": return "us-ascii"
        case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "cp819": return "iso-8859-1"
        case "windows-1252", "cp1252", "x-cp1252": return "windows-1252"
        case "iso-8859-15", "iso8859-15", "latin-9", "latin9": return "iso-8859-15"
        default: return lower
        }
    }

    // Windows-1252 0x80–0x9F; nil where the code page leaves a hole.
    private static let windows1252High: [Unicode.Scalar?] = [
        0x20AC, nil, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, nil, 0x017D, nil,
        nil, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, nil, 0x017E, 0x0178,
    ].map { $0.flatMap(Unicode.Scalar.init(_:)) }

    // The eight places where ISO-8859-15 differs from ISO-8859-1.
    private static let iso885915: [UInt8: Unicode.Scalar] = [
        0xA4: "\u{20AC}", 0xA6: "\u{0160}", 0xA8: "\u{0161}", 0xB4: "\u{017D}", 0xB8: "\u{017E}", 0xBC: "\u{0152}", 0xBD: "\u{0153}",
        0xBE: "\u{0178}",
    ]
}
