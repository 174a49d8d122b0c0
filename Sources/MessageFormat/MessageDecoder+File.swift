import Foundation
import LDIF
import MIME
import SMIME
import X509

/// A replication message verified from its file without being held: its metadata and signer are
/// known (and its record count, when its records were checked as it was verified); `forEachRecord`
/// reads the records from the file again, one at a time.
public struct StreamedMessage: Sendable {
    /// What `MessageDecoder.decode(_:)` gives, except that `message.records` is empty.
    public var decoded: DecodedMessage
    /// Nil when the records were not read as the message was verified (`checkingRecords: false`):
    /// then the first reading of them checks them, as a message read whole is checked.
    public let recordCount: Int?
    let file: MessageFile
    let part: MessageLayout.Part
    let algorithm: SigningAlgorithm.Digest
    let digest: [UInt8]

    /// The records, in order. Throws if the file no longer holds what was verified (the check is
    /// made as the last record is read: a changed file is reported, even if some records were shown).
    public func forEachRecord(_ body: (LDIFRecord) throws -> Void) throws {
        let reader = records()
        while let record = try reader.next() { try body(record) }
    }

    /// The records read one at a time, as the caller asks for them.
    public func records() -> RecordReader { RecordReader(self) }

    /// The records of a streamed message, read from its file when asked for; after the last, the
    /// file is checked to hold what was verified (`next` throws if it does not).
    public final class RecordReader {
        private let message: StreamedMessage
        private let source: SignedPartSource
        private let reader: LDIFReader
        private var finished = false

        init(_ message: StreamedMessage) {
            self.message = message
            source = SignedPartSource(file: message.file, part: message.part, algorithm: message.algorithm)
            reader = LDIFReader(source: source)
        }

        /// The next record; nil after the last (once the file was found unchanged). A record that
        /// does not parse, or that its message may not hold (a change record in a full message),
        /// refuses the message as `decode` does, if the file is unchanged (the rest of it is read
        /// to know); in a file changed since it was verified, it is that change that is reported.
        public func next() throws(DecodeError) -> LDIFRecord? {
            guard !finished else { return nil }
            let record: LDIFRecord?
            do {
                record = try reader.next()
            } catch {
                try refuse(.invalid(source.failure.map { "the LDIF body does not decode: \($0.reason)" } ?? "LDIF body, \(error)"))
            }
            if let record {
                number += 1
                do throws(ReplicationMessageError) {
                    try message.decoded.message.check(record, number: number)
                } catch {
                    try refuse(error)
                }
                return record
            }
            try checkUnchanged(decoding: true)
            finished = true  // (only once the file was found unchanged: a failed check fails again)
            return nil
        }

        private var number = 0

        /// Throws `error` about the verified message, or, when the file no longer holds it, that.
        private func refuse(_ error: ReplicationMessageError) throws(DecodeError) -> Never {
            try checkUnchanged(decoding: false)
            throw .format(error)
        }

        /// Reads the rest of the file; throws if it no longer holds what was verified.
        private func checkUnchanged(decoding: Bool) throws(DecodeError) {
            do {
                try source.drain(decoding: decoding)
            } catch {
                throw .mime(StreamedMessage.changed(message.file, "\(error)"))
            }
            guard source.digest == message.digest, source.headerMatches else { throw .mime(StreamedMessage.changed(message.file)) }
        }
    }

    /// The message with its records, read again from the file (and checked against what was verified).
    public func message() throws(DecodeError) -> ReplicationMessage {
        var message = decoded.message
        message.records.reserveCapacity(recordCount ?? 0)
        let reader = records()
        while let record = try reader.next() { message.records.append(record) }
        return message
    }

    static func changed(_ file: MessageFile, _ what: String? = nil) -> MIMEError {
        MIMEError(.structure, offset: 0, line: 0, reason: "\(file.path) changed while it was read\(what.map { " (\($0))" } ?? ""); decode it again")
    }
}

extension MessageDecoder {
    /// From this size on, a message in a file is verified a megabyte at a time and its records read
    /// again when they are wanted (`decode(file:)`), never held whole; smaller ones are read at once.
    public static let streamingSize = 16 << 20

