import ArgumentParser
import Foundation
import LDIF
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

    @Argument(help: "The message file ('-' for standard input).")
    var file: String

    func run() async throws {
        guard !trust.isEmpty else {
            printError("\(file): no --trust certificate given; a replication message is valid only with a signature from a trusted certificate")
            throw Exit.dataError
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
        let decoder: MessageDecoder
        do {
            decoder = MessageDecoder(verifier: try SMIMEVerifier(pemFiles: trust))
        } catch {
            printError("\(error)")
            throw Exit.usage
        }
        let decoded: DecodedMessage
        do {
            decoded = try await decoder.decode(bytes)
        } catch {
            printError("\(file): \(ReportText.safe("\(error)"))")
            throw Exit.dataError
        }
        switch format {
        case .ldif:
            FileHandleOutput.write(LDIFWriter().render(decoded.message.records), to: 1)
        case .json:
            try FileHandleOutput.writeJSON(DecodeReport(decoded))
        case .text:
            let report = DecodeReport(decoded)
            var text = """
                source:     \(report.source)
                sequence:   \(report.sequence)
                kind:       \(report.kind)
                signer:     \(ReportText.safe(report.signer.subject)) (issuer \(ReportText.safe(report.signer.issuer)), serial \(report.signer.serial), valid until \(report.signer.notAfter))

                """
            if let id = report.messageID { text += "message-id: \(ReportText.safe(id))\n" }
            if let from = report.from { text += "from:       \(ReportText.safe(from))\n" }
            text += "records:    \(report.records)\n\n"
            FileHandleOutput.write(text, to: 1)
            FileHandleOutput.write(LDIFWriter().render(decoded.message.records), to: 1)
        }
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
    var ldif: String

    init(_ decoded: DecodedMessage) {
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
        records = decoded.message.records.count
        ldif = String(decoding: LDIFWriter().render(decoded.message.records), as: UTF8.self)
    }
}
