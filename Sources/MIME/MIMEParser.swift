/// Decodes a message (RFC 5322, MIME RFC 2045–2049) from its bytes, within `MIMELimits`.
/// CRLF and bare LF line ends are both accepted.
public enum MIMEParser {
    public static func parse(_ bytes: [UInt8], limits: MIMELimits = .default) throws(MIMEError) -> MIMEEntity {
        let storage = MIMEStorage(bytes)
        guard !bytes.isEmpty else { throw storage.error(.structure, at: 0, "the message is empty") }
        guard bytes.count <= limits.maxMessageSize else {
            throw storage.error(.limit, at: limits.maxMessageSize, "the message is larger than the limit of \(limits.maxMessageSize) bytes")
        }
        var parser = Parser(storage: storage, limits: limits)
        return try parser.entity(0..<bytes.count, depth: 0, defaultType: .defaultType, boundaries: [])
    }

    /// One body part of a multipart, alone, as `parse` reads it inside its multipart: its header
    /// may be empty (text/plain is the default type).
    /// `enclosing`: the boundary of the multipart it is in (a nested multipart may not reuse it).
    public static func parsePart(
        _ bytes: [UInt8], limits: MIMELimits = .default, defaultType: ContentType = .defaultType, enclosing: [String] = []
    ) throws(MIMEError) -> MIMEEntity {
        var parser = Parser(storage: MIMEStorage(bytes), limits: limits)
        return try parser.entity(0..<bytes.count, depth: 1, defaultType: defaultType, boundaries: enclosing)
    }
}

struct Parser {
    let storage: MIMEStorage
    let limits: MIMELimits
    var partCount = 0

    var bytes: [UInt8] { storage.bytes }

    /// One line from `start`: where its content ends (before CR LF or LF) and where the next begins.
    func line(from start: Int, before end: Int) -> (contentEnd: Int, next: Int) {
        let newline = bytes[start..<end].firstIndex(of: 0x0A)
        guard let newline else { return (end, end) }
        let contentEnd = newline > start && bytes[newline - 1] == 0x0D ? newline - 1 : newline
        return (contentEnd, newline + 1)
    }

    mutating func entity(_ range: Range<Int>, depth: Int, defaultType: ContentType, boundaries: [String]) throws(MIMEError) -> MIMEEntity {
        partCount += 1
        guard partCount <= limits.maxParts else {
            throw storage.error(.limit, at: range.lowerBound, "the message has more than \(limits.maxParts) parts")
        }
        let (header, bodyStart, contentType, encoding) = try describedHeader(range, depth: depth, defaultType: defaultType)
        let bodyRange = bodyStart..<range.upperBound
        guard contentType.isMultipart else {
            if encoding != .binary { try checkLineLengths(bodyRange) }
            return MIMEEntity(
                storage: storage, range: range, bodyRange: bodyRange, header: header, contentType: contentType, transferEncoding: encoding,
                parts: [], preambleRange: nil, epilogueRange: nil, isMissingCloseDelimiter: false)
        }
        let boundary = try multipartBoundary(contentType, encoding: encoding, depth: depth, at: range.lowerBound, enclosing: boundaries)
        let split = try splitMultipart(bodyRange, boundary: boundary)
        let partDefault: ContentType = contentType.subtype == "digest" ? .digestDefault : .defaultType
        var parts: [MIMEEntity] = []
        for partRange in split.parts {
            parts.append(try entity(partRange, depth: depth + 1, defaultType: partDefault, boundaries: boundaries + [boundary]))
        }
        return MIMEEntity(
            storage: storage, range: range, bodyRange: bodyRange, header: header, contentType: contentType, transferEncoding: encoding,
            parts: parts, preambleRange: split.preamble, epilogueRange: split.epilogue, isMissingCloseDelimiter: split.missingClose)
    }