    /// Decodes and verifies the message in a file as `decode(_:)` does, reading it a megabyte at a
    /// time: its structure first, then the signed part hashed and its LDIF parsed in one pass (the
    /// records counted and checked, not kept). Memory stays bounded by the largest record, whatever
    /// the size of the message. A signed part that is itself a multipart is refused (a replication
    /// message's is application/ldif).
    ///
    /// `checkingRecords: false` hashes the signed part without parsing its LDIF (a caller that will
    /// read the records anyway, `sync`, parses them once): the first reading of the records then
    /// refuses a message whose LDIF does not parse, or whose records it may not hold, as this would.
    public func decode(file path: String, at time: Date = Date(), checkingRecords: Bool = true) async throws(DecodeError) -> StreamedMessage {
        let file: MessageFile
        do {
            file = try MessageFile(path: path)
        } catch {
            throw .mime(error)
        }
        return try await decode(file: file, at: time, checkingRecords: checkingRecords)
    }

    /// The same, for a file already open (it stays open while the result lives).
    public func decode(file: MessageFile, at time: Date = Date(), checkingRecords: Bool = true) async throws(DecodeError) -> StreamedMessage {
        let layout: MessageLayout
        do {
            layout = try MessageLayout.scan(file, limits: limits)
        } catch {
            throw .mime(error)
        }
        let signedHeader = (layout.parts.first?.header ?? layout.header).header
        let verifier = try chooseVerifier(signedHeader)
        let der: [UInt8]
        do {
            der = try SMIMEVerifier.detachedSignature(type: layout.header.contentType, partCount: layout.parts.count) { () throws(SMIMEError) in
                let range = layout.parts[1].range
                // The signature part: a few kilobytes (a signature and its certificates), never more than
                // the limit on signatures allows, base64-encoded, with its header.
                guard range.count <= verifier.limits.maxSignatureBytes * 2 + limits.maxHeaderSize else {
                    throw .malformedSignature("the signature part is \(range.count) bytes, more than any signature accepted here")
                }
                do {
                    return try MIMEParser.parsePart(file.read(range), limits: limits)
                } catch {
                    throw .malformedSignature("the signature part cannot be read: \(error)")
                }
            }
        } catch {
            throw .signature(error)
        }
        let part = layout.parts[0]
        let metadata = Result { () throws(ReplicationMessageError) in try ReplicationMessage.metadata(of: part.header) }
        // The digest the signature names (not micalg, which nothing signs): the content is read once,
        // and the bytes hashed are the bytes parsed. (A signature that cannot be read is refused by
        // `verify` whatever the digest.)
        let algorithm = SMIMEVerifier.digestAlgorithm(ofSignature: der) ?? .sha256

        // One pass over the signed part: hashed, decoded, its LDIF parsed and checked record by record.
        let source = SignedPartSource(file: file, part: part, algorithm: algorithm)
        let reader = LDIFReader(source: source)
        var count = 0
        var ldifError: LDIFError?
        var recordError: ReplicationMessageError?
        do {
            while checkingRecords, let record = try reader.next() {
                count += 1
                if recordError == nil, case .success(let message) = metadata {
                    do { try message.check(record, number: count) } catch { recordError = error }
                }
            }
        } catch {
            ldifError = error
        }
        do {
            try source.drain()
        } catch {
            if source.failure == nil { throw .mime(MIMEError(.structure, offset: 0, line: 0, reason: "\(error)")) }
        }
        // The header read with the content is the one the metadata came from.
        guard source.headerMatches else { throw .mime(StreamedMessage.changed(file)) }
        let signer: Certificate
        do throws(SMIMEError) {
            signer = try await verifier.verify(signature: der, at: time) { asked in
                // (Another digest than the signature names cannot match its messageDigest.)
                asked == algorithm ? source.digest : []
            }
        } catch {
            throw .signature(error)
        }
        var message: ReplicationMessage
        do throws(ReplicationMessageError) {
            message = try metadata.get()
            if let failure = source.failure { throw ReplicationMessageError.invalid("the LDIF body does not decode: \(failure.reason)") }
            if let ldifError { throw ReplicationMessageError.invalid("LDIF body, \(ldifError)") }
            if let recordError { throw recordError }
        } catch {
            throw .format(error)
        }
        guard kinds.contains(message.kind) else { throw .otherKind(message.kind.rawValue) }
        message.records = []
        let outer = layout.header.header
        let decoded = DecodedMessage(
            messageID: outer["Message-ID"], from: outer["From"], subject: outer["Subject"], date: outer["Date"], signer: signer, message: message)
        return StreamedMessage(
            decoded: decoded, recordCount: checkingRecords ? count : nil, file: file, part: part, algorithm: algorithm, digest: source.digest)
    }
}

