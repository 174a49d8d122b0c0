#if canImport(Glibc)
    import Glibc
#endif

/// A message file read region by region (pread), never whole.
public final class MessageFile: @unchecked Sendable {
    public let path: String
    /// (Grows with `append`.)
    public private(set) var size: Int
    private let descriptor: Int32

    public init(path: String) throws(MIMEError) {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw MIMEError(.structure, offset: 0, line: 1, reason: "cannot open \(path): \(Self.lastError)") }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            close(descriptor)
            throw MIMEError(.structure, offset: 0, line: 1, reason: "cannot read \(path): \(Self.lastError)")
        }
        size = Int(status.st_size)
    }

    /// `bytes` in a file of their own in `directory` that is removed at once (the descriptor keeps it
    /// readable, and nothing is left behind whatever becomes of the process): a message held on disk,
    /// not in memory.
    public init(spooling bytes: [UInt8], in directory: String) throws(MIMEError) {
        var template = Array((directory + "/bridgehead-message-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw MIMEError(.structure, offset: 0, line: 1, reason: "cannot create a file in \(directory): \(Self.lastError)")
        }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        unlink(path)
        self.descriptor = descriptor
        size = 0
        try append(bytes)
    }

    /// Writes `bytes` at the end of a spooled file; returns where they lie. (Not while another
    /// thread uses the file.)
    @discardableResult
    public func append(_ bytes: [UInt8]) throws(MIMEError) -> Range<Int> {
        try bytes.withUnsafeBytes { buffer in Result { () throws(MIMEError) in try append(buffer) } }.get()
    }

    /// Writes the bytes of `buffer` at the end of a spooled file; returns where they lie.
    @discardableResult
    public func append(_ buffer: UnsafeRawBufferPointer) throws(MIMEError) -> Range<Int> {
        let start = size
        var written = 0
        while written < buffer.count, let base = buffer.baseAddress {
            let count = pwrite(descriptor, base + written, buffer.count - written, off_t(start + written))
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw MIMEError(.structure, offset: start + written, line: 0, reason: "cannot write \(path): \(Self.lastError)") }
            written += count
        }
        size += buffer.count
        return start..<size
    }

    deinit { close(descriptor) }

    private static var lastError: String { String(cString: strerror(errno)) }

    /// The bytes in `range` (fewer only if the file shrank meanwhile).
    public func read(_ range: Range<Int>) throws(MIMEError) -> [UInt8] {
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: range.count) { buffer, count in
            count = 0
            while count < range.count, let base = buffer.baseAddress {
                let got = pread(descriptor, base + count, range.count - count, off_t(range.lowerBound + count))
                if got < 0, errno == EINTR { continue }
                if got < 0 { failure = errno }
                if got <= 0 { break }
                count += got
            }
        }
        if failure != 0 {
            throw MIMEError(.structure, offset: range.lowerBound, line: 0, reason: "cannot read \(path): \(String(cString: strerror(failure)))")
        }
        return bytes
    }
}

/// Two are equal when they are the same open file.
extension MessageFile: Hashable {
    public static func == (left: MessageFile, right: MessageFile) -> Bool { left === right }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// Where the parts of a top-level multipart message lie in its file, found by reading it once, a
/// megabyte at a time, with the checks `MIMEParser` makes (header sections, boundary, line lengths,
/// part count), so that a large multipart/signed message is verified and read without being held.
/// Parts are not parsed below their header: a part that is itself a multipart is reported as such
/// (`MIMEParser.parse` is the way to read those).
public struct MessageLayout: Sendable {
    /// A part: its range in the file (header and body), where its body begins, and its header.
    public struct Part: Sendable {
        public let range: Range<Int>
        public let bodyStart: Int
        /// Its header section parsed (the entity's body is empty: read `range` for the rest).
        public let header: MIMEEntity
    }

    /// The message's own header section (the entity's body is empty).
    public let header: MIMEEntity
    public let parts: [Part]

