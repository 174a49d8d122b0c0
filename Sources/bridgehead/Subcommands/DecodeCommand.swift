import ArgumentParser
import Foundation
import LDIF
import MIME
import MessageFormat
import Replication
import SMIME

struct DecodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Check and show one replication message, offline.",
        discussion: """
            Reads FILE.eml ('-' for standard input), verifies its S/MIME signature against the \
            certificates of the --trust files (the certificates a message carries are never trusted \
            by themselves), and prints the Bridgehead headers (source, sequence, kind), the signer \
            and the LDIF it carries. Anything that is not a valid replication message exits 65 with \
            the reason: unreadable MIME, no or a bad signature, an untrusted or expired signer, \
            missing Bridgehead headers, bad LDIF.

            Examples:
              bridgehead decode --trust /etc/bridgehead/site-a.pem message.eml
              bridgehead decode --trust ca.pem --format ldif message.eml | ldapmodify -n
            """
    )

    @Option(name: .long, help: "A PEM file of trusted certificates (repeatable): the source's certificate or its CA.")
    var trust: [String] = []

    @Option(help: "Output: text, json, or ldif (the changes only).")
    var format: OutputFormat = .text

    @Option(help: "Refuse a message larger than this many bytes (as [mail] max_message_bytes does for sync).")
    var maxMessageBytes: Int = MIMELimits.default.maxMessageSize

    @Argument(help: "The message file ('-' for standard input).")
    var file: String

    func run() async throws {
        guard !trust.isEmpty else {
            printError("\(file): no --trust certificate given; a replication message is valid only with a signature from a trusted certificate")
            throw Exit.dataError
        }
        let decoder: MessageDecoder
        do {
            decoder = MessageDecoder(verifier: try SMIMEVerifier(pemFiles: trust), limits: MIMELimits(maxMessageSize: max(maxMessageBytes, 4096)))
        } catch {
            printError("\(error)")
            throw Exit.usage
        }
        if file != "-", let size = try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int, size >= MessageDecoder.streamingSize {
            try await decodeStreaming(decoder)
            return
        }
        let bytes: [UInt8]
        if file == "-" {
            bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        } else {
            guard let data = FileManager.default.contents(atPath: file) else {
                printError("\(file): cannot read")
                throw Exit.dataError
            }
            bytes = [UInt8](data)
        }
        let decoded: DecodedMessage
        do {
            decoded = try await decoder.decode(bytes)
        } catch {
            printError("\(file): \(ReportText.safe("\(error)"))")
            throw Exit.dataError
        }
        let records = decoded.message.records
        try show(decoded, count: records.count) { emit in emit(LDIFWriter().render(records)) }
    }

    private func decodeStreaming(_ decoder: MessageDecoder) async throws {
        let streamed: StreamedMessage
        do {
            streamed = try await decoder.decode(file: file)
        } catch {
            printError("\(file): \(ReportText.safe("\(error)"))")
            throw Exit.dataError
        }
        do {
            try show(streamed.decoded, count: streamed.recordCount ?? 0) { emit in
                emit(LDIFWriter().header)
                try streamed.forEachRecord { emit(LDIFWriter().render($0)) }
            }
        } catch {
            printError("\(file): \(ReportText.safe("\(error)"))")
            throw Exit.dataError
        }
    }

    /// Prints the message in the chosen format; `ldif` hands the LDIF to `emit` in pieces, which
    /// are written a megabyte at a time (inside the JSON's "ldif" string, escaped, for json).
    private func show(_ decoded: DecodedMessage, count: Int, ldif: (_ emit: ([UInt8]) -> Void) throws -> Void) throws {
        let output = BufferedOutput()
        let report = DecodeReport(decoded, records: count)
        switch format {
        case .ldif:
            try ldif(output.write)
        case .text:
            var text = """
                source:     \(report.source)
                sequence:   \(report.sequence)
                kind:       \(report.kind)
                signer:     \(ReportText.safe(report.signer.subject)) (issuer \(ReportText.safe(report.signer.issuer)), serial \(report.signer.serial), valid until \(report.signer.notAfter))

                """
            if let id = report.messageID { text += "message-id: \(ReportText.safe(id))\n" }
            if let from = report.from { text += "from:       \(ReportText.safe(from))\n" }
            text += "records:    \(report.records)\n\n"
            output.write(Array(text.utf8))
            try ldif(output.write)
        case .json:
            // The report with an empty "ldif", which the LDIF then fills as it is read.
            let json = try FileHandleOutput.json(report)
            let marker = Array(#""ldif" : """#.utf8)
            guard let at = json.firstRange(of: marker) else { throw ValidationError("the JSON report has no ldif field") }
            output.write(Array(json[..<(at.upperBound - 1)]))
            output.escapesJSON = true
            try ldif(output.write)
            output.escapesJSON = false
            output.write(Array(json[(at.upperBound - 1)...]) + [0x0A])
        }
        output.flush()
    }
}

/// Standard output written a megabyte at a time; inside a JSON string when `escapesJSON` is set.
private final class BufferedOutput {
    private var buffer: [UInt8] = []
    var escapesJSON = false

    func write(_ bytes: [UInt8]) {
        if escapesJSON {
            for byte in bytes {
                switch byte {
                case 0x22: buffer += [0x5C, 0x22]
                case 0x5C: buffer += [0x5C, 0x5C]
                case 0x0A: buffer += [0x5C, UInt8(ascii: "n")]
                case 0x0D: buffer += [0x5C, UInt8(ascii: "r")]
                case 0x09: buffer += [0x5C, UInt8(ascii: "t")]
                case ..<0x20: buffer += Array(String(format: "\\u%04x", byte).utf8)
                default: buffer.append(byte)
                }
            }
        } else {
            buffer += bytes
        }
        if buffer.count >= 1 << 20 { flush() }
    }

    func flush() {
        FileHandleOutput.write(buffer, to: 1)
        buffer = []
    }
}

/// The stable JSON shape of `bridgehead decode --format json`.
struct DecodeReport: Encodable {
    struct Signer: Encodable {
        var subject: String
        var issuer: String
        var serial: String
        var notBefore: String
        var notAfter: String
    }

    var source: String
    var sequence: UInt64
    var kind: String
    var messageID: String?
    var from: String?
    var subject: String?
    var signer: Signer
    var records: Int
    /// Empty here: `decode` writes the LDIF into it as it reads the records.
    var ldif = ""

    init(_ decoded: DecodedMessage, records: Int) {
        let iso = ISO8601DateFormatter()
        source = decoded.message.source
        sequence = decoded.message.sequence
        kind = decoded.message.kind.rawValue
        messageID = decoded.messageID
        from = decoded.from
        subject = decoded.subject
        signer = Signer(
            subject: decoded.signer.subject.description, issuer: decoded.signer.issuer.description,
            serial: decoded.signer.serialNumber.description, notBefore: iso.string(from: decoded.signer.notValidBefore),
            notAfter: iso.string(from: decoded.signer.notValidAfter))
        self.records = records
    }
}
