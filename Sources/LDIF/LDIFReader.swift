import Coding
import Foundation
import LDAPModel

/// A streaming RFC 2849 reader: it pulls bytes from a `ByteSource` a chunk at a time and yields one
/// record per call to `next()`, so memory stays bounded by the largest record, not the file.
///
///     let reader = LDIFReader(source: try FileByteSource(path: "changes.ldif"))
///     while let record = try reader.next() { … }
public final class LDIFReader {
    public struct Options: Sendable, Hashable {
        public var limits: LDIFLimits
        /// Resolve `attr:< file:///path` values by reading the file. Off by default: a message from
        /// elsewhere must not make us read local files.
        public var allowFileURLs: Bool
        /// Accept UTF-8 in plain (non-base64) values, which RFC 2849 does not allow but many files hold.
        public var allowUTF8Values: Bool

        public init(limits: LDIFLimits = .default, allowFileURLs: Bool = false, allowUTF8Values: Bool = false) {
            self.limits = limits
            self.allowFileURLs = allowFileURLs
            self.allowUTF8Values = allowUTF8Values
        }
    }

    public let options: Options
    /// The `version:` the file declared, once the first record has been read.
    public private(set) var version: Int?
    /// The line on which the record last returned by `next()` starts.
    public private(set) var recordLine = 0

    private var source: any ByteSource
    private var buffer: [UInt8] = []
    private var start = 0  // first unconsumed byte of `buffer`
    private var scanned = 0  // bytes after `start` known to hold no LF
    private var atEnd = false
    private var lineNumber = 0
    private var peeked: (bytes: [UInt8], number: Int)?
    private var startedFile = false
    /// The attribute descriptions of the last entry read, by place (`attributes`).
    var names = PositionalMemo<String, AttributeDescription?>()
    private var fileKind: Kind?

    private enum Kind { case content, change }
    private static let chunkSize = 64 * 1024

    public init(source: some ByteSource, options: Options = Options()) {
        self.source = source
        self.options = options
    }

    public convenience init(bytes: [UInt8], options: Options = Options()) {
        self.init(source: InMemoryByteSource(bytes), options: options)
    }

    /// Reads every record; for inputs known to be small.
    public static func records(in bytes: [UInt8], options: Options = Options()) throws(LDIFError) -> [LDIFRecord] {
        let reader = LDIFReader(bytes: bytes, options: options)
        var records: [LDIFRecord] = []
        while let record = try reader.next() { records.append(record) }
        return records
    }

    /// The next record, or nil at the end of the input.
    public func next() throws(LDIFError) -> LDIFRecord? {
        guard var lines = try gatherRecord() else { return nil }
        if !startedFile {
            startedFile = true
            if let first = lines.first, first.hasName("version") {
                version = try parseVersion(first)
                lines.removeFirst()
                if lines.isEmpty {
                    guard let next = try gatherRecord() else { return nil }
                    lines = next
                }
            }
        }
        recordLine = lines[0].line
        let record = try parseRecord(lines)
        let kind: Kind
        if case .content = record { kind = .content } else { kind = .change }
        if let fileKind, fileKind != kind {
            // Point at the line that decided the record's kind: its changetype: line, or its first attribute.
            let deciding = lines.dropFirst().first { !$0.hasName("control") } ?? lines[0]
            throw deciding.error(
                at: 0,
                kind == .change
                    ? "a change record follows content records; RFC 2849 does not allow mixing them in one file"
                    : "a content record (no changetype:) follows change records; RFC 2849 does not allow mixing them in one file")
        }
        fileKind = kind
        return record
    }

    // MARK: Physical lines

    // SEP = CR LF / LF
    private func readPhysicalLine() throws(LDIFError) -> (bytes: [UInt8], number: Int)? {
        if let line = peeked {
            peeked = nil
            return line
        }
        while true {
            if let newline = Self.newline(in: buffer, from: start + scanned) {
                var end = newline
                if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                if end - start > options.limits.maxLineLength {
                    throw LDIFError(
                        line: lineNumber + 1, column: options.limits.maxLineLength + 1,
                        reason: "line is longer than the limit of \(options.limits.maxLineLength) bytes")
                }
                let line = Array(buffer[start..<end])
                start = newline + 1
                scanned = 0
                lineNumber += 1
                return (line, lineNumber)
            }
            scanned = buffer.count - start
            if scanned > options.limits.maxLineLength {
                throw LDIFError(
                    line: lineNumber + 1, column: options.limits.maxLineLength + 1,
                    reason: "line is longer than the limit of \(options.limits.maxLineLength) bytes")
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                var line = Array(buffer[start...])
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                start = buffer.count
                scanned = 0
                lineNumber += 1
                return (line, lineNumber)
            }
            let chunk: [UInt8]
            do {
                chunk = try source.read(maxCount: Self.chunkSize)
            } catch {
                throw LDIFError(line: lineNumber + 1, column: 1, reason: "cannot read input: \(error)")
            }
            if chunk.isEmpty { atEnd = true }
            if start > 0, start >= buffer.count / 2 {
                buffer.removeFirst(start)
                start = 0
            }
            buffer.append(contentsOf: chunk)
        }
    }