    /// The largest nested multipart checked (by reading it whole).
    static let nestedLimit = 16 << 20

    /// How much is read at a time.
    public static let chunk = 1 << 20

    public static func scan(_ file: MessageFile, limits: MIMELimits = .default) throws(MIMEError) -> MessageLayout {
        guard file.size > 0 else { throw MIMEError(.structure, offset: 0, line: 1, reason: "the message is empty") }
        guard file.size <= limits.maxMessageSize else {
            throw MIMEError(
                .limit, offset: limits.maxMessageSize, line: 0, reason: "the message is larger than the limit of \(limits.maxMessageSize) bytes")
        }
        var lines = LineScanner(file: file, range: 0..<file.size, limits: limits)
        let header = try headerSection(&lines, depth: 0, defaultType: .defaultType, limits: limits)
        let bodyStart = lines.offset
        guard header.contentType.isMultipart else {
            if header.transferEncoding != .binary {
                while let line = try lines.next() { try lines.checkLength(line) }
            }
            return MessageLayout(header: header, parts: [])
        }
        let boundary: String
        do {
            boundary = try Parser(storage: MIMEStorage([]), limits: limits).multipartBoundary(
                header.contentType, encoding: header.transferEncoding, depth: 0, at: 0, enclosing: [])
        } catch {
            throw MIMEError(error.kind, offset: 0, line: 1, reason: error.reason)
        }
        var partCount = 1  // the message itself, as MIMEParser counts
        let dash = Array("--".utf8) + Array(boundary.utf8)
        var starts: [(offset: Int, line: Int)] = []
        var ranges: [Range<Int>] = []
        var closed = false
        var previousBreak = 0
        while let line = try lines.next() {
            try lines.checkLength(line)
            if let isClose = Parser.delimiter(line.content[...], dash: dash) {
                // The line break before a delimiter belongs to the delimiter.
                let end = max(bodyStart, line.offset - previousBreak)
                if let start = starts.last, ranges.count < starts.count { ranges.append(start.offset..<max(start.offset, end)) }
                if isClose {
                    guard !ranges.isEmpty else {
                        throw MIMEError(
                            .boundary, offset: line.offset, line: line.number,
                            reason: "the close delimiter '--\(boundary)--' comes before any body part")
                    }
                    closed = true
                    break
                }
                partCount += 1
                guard partCount <= limits.maxParts else {
                    throw MIMEError(.limit, offset: line.offset, line: line.number, reason: "the message has more than \(limits.maxParts) parts")
                }
                starts.append((line.offset + line.length, line.number + 1))
            }
            previousBreak = line.length - line.content.count
        }
        guard !starts.isEmpty else {
            throw MIMEError(.boundary, offset: bodyStart, line: 0, reason: "the boundary '\(boundary)' never appears in the multipart body")
        }
        if !closed, ranges.count < starts.count { ranges.append(starts[starts.count - 1].offset..<file.size) }
        let partDefault: ContentType = header.contentType.subtype == "digest" ? .digestDefault : .defaultType
        var parts: [Part] = []
        for (range, start) in zip(ranges, starts) {
            var partLines = LineScanner(file: file, range: range, limits: limits, firstLine: start.line)
            let partHeader = try headerSection(&partLines, depth: 1, defaultType: partDefault, limits: limits)
            if partHeader.contentType.isMultipart {
                // Not a replication message's shape, but checked as MIMEParser would, when small.
                guard range.count <= nestedLimit else {
                    throw MIMEError(
                        .structure, offset: range.lowerBound, line: start.line,
                        reason: "a part is itself a multipart of \(range.count) bytes; a replication message has none")
                }
                do {
                    _ = try MIMEParser.parsePart(file.read(range), limits: limits, defaultType: partDefault, enclosing: [boundary])
                } catch {
                    throw MIMEError(error.kind, offset: range.lowerBound + error.offset, line: start.line + error.line - 1, reason: error.reason)
                }
            }
            parts.append(Part(range: range, bodyStart: partLines.offset, header: partHeader))
        }
        return MessageLayout(header: header, parts: parts)
    }

