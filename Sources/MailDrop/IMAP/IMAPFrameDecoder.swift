import NIOCore

/// Splits the byte stream from an IMAP server into complete responses: a line, and when the line ends
/// in a literal announcement `{n}`, the n bytes and the rest of the response after them.
struct IMAPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]

    /// Longest line outside literals, and largest literal (a whole message).
    let maxLineLength: Int
    let maxLiteralSize: Int

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = try IMAPFraming.frameLength(buffer.readableBytesView, maxLineLength: maxLineLength, maxLiteralSize: maxLiteralSize)
        else { return .needMoreData }
        let frame = buffer.readBytes(length: length) ?? []
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }
}

/// How the byte stream from an IMAP server divides into responses, apart from the channel: the pure
/// part of `IMAPFrameDecoder`, also what the fuzz target exercises.
public enum IMAPFraming {
    /// The length of the first complete response in `bytes` (a line, and when it ends in a literal
    /// announcement `{n}` or `{n+}`, the n bytes and the rest of the response after them, and so on),
    /// or nil when more bytes are needed. Throws when a line or a literal is over its limit.
    public static func frameLength<Bytes: RandomAccessCollection<UInt8>>(
        _ view: Bytes, maxLineLength: Int, maxLiteralSize: Int
    ) throws(IMAPFrameError) -> Int? where Bytes.Index == Int {
        var offset = view.startIndex
        while true {
            guard let newline = view[offset...].firstIndex(of: 0x0A) else {
                if view.endIndex - offset > maxLineLength { throw IMAPFrameError.lineTooLong(maxLineLength) }
                return nil
            }
            if newline - offset > maxLineLength { throw IMAPFrameError.lineTooLong(maxLineLength) }
            // Does the line end in {n} or {n+} before CRLF?
            var end = newline
            if end > offset, view[end - 1] == 0x0D { end -= 1 }
            if end > offset, view[end - 1] == UInt8(ascii: "}"), let open = view[offset..<end].lastIndex(of: UInt8(ascii: "{")) {
                let digits = view[(open + 1)..<(end - 1)].filter { $0 != UInt8(ascii: "+") }
                if !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                    // Too many digits for an Int is too large a literal, not a line without one.
                    guard let count = Int(String(decoding: digits, as: UTF8.self)), count <= maxLiteralSize else {
                        throw IMAPFrameError.literalTooLarge(Int(String(decoding: digits.prefix(18), as: UTF8.self)) ?? Int.max, maxLiteralSize)
                    }
                    let afterLiteral = newline + 1 + count
                    guard afterLiteral <= view.endIndex else { return nil }
                    offset = afterLiteral
                    continue
                }
            }
            return newline + 1 - view.startIndex
        }
    }
}

public enum IMAPFrameError: Error, Sendable, CustomStringConvertible {
    case lineTooLong(Int)
    case literalTooLarge(Int, Int)

    public var description: String {
        switch self {
        case .lineTooLong(let limit): "the server sent a line longer than \(limit) bytes"
        case .literalTooLarge(let size, let limit): "the server announced a literal of \(size) bytes, over the limit of \(limit)"
        }
    }
}
