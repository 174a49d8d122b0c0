import Foundation
import MIME

/// One value in an IMAP response (RFC 9051 §4): an atom (numbers included), a string (quoted or
/// literal, as bytes; a literal the frame decoder received into a file, as that file), NIL, or a
/// parenthesised list.
public indirect enum IMAPValue: Sendable, Hashable {
    case atom(String)
    case string([UInt8])
    case file(MessageFile)
    case list([IMAPValue])
    case `nil`

    public var atom: String? {
        if case .atom(let value) = self { return value }
        return nil
    }

    public var number: UInt64? { atom.flatMap { UInt64($0) } }

    public var bytes: [UInt8]? {
        switch self {
        case .string(let bytes): bytes
        case .atom(let value): Array(value.utf8)
        default: nil
        }
    }
}

/// A complete server response: a tagged completion, an untagged datum, or a continuation request.
public struct IMAPResponse: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case untagged
        case tagged(String)
        case continuation
    }

    public enum Status: String, Sendable, Hashable {
        case ok = "OK", no = "NO", bad = "BAD", bye = "BYE", preauth = "PREAUTH"
    }

    public var kind: Kind
    /// OK, NO, BAD, BYE or PREAUTH, for status responses.
    public var status: Status?
    /// The response code between brackets after the status, e.g. "UIDVALIDITY 123", "TRYCREATE".
    public var code: String?
    /// The human-readable text of a status response.
    public var text: String
    /// The values of a data response (`* 3 EXISTS` → [3, EXISTS]; `* 1 FETCH (…)` → [1, FETCH, (…)]).
    public var values: [IMAPValue]

    /// The code's first word in upper case ("UIDVALIDITY"), and its argument ("123").
    public var codeName: String? { code?.split(separator: " ").first.map { $0.uppercased() } }
    public var codeArgument: String? {
        guard let code, let space = code.firstIndex(of: " ") else { return nil }
        return String(code[code.index(after: space)...])
    }
}

public struct IMAPSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var description: String { "malformed IMAP response: \(reason)" }
}

extension IMAPResponse {
    // response = continue-req / response-data / response-tagged ; literal = "{" number64 ["+"] "}" CRLF *CHAR8
    /// Parses one complete response (with its literals in it).
    public init(parsing bytes: [UInt8]) throws(IMAPSyntaxError) {
        try self.init(parsing: IMAPFrame(bytes))
    }

    /// Parses one complete response as the frame decoder delivers it: a large literal is taken as
    /// the array it came in, not copied.
    public init(parsing frame: IMAPFrame) throws(IMAPSyntaxError) {
        var scanner = IMAPScanner(bytes: frame.bytes, literals: frame.literals)
        let first = scanner.word()
        let kind: Kind
        switch first {
        case "+":
            self.init(kind: .continuation, status: nil, code: nil, text: scanner.rest(), values: [])
            return
        case "*":
            kind = .untagged
        case "":
            throw IMAPSyntaxError(reason: "empty response")
        default:
            kind = .tagged(first)
        }
        if let status = Status(rawValue: scanner.peekWord().uppercased()) {
            _ = scanner.word()
            scanner.skipSpaces()
            let code = scanner.current == UInt8(ascii: "[") ? try scanner.bracketed() : nil
            self.init(kind: kind, status: status, code: code, text: scanner.rest(), values: [])
            return
        }
        guard case .untagged = kind else { throw IMAPSyntaxError(reason: "a tagged response without OK, NO or BAD") }
        self.init(kind: kind, status: nil, code: nil, text: "", values: try scanner.values(until: nil, depth: 0))
    }

    /// `* n FETCH (UID u INTERNALDATE "29-Nov-2026 09:00:01 +0000")` → the UID and the date.
    public var internalDate: (uid: UInt64, date: Date)? {
        guard let listing, let date = listing.date else { return nil }
        return (listing.uid, date)
    }

    /// `* n FETCH (UID u INTERNALDATE "…" RFC822.SIZE s)` → the UID, and the date and size when given.
    public var listing: (uid: UInt64, date: Date?, size: UInt64?)? {
        guard kind == .untagged, values.count >= 3, values[1].atom?.uppercased() == "FETCH", case .list(let items) = values[2] else {
            return nil
        }
        var uid: UInt64?
        var date: Date?
        var size: UInt64?
        var index = 0
        while index + 1 < items.count {
            let key = items[index].atom?.uppercased() ?? ""
            if key == "UID" { uid = items[index + 1].number }
            if key == "INTERNALDATE", let text = items[index + 1].bytes { date = Self.parseDate(String(decoding: text, as: UTF8.self)) }
            if key == "RFC822.SIZE" { size = items[index + 1].number }
            index += 2
        }
        guard let uid else { return nil }
        return (uid, date, size)
    }

    /// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE (RFC 9051)
    static func parseDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "d-MMM-yyyy HH:mm:ss Z"
        return formatter.date(from: text.trimmingCharacters(in: .whitespaces))
    }

    /// `* n FETCH (UID u BODY[] {…})` → the UID and the body, when present (the file it was
    /// received into, for a large one).
    public var fetched: (uid: UInt64?, body: FetchedMessage?)? {
        guard kind == .untagged, values.count >= 3, values[1].atom?.uppercased() == "FETCH", case .list(let items) = values[2] else {
            return nil
        }
        var uid: UInt64?
        var body: FetchedMessage?
        var index = 0
        while index + 1 < items.count {
            let key = items[index].atom?.uppercased() ?? ""
            if key == "UID" { uid = items[index + 1].number }
            if key.hasPrefix("BODY[") || key == "RFC822" {
                if case .file(let file) = items[index + 1] {
                    body = .file(file)
                } else {
                    body = items[index + 1].bytes.map(FetchedMessage.bytes)
                }
            }
            index += 2
        }
        return (uid, body)
    }
}