    /// The index of the first LF at or after `from` (memchr: this scan is most of reading a file).
    private static func newline(in buffer: [UInt8], from: Int) -> Int? {
        guard from < buffer.count else { return nil }
        return buffer.withUnsafeBufferPointer { bytes in
            guard let base = bytes.baseAddress, let found = memchr(base + from, 0x0A, bytes.count - from) else { return nil }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// The logical (unfolded) lines of the next record, comments dropped; nil at the end.
    private func gatherRecord() throws(LDIFError) -> [LogicalLine]? {
        var lines: [LogicalLine] = []
        var inComment = false
        var size = 0
        while let (raw, number) = try readPhysicalLine() {
            if raw.isEmpty {
                inComment = false
                if lines.isEmpty { continue }
                break
            }
            size += raw.count
            if size > options.limits.maxRecordSize {
                throw LDIFError(line: number, column: 1, reason: "record is larger than the limit of \(options.limits.maxRecordSize) bytes")
            }
            if raw[0] == UInt8(ascii: " ") {
                if inComment { continue }
                guard !lines.isEmpty else {
                    throw LDIFError(line: number, column: 1, reason: "continuation line (starting with a space) has no line before it to continue")
                }
                lines[lines.count - 1].append(raw.dropFirst(), line: number)
                continue
            }
            if raw[0] == UInt8(ascii: "#") {
                inComment = true
                continue
            }
            inComment = false
            guard lines.count < options.limits.maxLinesPerRecord else {
                throw LDIFError(line: number, column: 1, reason: "record has more than \(options.limits.maxLinesPerRecord) lines")
            }
            lines.append(LogicalLine(raw, line: number))
        }
        return lines.isEmpty ? nil : lines
    }

    // version-spec = "version:" FILL version-number
    private func parseVersion(_ line: LogicalLine) throws(LDIFError) -> Int {
        let (_, value) = try attributeValue(line)
        let text = String(decoding: value.bytes, as: UTF8.self)
        guard text == "1" else {
            throw line.error(at: value.offset, "unsupported LDIF version '\(text)'; only version 1 exists")
        }
        return 1
    }
}

// MARK: - Logical lines

/// An unfolded line, with enough bookkeeping to turn an offset back into a physical line and column.
struct LogicalLine {
    var bytes: [UInt8]
    /// The physical line it starts on.
    let line: Int
    /// Where each continuation starts in `bytes`, and its physical line (its column there is 2).
    /// Empty for most lines, which are not folded: no array is made for them.
    var continuations: [(line: Int, offset: Int)] = []

    init(_ bytes: [UInt8], line: Int) {
        self.bytes = bytes
        self.line = line
    }

    mutating func append(_ piece: ArraySlice<UInt8>, line: Int) {
        continuations.append((line, bytes.count))
        bytes.append(contentsOf: piece)
    }

    func position(at offset: Int) -> (line: Int, column: Int) {
        guard let segment = continuations.last(where: { $0.offset <= offset }) else { return (line, 1 + offset) }
        return (segment.line, 2 + offset - segment.offset)
    }

    func error(at offset: Int, _ reason: String) -> LDIFError {
        let (line, column) = position(at: offset)
        return LDIFError(line: line, column: column, reason: reason)
    }

    /// The text before the first colon, when it equals `name` (case-insensitive).
    func hasName(_ name: String) -> Bool {
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return false }
        return String(decoding: bytes[..<colon], as: UTF8.self).lowercased() == name
    }

    /// `-` alone (trailing spaces tolerated): the end of one modification.
    var isSeparator: Bool {
        guard bytes.first == UInt8(ascii: "-") else { return false }
        return bytes.dropFirst().allSatisfy { $0 == UInt8(ascii: " ") }
    }
}

/// A decoded value and the offset in its logical line where its text began.
struct LineValue {
    var bytes: [UInt8]
    var offset: Int
    /// Given in base64 or by URL, so offsets inside it do not match the file.
    var isEncoded = false
}

extension LDIFReader {
    // attrval-spec = AttributeDescription value-spec SEP
    /// Splits a line into its name and decoded value.
    func attributeValue(_ line: LogicalLine) throws(LDIFError) -> (name: String, value: LineValue) {
        let bytes = line.bytes
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
            if let bad = bytes.firstIndex(where: { !isNameByte($0) }) {
                throw line.error(at: bad, "\(described(bytes[bad])) is not allowed in an attribute name (is a ':' missing?)")
            }
            throw line.error(at: bytes.count, "missing ':' after '\(String(decoding: bytes, as: UTF8.self))'")
        }
        if colon == 0 { throw line.error(at: 0, "line starts with ':' instead of an attribute name") }
        if let bad = bytes[..<colon].firstIndex(where: { !isNameByte($0) }) {
            throw line.error(at: bad, "\(described(bytes[bad])) is not allowed in an attribute name")
        }
        let name = String(decoding: bytes[..<colon], as: UTF8.self)
        return (name, try valueSpec(line, colon: colon))
    }

