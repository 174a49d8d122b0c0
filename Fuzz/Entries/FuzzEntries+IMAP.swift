import MailDrop

extension FuzzEntries {
    /// What an IMAP server sends: cut into responses the way the client frames them (lines, literals),
    /// each response parsed and read for what the client uses (listing, fetched body, status, code).
    public static func imap(_ bytes: [UInt8]) {
        var rest = bytes[...]
        while !rest.isEmpty {
            guard let length = try? IMAPFraming.frameLength(rest, maxLineLength: 1 << 14, maxLiteralSize: 1 << 20) else { return }
            precondition(length > 0 && length <= rest.count, "a frame inside the bytes")
            let frame = Array(rest.prefix(length))
            rest = rest.dropFirst(length)
            guard let response = try? IMAPResponse(parsing: frame) else { continue }
            _ = response.listing
            _ = response.fetched
            _ = response.internalDate
        }
    }
}