/// Reads the tokens of one response.
struct IMAPScanner {
    let bytes: [UInt8]
    /// Literals delivered apart from `bytes` (`.string` or `.file`), by the offset where each would begin.
    var literals: [Int: IMAPValue] = [:]
    var index = 0
    static let maxDepth = 64

    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipSpaces() { while current == 0x20 { index += 1 } }

    func isEnd(_ byte: UInt8?) -> Bool { byte == nil || byte == 0x0D || byte == 0x0A }

    /// The next space-delimited word.
    mutating func word() -> String {
        skipSpaces()
        let start = index
        while let byte = current, byte != 0x20, !isEnd(byte) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    func peekWord() -> String {
        var copy = self
        return copy.word()
    }

    /// The text up to the end of the line.
    mutating func rest() -> String {
        skipSpaces()
        let start = index
        while !isEnd(current) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    // resp-text-code inside "[" … "]"
    mutating func bracketed() throws(IMAPSyntaxError) -> String {
        index += 1
        let start = index
        var depth = 1
        while let byte = current, !isEnd(byte) {
            if byte == UInt8(ascii: "[") { depth += 1 }
            if byte == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 { break }
            }
            index += 1
        }
        guard current == UInt8(ascii: "]") else { throw IMAPSyntaxError(reason: "unterminated response code") }
        let code = String(decoding: bytes[start..<index], as: UTF8.self)
        index += 1
        return code
    }

    mutating func values(until terminator: UInt8?, depth: Int) throws(IMAPSyntaxError) -> [IMAPValue] {
        guard depth < Self.maxDepth else { throw IMAPSyntaxError(reason: "lists nested deeper than \(Self.maxDepth)") }
        var result: [IMAPValue] = []
        while true {
            skipSpaces()
            guard let byte = current, !isEnd(byte) else {
                if terminator != nil { throw IMAPSyntaxError(reason: "unterminated list") }
                return result
            }
            switch byte {
            case terminator:
                index += 1
                return result
            case UInt8(ascii: "("):
                index += 1
                result.append(.list(try values(until: UInt8(ascii: ")"), depth: depth + 1)))
            case UInt8(ascii: ")"):
                throw IMAPSyntaxError(reason: "unexpected ')'")
            case UInt8(ascii: "\""):
                result.append(.string(try quoted()))
            case UInt8(ascii: "{"):
                result.append(try literal())
            default:
                let atom = self.atom()
                result.append(atom.uppercased() == "NIL" ? .nil : .atom(atom))
            }
        }
    }

    // quoted = DQUOTE *QUOTED-CHAR DQUOTE
    mutating func quoted() throws(IMAPSyntaxError) -> [UInt8] {
        index += 1
        var out: [UInt8] = []
        while let byte = current, byte != UInt8(ascii: "\"") {
            if isEnd(byte) { throw IMAPSyntaxError(reason: "unterminated quoted string") }
            if byte == UInt8(ascii: "\\") { index += 1 }
            if let next = current { out.append(next) }
            index += 1
        }
        guard current == UInt8(ascii: "\"") else { throw IMAPSyntaxError(reason: "unterminated quoted string") }
        index += 1
        return out
    }

    // literal = "{" number64 ["+"] "}" CRLF *CHAR8
    mutating func literal() throws(IMAPSyntaxError) -> IMAPValue {
        index += 1
        let start = index
        while let byte = current, byte >= 0x30, byte <= 0x39 { index += 1 }
        guard let count = Int(String(decoding: bytes[start..<index], as: UTF8.self)) else { throw IMAPSyntaxError(reason: "bad literal length") }
        if current == UInt8(ascii: "+") { index += 1 }
        guard current == UInt8(ascii: "}") else { throw IMAPSyntaxError(reason: "bad literal") }
        index += 1
        if current == 0x0D { index += 1 }
        guard current == 0x0A else { throw IMAPSyntaxError(reason: "a literal's length must end its line") }
        index += 1
        if let held = literals[index] {
            let length: Int? =
                switch held {
                case .string(let bytes): bytes.count
                case .file(let file): file.size
                default: nil
                }
            guard length == count else { throw IMAPSyntaxError(reason: "the literal is not as long as announced") }
            return held
        }
        guard index + count <= bytes.count else { throw IMAPSyntaxError(reason: "the literal is shorter than announced") }
        defer { index += count }
        return .string(Array(bytes[index..<(index + count)]))
    }

    // atom, with a bracketed section kept whole (BODY[HEADER.FIELDS (A B)])
    mutating func atom() -> String {
        let start = index
        var depth = 0
        while let byte = current, !isEnd(byte) {
            if byte == UInt8(ascii: "[") { depth += 1 }
            if byte == UInt8(ascii: "]") { depth -= 1 }
            if depth <= 0, byte == 0x20 || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") { break }
            index += 1
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }
}