    // value-spec = ":" ( FILL 0*1(SAFE-STRING) / ":" FILL (BASE64-STRING) / "<" FILL url )
    func valueSpec(_ line: LogicalLine, colon: Int) throws(LDIFError) -> LineValue {
        let bytes = line.bytes
        var index = colon + 1
        func skipFill() { while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 } }
        if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
            index += 1
            skipFill()
            let text = bytes[index...]
            do {
                return LineValue(bytes: try Base64.decode(text), offset: index, isEncoded: true)
            } catch {
                throw line.error(at: index + min(error.offset, text.count), error.reason)
            }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "<") {
            index += 1
            skipFill()
            return LineValue(bytes: try urlValue(line, at: index), offset: index, isEncoded: true)
        }
        skipFill()
        let value = Array(bytes[index...])
        try checkSafeString(line, value, at: index)
        return LineValue(bytes: value, offset: index)
    }

    // SAFE-STRING = [SAFE-INIT-CHAR *SAFE-CHAR]
    // SAFE-CHAR = %x01-09 / %x0B-0C / %x0E-7F ; SAFE-INIT-CHAR also excludes SPACE, ":" and "<"
    private func checkSafeString(_ line: LogicalLine, _ value: [UInt8], at offset: Int) throws(LDIFError) {
        if let first = value.first, first == UInt8(ascii: ":") || first == UInt8(ascii: "<") {
            throw line.error(at: offset, "a value that starts with '\(shown(first))' must be base64-encoded (attr:: …)")
        }
        for (index, byte) in value.enumerated() {
            switch byte {
            case 0: throw line.error(at: offset + index, "NUL byte in a value; such values must be base64-encoded")
            case UInt8(ascii: "\r"): throw line.error(at: offset + index, "carriage return inside a value; such values must be base64-encoded")
            case 0x80...:
                guard options.allowUTF8Values else {
                    throw line.error(
                        at: offset + index,
                        "non-ASCII byte 0x\(String(byte, radix: 16, uppercase: true)) in a plain value; RFC 2849 requires base64 (attr:: …) for it")
                }
            default: continue
            }
        }
        if options.allowUTF8Values, String(validating: value, as: UTF8.self) == nil {
            throw line.error(at: offset, "value is not valid UTF-8; encode it in base64 (attr:: …)")
        }
    }

    // url = <a Uniform Resource Locator, as defined in [6]> ; only file:// is read
    private func urlValue(_ line: LogicalLine, at offset: Int) throws(LDIFError) -> [UInt8] {
        let text = String(decoding: line.bytes[offset...], as: UTF8.self)
        guard text.lowercased().hasPrefix("file://") else {
            throw line.error(at: offset, "only file:// URLs are supported in ':<' values, not '\(text)'")
        }
        guard options.allowFileURLs else {
            throw line.error(at: offset, "':<' file URL values are not allowed here (reading local files must be enabled explicitly)")
        }
        guard let url = URL(string: text), url.isFileURL, url.host == nil || url.host == "" || url.host == "localhost" else {
            throw line.error(at: offset, "'\(text)' is not a valid local file URL")
        }
        let path = url.path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? Int
        else {
            throw line.error(at: offset, "cannot read '\(path)': no such file or not accessible")
        }
        guard size <= options.limits.maxURLValueSize else {
            throw line.error(at: offset, "'\(path)' is larger than the limit of \(options.limits.maxURLValueSize) bytes")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw line.error(at: offset, "cannot read '\(path)'")
        }
        return [UInt8](data)
    }
}

// AttributeDescription characters, plus '.' for numeric OIDs: ALPHA / DIGIT / "-" / ";" / "."
func isNameByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: ";"), UInt8(ascii: "."):
        true
    default: false
    }
}

/// "a space", "'_'", "byte 0xC3": a byte named for a message.
func described(_ byte: UInt8) -> String {
    byte == UInt8(ascii: " ") ? "a space" : (0x21...0x7E).contains(byte) ? "'\(shown(byte))'" : "byte 0x" + String(byte, radix: 16, uppercase: true)
}

func shown(_ byte: UInt8) -> String {
    (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16, uppercase: true)
}