    /// The header section of the entity at `range`, where its body begins, and what the header says
    /// the body is (Content-Type, else `defaultType`; Content-Transfer-Encoding, else 7bit).
    func describedHeader(
        _ range: Range<Int>, depth: Int, defaultType: ContentType
    ) throws(MIMEError) -> (MIMEHeader, Int, ContentType, TransferEncoding) {
        let (header, bodyStart) = try headerSection(range, isMessage: depth == 0)
        let contentType: ContentType
        if let value = header.field("Content-Type")?.rawText {
            // An unparsable Content-Type is treated as the default (RFC 2045 §5.2).
            contentType = ContentType(headerValue: value) ?? .defaultType
        } else {
            contentType = defaultType
        }
        var encoding = TransferEncoding.sevenBit
        if let value = header.field("Content-Transfer-Encoding")?.rawText {
            guard let known = TransferEncoding(headerValue: value) else {
                throw storage.error(
                    .encoding, at: range.lowerBound,
                    "Content-Transfer-Encoding '\(value)' is not one of 7bit, 8bit, binary, base64, quoted-printable")
            }
            encoding = known
        }
        return (header, bodyStart, contentType, encoding)
    }

    /// The boundary of a multipart, checked (RFC 2046 §5.1.1, RFC 2045 §6.4), within the nesting limit
    /// and unlike any `enclosing` one.
    func multipartBoundary(
        _ contentType: ContentType, encoding: TransferEncoding, depth: Int, at offset: Int, enclosing boundaries: [String]
    ) throws(MIMEError) -> String {
        guard depth < limits.maxDepth else {
            throw storage.error(.limit, at: offset, "multiparts nest deeper than the limit of \(limits.maxDepth)")
        }
        guard let boundary = contentType.boundary, !boundary.isEmpty else {
            throw storage.error(.boundary, at: offset, "\(contentType.mimeType) has no boundary parameter")
        }
        // boundary := 0*69<bchars> bcharsnospace (RFC 2046 §5.1.1)
        guard boundary.utf8.count <= 70 else {
            throw storage.error(.boundary, at: offset, "the boundary is \(boundary.utf8.count) characters long; RFC 2046 allows 70")
        }
        // bchars := bcharsnospace / " " ; bcharsnospace := DIGIT / ALPHA / "'" / "(" / ")" / "+" / "_" / "," / "-" / "." / "/" / ":" / "=" / "?"
        guard boundary.utf8.allSatisfy({ isAlpha($0) || ($0 >= 0x30 && $0 <= 0x39) || "'()+_,-./:=? ".utf8.contains($0) }),
            boundary.last != " "
        else {
            throw storage.error(.boundary, at: offset, "the boundary '\(boundary)' has characters RFC 2046 does not allow")
        }
        guard [.sevenBit, .eightBit, .binary].contains(encoding) else {
            throw storage.error(
                .encoding, at: offset, "a multipart may not have Content-Transfer-Encoding \(encoding.rawValue) (RFC 2045 §6.4)")
        }
        guard !boundaries.contains(boundary) else {
            throw storage.error(.boundary, at: offset, "a nested multipart reuses the boundary '\(boundary)' of an enclosing one")
        }
        return boundary
    }

