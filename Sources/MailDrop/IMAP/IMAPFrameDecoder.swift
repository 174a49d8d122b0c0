import Foundation
import MIME
import NIOCore

/// One complete response as the frame decoder delivers it: its bytes, except the large literals,
/// which come apart (`literals`, by the offset in `bytes` where each would begin): in an array of
/// their own (`.string`), so that a fetched message is never copied out of its frame, or in the file
/// they were received into (`.file`).
public struct IMAPFrame: Sendable {
    public var bytes: [UInt8]
    public var literals: [Int: IMAPValue]

    public init(_ bytes: [UInt8], literals: [Int: IMAPValue] = [:]) {
        self.bytes = bytes
        self.literals = literals
    }
}

/// Splits the byte stream from an IMAP server into complete responses: a line, and when the line ends
/// in a literal announcement `{n}`, the n bytes and the rest of the response after them.
///
/// A literal of `directLiteral` bytes or more (a message being fetched) is not left to grow in the
/// channel's buffer, which doubles as it fills and is then copied into the frame: it is gathered into
/// an array of its own, allocated once at its final size, as its bytes arrive. One of `spoolLiteral`
/// bytes or more is written as it arrives to an unlinked temporary file (or, when no file
/// can be made there, gathered in memory all the same), so that a large message is never held whole.
/// A file that cannot be written fails the connection.
struct IMAPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = IMAPFrame

    /// Longest line outside literals, and largest literal (a whole message).
    let maxLineLength: Int
    let maxLiteralSize: Int
    /// From this size on, a literal is gathered into an array of its own.
    static let directLiteral = 1 << 20
    /// From this size on, a literal is received into a file (the size from which a message is
    /// decoded from its file, `MessageDecoder.streamingSize`), in the temporary directory.
    static let spoolLiteral = 16 << 20
    private let spoolDirectory = FileManager.default.temporaryDirectory.path

    /// The start of a frame whose large literal is being read, the literals gathered so far, the
    /// one being read (in memory or in its file), and how many of its bytes are to come.
    private var gathered: [UInt8] = []
    private var literals: [Int: IMAPValue] = [:]
    private var literal: [UInt8] = []
    private var spool: MessageFile?
    private var missing = 0

    init(maxLineLength: Int, maxLiteralSize: Int) {
        self.maxLineLength = maxLineLength
        self.maxLiteralSize = maxLiteralSize
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if missing > 0 {
            let take = min(missing, buffer.readableBytes)
            if let spool {
                _ = try buffer.withUnsafeReadableBytes { bytes in try spool.append(UnsafeRawBufferPointer(rebasing: bytes.prefix(take))) }
            } else {
                buffer.withUnsafeReadableBytes { literal.append(contentsOf: $0.prefix(take)) }
            }
            buffer.moveReaderIndex(forwardBy: take)
            missing -= take
            if missing > 0 { return .needMoreData }
            if let spool {
                literals[gathered.count] = .file(spool)
                self.spool = nil
            } else {
                literals[gathered.count] = .string(literal)
                literal = []
            }
        }
        switch try IMAPFraming.scan(buffer.readableBytesView, maxLineLength: maxLineLength, maxLiteralSize: maxLiteralSize) {
        case .complete(let length):
            var frame = IMAPFrame(gathered, literals: literals)
            gathered = []
            literals = [:]
            buffer.withUnsafeReadableBytes { frame.bytes.append(contentsOf: $0.prefix(length)) }
            buffer.moveReaderIndex(forwardBy: length)
            context.fireChannelRead(wrapInboundOut(frame))
            return .continue
        case .awaitingLiteral(let lineEnd, let count) where count >= Self.directLiteral:
            // What precedes the literal goes to the frame; the literal into a file, or an array of its size.
            buffer.withUnsafeReadableBytes { gathered.append(contentsOf: $0.prefix(lineEnd)) }
            buffer.moveReaderIndex(forwardBy: lineEnd)
            spool = count >= Self.spoolLiteral ? try? MessageFile(spooling: [], in: spoolDirectory) : nil
            if spool == nil { literal.reserveCapacity(count) }
            missing = count
            return .continue
        case .awaitingLiteral, .needMore:
            return .needMoreData
        }
    }
}

/// How the byte stream from an IMAP server divides into responses, apart from the channel: the pure
/// part of `IMAPFrameDecoder`, also what the fuzz target exercises.
public enum IMAPFraming {
    /// Where the first response in a stream of bytes stands.
    public enum Scan: Sendable, Hashable {
        /// Complete: its length.
        case complete(Int)
        /// Waiting for the bytes of a literal of `count` bytes announced by the line that ends (its
        /// LF included) `lineEnd` bytes in.
        case awaitingLiteral(lineEnd: Int, count: Int)
        /// Waiting for the end of a line.
        case needMore
    }

    /// The length of the first complete response in `bytes` (a line, and when it ends in a literal
    /// announcement `{n}` or `{n+}`, the n bytes and the rest of the response after them, and so on),
    /// or nil when more bytes are needed. Throws when a line or a literal is over its limit.
    public static func frameLength<Bytes: RandomAccessCollection<UInt8>>(
        _ view: Bytes, maxLineLength: Int, maxLiteralSize: Int
    ) throws(IMAPFrameError) -> Int? where Bytes.Index == Int {
        if case .complete(let length) = try scan(view, maxLineLength: maxLineLength, maxLiteralSize: maxLiteralSize) { return length }
        return nil
    }

    /// How far the first response in `view` is complete (see `Scan`). Throws when a line or a
    /// literal is over its limit.
    public static func scan<Bytes: RandomAccessCollection<UInt8>>(
        _ view: Bytes, maxLineLength: Int, maxLiteralSize: Int
    ) throws(IMAPFrameError) -> Scan where Bytes.Index == Int {
        var offset = view.startIndex
        while true {
            guard let newline = view[offset...].firstIndex(of: 0x0A) else {
                if view.endIndex - offset > maxLineLength { throw IMAPFrameError.lineTooLong(maxLineLength) }
                return .needMore
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
                    guard afterLiteral <= view.endIndex else { return .awaitingLiteral(lineEnd: newline + 1 - view.startIndex, count: count) }
                    offset = afterLiteral
                    continue
                }
            }
            return .complete(newline + 1 - view.startIndex)
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
