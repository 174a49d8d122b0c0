import MailDrop

extension FuzzEntries {
    /// What an IMAP server sends: cut into responses the way the client frames them (lines, literals),
    /// each response parsed and read for what the client uses (listing, fetched body, status, code).
    public static func imap(_ bytes: [UInt8]) {
        var rest = bytes[...]
        while !rest.isEmpty {
            gathersAsItScans(rest)
            guard let length = try? IMAPFraming.frameLength(rest, maxLineLength: 1 << 14, maxLiteralSize: 1 << 20) else { return }
            precondition(length > 0 && length <= rest.count, "a frame inside the bytes")
            let frame = Array(rest.prefix(length))
            rest = rest.dropFirst(length)
            guard let response = try? IMAPResponse(parsing: frame) else { continue }
            _ = response.listing
            _ = response.fetched
            _ = response.internalDate
            parsesApartAsInline(frame, response)
        }
    }

    /// The frame decoder hands a large literal over apart from its frame: the first literal of a
    /// frame, moved out of it, must parse to the same response.
    static func parsesApartAsInline(_ frame: [UInt8], _ inline: IMAPResponse) {
        guard let newline = frame.firstIndex(of: 0x0A),
            case .awaitingLiteral(let lineEnd, let count)? = try? IMAPFraming.scan(frame[...newline], maxLineLength: 1 << 14, maxLiteralSize: 1 << 20),
            lineEnd + count <= frame.count
        else { return }
        let apart = IMAPFrame(
            Array(frame[..<lineEnd] + frame[(lineEnd + count)...]), literals: [lineEnd: .string(Array(frame[lineEnd..<(lineEnd + count)]))])
        let response = try? IMAPResponse(parsing: apart)
        precondition(response?.values == inline.values, "a literal apart parses as inline")
    }

    /// The frame decoder gathers a large literal once its line is seen (`awaitingLiteral`), then scans
    /// the rest of the line alone: that must frame what a scan of all the bytes frames.
    static func gathersAsItScans(_ bytes: ArraySlice<UInt8>) {
        let half = bytes.prefix(bytes.count / 2)
        guard case .awaitingLiteral(let lineEnd, let count)? = try? IMAPFraming.scan(half, maxLineLength: 1 << 14, maxLiteralSize: 1 << 20) else {
            return
        }
        precondition(lineEnd > 0 && lineEnd <= half.count, "the announcing line is inside the bytes scanned")
        let after = lineEnd + count
        guard after <= bytes.count else { return }
        let whole = try? IMAPFraming.frameLength(bytes, maxLineLength: 1 << 14, maxLiteralSize: 1 << 20)
        let tail = try? IMAPFraming.frameLength(bytes.dropFirst(after), maxLineLength: 1 << 14, maxLiteralSize: 1 << 20)
        precondition(whole == tail.map { after + $0 }, "a gathered literal frames as a scanned one")
    }
}