/// The signed part of a message file as a byte source for the LDIF reader: read a megabyte at a
/// time, every byte of the part (header and body) hashed as S/MIME does, the body's transfer
/// encoding undone. A decoding failure is kept in `failure` (the reader sees an error).
final class SignedPartSource: ByteSource {
    let file: MessageFile
    let part: MessageLayout.Part
    private var hasher: SignedContentHasher
    private var decoder: TransferDecoder
    private var offset: Int
    /// Body bytes after the last line break read (transfer decoding takes whole lines).
    private var carry: [UInt8] = []
    private var out: [UInt8] = []
    private var outIndex = 0
    private var finished = false
    private(set) var failure: MIMEError?
    /// The part's header as this read saw it (it is hashed with the rest).
    private var header: [UInt8] = []

    struct DecodingFailed: Error {}

    init(file: MessageFile, part: MessageLayout.Part, algorithm: SigningAlgorithm.Digest) {
        self.file = file
        self.part = part
        hasher = SignedContentHasher(algorithm)
        decoder = TransferDecoder(part.header.transferEncoding)
        offset = part.range.lowerBound
    }

    /// The digest of the part, once it has all been read.
    var digest: [UInt8] { hasher.finalize() }

    /// Whether this read saw the header the part was described by (the file did not change under it).
    var headerMatches: Bool { header.elementsEqual(part.header.bytes) }

    func read(maxCount: Int) throws -> [UInt8] {
        while outIndex == out.count, !finished { try fill(decoding: true) }
        let count = min(maxCount, out.count - outIndex)
        defer { outIndex += count }
        return Array(out[outIndex..<(outIndex + count)])
    }

    /// Reads the rest of the part (hashing it, and decoding it unless `decoding` is false).
    /// After a decoding failure the rest is still hashed: the signature is judged on every byte.
    func drain(decoding: Bool = true) throws {
        while !finished {
            do {
                try fill(decoding: decoding && failure == nil)
            } catch is DecodingFailed {
                continue
            }
        }
    }

    private func fill(decoding: Bool) throws {
        out = []
        outIndex = 0
        let end = part.range.upperBound
        guard offset < end else {
            finished = true
            if decoding { out = try decode { () throws(MIMEError) in try decoder.finish(at: end) } }
            return
        }
        let chunk = try file.read(offset..<min(end, offset + MessageLayout.chunk))
        guard !chunk.isEmpty else { throw MIMEError(.structure, offset: offset, line: 0, reason: "\(file.path) shrank while it was read") }
        let chunkStart = offset
        offset += chunk.count
        hasher.update(chunk[...])
        if chunkStart < part.bodyStart { header += chunk.prefix(part.bodyStart - chunkStart) }
        guard decoding, offset > part.bodyStart else { return }
        carry += chunk[max(chunk.startIndex, part.bodyStart - chunkStart)...]
        var lines = carry[...]
        if offset < end {
            guard let newline = carry.lastIndex(of: 0x0A) else { return }
            lines = carry[...newline]
        }
        let linesStart = offset - carry.count
        out = try decode { () throws(MIMEError) in try decoder.next(lines, at: linesStart) }
        carry = Array(carry[lines.endIndex...])
    }

    private func decode(_ step: () throws(MIMEError) -> [UInt8]) throws -> [UInt8] {
        do {
            return try step()
        } catch {
            failure = failure ?? error
            throw DecodingFailed()
        }
    }
}