    /// Whether a line (without its line break) is a delimiter of the multipart whose dash-boundary
    /// is `dash` ("--" boundary): nil if not, else whether it is the close delimiter (RFC 2046
    /// §5.1.1: transport padding of spaces and tabs may follow).
    static func delimiter(_ line: ArraySlice<UInt8>, dash: [UInt8]) -> Bool? {
        guard line.count >= dash.count, line.prefix(dash.count).elementsEqual(dash) else { return nil }
        var rest = line.dropFirst(dash.count)
        let isClose = rest.count >= 2 && rest[rest.startIndex] == UInt8(ascii: "-") && rest[rest.startIndex + 1] == UInt8(ascii: "-")
        if isClose { rest = rest.dropFirst(2) }
        guard rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) else { return nil }
        return isClose
    }

    // fields = *(field-name ":" unstructured CRLF) ; obs-fold = CRLF 1*WSP  (RFC 5322 §2.2, §3.6.8)
    /// The header section of the entity at `range`, and where its body begins.
    func headerSection(_ range: Range<Int>, isMessage: Bool) throws(MIMEError) -> (MIMEHeader, Int) {
        var fields: [HeaderField] = []
        var name: String?
        var value: [UInt8] = []
        var index = range.lowerBound
        var bodyStart = range.upperBound
        func flush() {
            if let name { fields.append(HeaderField(name: name, rawValue: value)) }
        }
        while index < range.upperBound {
            let (contentEnd, next) = line(from: index, before: range.upperBound)
            if contentEnd == index {
                bodyStart = next
                break
            }
            guard contentEnd - index <= limits.maxLineLength else {
                throw storage.error(.limit, at: index, "a header line is longer than the limit of \(limits.maxLineLength) bytes")
            }
            guard next - range.lowerBound <= limits.maxHeaderSize else {
                throw storage.error(.limit, at: index, "the header section is larger than the limit of \(limits.maxHeaderSize) bytes")
            }
            let content = bytes[index..<contentEnd]
            if let nul = content.firstIndex(of: 0) { throw storage.error(.header, at: nul, "NUL byte in the header section") }
            if let cr = content.firstIndex(of: 0x0D) {
                throw storage.error(.header, at: cr, "a carriage return without a line feed in the header section")
            }
            if content.first == 0x20 || content.first == 0x09 {
                guard name != nil else {
                    throw storage.error(.header, at: index, "a folded continuation line comes before any header field")
                }
                value += content  // unfold: the line break goes, the white space stays
            } else {
                guard let colon = content.firstIndex(of: UInt8(ascii: ":")), colon > index,
                    content[..<colon].allSatisfy({ $0 > 0x20 && $0 < 0x7F })
                else {
                    if isMessage, fields.isEmpty, name == nil {
                        throw storage.error(.structure, at: index, "the message does not begin with a header section")
                    }
                    throw storage.error(.header, at: index, "a header line has no field name and ':' (is a blank line missing before the body?)")
                }
                flush()
                guard fields.count < limits.maxHeaderFields else {
                    throw storage.error(.limit, at: index, "the header section has more than \(limits.maxHeaderFields) fields")
                }
                name = String(decoding: content[..<colon], as: UTF8.self)
                var valueStart = colon + 1
                while valueStart < contentEnd, bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09 { valueStart += 1 }
                value = Array(bytes[valueStart..<contentEnd])
            }
            index = next
        }
        flush()
        if isMessage, fields.isEmpty { throw storage.error(.structure, at: range.lowerBound, "the message has no header fields") }
        return (MIMEHeader(fields: fields), bodyStart)
    }

    /// Rejects bodies with a line over the limit (RFC 5322 wants 998; the limit is kinder).
    func checkLineLengths(_ range: Range<Int>) throws(MIMEError) {
        var index = range.lowerBound
        while index < range.upperBound {
            let (contentEnd, next) = line(from: index, before: range.upperBound)
            guard contentEnd - index <= limits.maxLineLength else {
                throw storage.error(.limit, at: index, "a line is longer than the limit of \(limits.maxLineLength) bytes")
            }
            index = next
        }
    }

    // multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF body-part *encapsulation
    //                   close-delimiter transport-padding [CRLF epilogue]      (RFC 2046 §5.1.1)
    func splitMultipart(
        _ body: Range<Int>, boundary: String
    ) throws(MIMEError)
        -> (parts: [Range<Int>], preamble: Range<Int>?, epilogue: Range<Int>?, missingClose: Bool)
    {
        let dash = Array("--".utf8) + Array(boundary.utf8)
        var parts: [Range<Int>] = []
        var preamble: Range<Int>?
        var partStart: Int?
        var index = body.lowerBound
        while index < body.upperBound {
            let (contentEnd, next) = line(from: index, before: body.upperBound)
            guard contentEnd - index <= limits.maxLineLength else {
                throw storage.error(.limit, at: index, "a line is longer than the limit of \(limits.maxLineLength) bytes")
            }
            if let isClose = Self.delimiter(bytes[index..<contentEnd], dash: dash) {
                // The line break before a delimiter belongs to the delimiter.
                var end = index
                if end > body.lowerBound, bytes[end - 1] == 0x0A { end -= 1 }
                if end > body.lowerBound, bytes[end - 1] == 0x0D { end -= 1 }
                if let start = partStart {
                    parts.append(start..<max(start, end))
                } else if index > body.lowerBound {
                    preamble = body.lowerBound..<end
                }
                if isClose {
                    guard !parts.isEmpty else {
                        throw storage.error(.boundary, at: index, "the close delimiter '--\(boundary)--' comes before any body part")
                    }
                    let epilogue = next < body.upperBound ? next..<body.upperBound : nil
                    return (parts, preamble, epilogue, false)
                }
                partStart = next
            }
            index = next
        }
        guard let start = partStart else {
            throw storage.error(.boundary, at: body.lowerBound, "the boundary '\(boundary)' never appears in the multipart body")
        }
        parts.append(start..<body.upperBound)
        return (parts, preamble, nil, true)
    }
}

private func isAlpha(_ byte: UInt8) -> Bool { (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) }