    /// Reads a header section line by line (bounded by the header limits) and parses it as
    /// `MIMEParser` does; the entity returned has an empty body.
    private static func headerSection(
        _ lines: inout LineScanner, depth: Int, defaultType: ContentType, limits: MIMELimits
    ) throws(MIMEError) -> MIMEEntity {
        let start = lines.offset
        let firstLine = lines.lineNumber
        var bytes: [UInt8] = []
        while let line = try lines.next() {
            bytes += line.raw
            if line.content.isEmpty { break }
            // Past the limit: let the parser say so, with its own words.
            if bytes.count > limits.maxHeaderSize + limits.maxLineLength { break }
        }
        let parser = Parser(storage: MIMEStorage(bytes), limits: limits)
        do {
            let (header, bodyStart, contentType, encoding) = try parser.describedHeader(
                0..<bytes.count, depth: depth, defaultType: defaultType)
            return MIMEEntity(
                storage: parser.storage, range: 0..<bodyStart, bodyRange: bodyStart..<bodyStart, header: header, contentType: contentType,
                transferEncoding: encoding, parts: [], preambleRange: nil, epilogueRange: nil, isMissingCloseDelimiter: false)
        } catch {
            throw MIMEError(error.kind, offset: start + error.offset, line: firstLine + error.line - 1, reason: error.reason)
        }
    }
}

/// Lines of a file range, read a megabyte at a time.
struct LineScanner {
    struct Line {
        /// Where it starts in the file, and its 1-based number.
        var offset: Int
        var number: Int
        /// Its bytes with the line break, and without.
        var raw: ArraySlice<UInt8>
        var content: ArraySlice<UInt8>
        var length: Int { raw.count }
    }

    let file: MessageFile
    let range: Range<Int>
    let limits: MIMELimits
    /// Where the next line starts, and its number.
    private(set) var offset: Int
    private(set) var lineNumber: Int
    private var buffer: [UInt8] = []
    private var bufferStart: Int
    private var position = 0

    init(file: MessageFile, range: Range<Int>, limits: MIMELimits, firstLine: Int = 1) {
        self.file = file
        self.range = range
        self.limits = limits
        offset = range.lowerBound
        bufferStart = range.lowerBound
        lineNumber = firstLine
    }

    mutating func next() throws(MIMEError) -> Line? {
        while true {
            if let newline = buffer[position...].firstIndex(of: 0x0A) {
                return take(upTo: newline + 1, hasBreak: true)
            }
            let read = bufferStart + buffer.count
            // A line longer than any limit allows is cut here (its length is then refused).
            if read >= range.upperBound || buffer.count - position > limits.maxLineLength + 2 {
                return position < buffer.count ? take(upTo: buffer.count, hasBreak: false) : nil
            }
            let more = try file.read(read..<min(range.upperBound, read + MessageLayout.chunk))
            if more.isEmpty { return position < buffer.count ? take(upTo: buffer.count, hasBreak: false) : nil }
            buffer.removeFirst(position)
            bufferStart += position
            position = 0
            buffer += more
        }
    }

    private mutating func take(upTo end: Int, hasBreak: Bool) -> Line {
        let raw = buffer[position..<end]
        var contentEnd = end
        if hasBreak {
            contentEnd -= 1
            if contentEnd > position, buffer[contentEnd - 1] == 0x0D { contentEnd -= 1 }
        }
        let line = Line(offset: bufferStart + position, number: lineNumber, raw: raw, content: buffer[position..<contentEnd])
        position = end
        offset = bufferStart + end
        lineNumber += 1
        return line
    }

    func checkLength(_ line: Line) throws(MIMEError) {
        guard line.content.count <= limits.maxLineLength else {
            throw MIMEError(
                .limit, offset: line.offset, line: line.number, reason: "a line is longer than the limit of \(limits.maxLineLength) bytes")
        }
    }
}
