/// One SMTP reply (RFC 5321 §4.2): a three-digit code and its text, over one or more lines
/// (`250-first`, `250-second`, `250 last`).
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    public var isPositive: Bool { (200..<400).contains(code) }
    public var isTemporary: Bool { (400..<500).contains(code) }
    public var text: String { lines.joined(separator: " / ") }
    public var description: String { "\(code) \(text)" }

    /// Folds reply lines into replies: a line `NNN-text` continues, `NNN text` (or `NNN`) ends one.
    /// The code of every line of a reply must be the same.
    public struct Assembler: Sendable {
        private var code: Int?
        private var lines: [String] = []

        public init() {}

        /// Adds one line (without its CRLF); returns the reply it completes, if any.
        public mutating func add(_ line: [UInt8]) throws(SMTPProtocolError) -> SMTPReply? {
            guard line.count >= 3, line.prefix(3).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), line[0] >= 0x32, line[0] <= 0x35 else {
                throw SMTPProtocolError(reason: "not a reply line: '\(Self.shown(line))'")
            }
            let value = Int(line[0] - 0x30) * 100 + Int(line[1] - 0x30) * 10 + Int(line[2] - 0x30)
            if let code, code != value { throw SMTPProtocolError(reason: "a reply changed its code from \(code) to \(value)") }
            let separator = line.count > 3 ? line[3] : UInt8(ascii: " ")
            guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
                throw SMTPProtocolError(reason: "not a reply line: '\(Self.shown(line))'")
            }
            code = value
            lines.append(line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : "")
            guard separator == UInt8(ascii: " ") else { return nil }
            defer {
                code = nil
                lines = []
            }
            return SMTPReply(code: value, lines: lines)
        }

        public var isIdle: Bool { code == nil }

        static func shown(_ line: [UInt8]) -> String {
            String(decoding: line.prefix(80).map { $0 < 0x20 || $0 > 0x7E ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
        }
    }
}

/// The server spoke something that is not SMTP.
public struct SMTPProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// The DATA of a message as SMTP carries it: CRLF line ends, a line starting with "." doubled
/// (RFC 5321 §4.5.2), then the terminating "." line. Refuses a line longer than 998 octets, which
/// no server need accept.
public struct SMTPData {
    private var lineStart = true
    private var length = 0
    private var pendingCR = false

    public init() {}

    /// A whole message, with the terminating line.
    public static func encode(_ message: [UInt8]) throws(SMTPProtocolError) -> [UInt8] {
        var encoder = SMTPData()
        return try encoder.encode(message) + encoder.finish()
    }

    /// The next piece of the message (a CR at the end of a piece is held until the next byte shows
    /// whether it starts a CRLF).
    public mutating func encode(_ piece: some Collection<UInt8>) throws(SMTPProtocolError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(piece.count + piece.count / 64 + 8)
        for byte in piece {
            if pendingCR {
                pendingCR = false
                if byte != 0x0A { try text(0x0D, into: &out) }
            }
            if byte == 0x0D {
                pendingCR = true
            } else if byte == 0x0A {
                out += [0x0D, 0x0A]
                lineStart = true
                length = 0
            } else {
                try text(byte, into: &out)
            }
        }
        return out
    }

    /// The end: the last line ended, then the "." line.
    public mutating func finish() throws(SMTPProtocolError) -> [UInt8] {
        var out: [UInt8] = []
        if pendingCR {
            pendingCR = false
            try text(0x0D, into: &out)
        }
        if !lineStart { out += [0x0D, 0x0A] }
        return out + Array(".\r\n".utf8)
    }

    private mutating func text(_ byte: UInt8, into out: inout [UInt8]) throws(SMTPProtocolError) {
        if lineStart, byte == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
        out.append(byte)
        lineStart = false
        length += 1
        if length > 998 { throw SMTPProtocolError(reason: "the message has a line longer than 998 octets, which SMTP cannot carry") }
    }
}
