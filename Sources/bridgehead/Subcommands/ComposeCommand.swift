import ArgumentParser
import Foundation
import LDIF
import MessageFormat
import Replication
import SMIME

struct ComposeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compose",
        abstract: "Write a replication message (format 1) to standard output.",
        discussion: """
            Wraps the records of FILE.ldif (standard input when absent) in a replication message: the \
            Bridgehead headers and the LDIF form an entity that is signed with S/MIME (detached CMS, \
            sha-256) when --sign-cert and --sign-key are given. A delta message carries change \
            records; a full message carries content records (every entry the source owns). The \
            result can be dropped into a Maildir's new/ folder or sent with any mailer. Without a \
            key the message is unsigned, and no agent will apply it.

            Example:
              bridgehead compose --source site-a --sequence 42 --from dra@site-a.example.com \\
                --to dra@site-b.example.com --sign-cert site-a.pem --sign-key site-a.key changes.ldif > 42.eml
            """
    )

    @Option(help: "The source id ([a-z0-9._-]+).")
    var source: String

    @Option(help: "The message's sequence number: 1, 2, 3, … per source, no gaps.")
    var sequence: UInt64

    @Option(help: "delta (change records) or full (content records).")
    var kind: String = "delta"

    @Option(help: "The sender address (the From header).")
    var from: String

    @Option(help: "The recipient address (the To header).")
    var to: String

    @Option(help: "PEM file with the signer's certificate (and any intermediates after it).")
    var signCert: String?

    @Option(help: "PEM file with the signer's private key.")
    var signKey: String?

    @Option(help: "A receiver the message is meant for (its [agent] id; repeatable). Others refuse it.")
    var destination: [String] = []

    @Argument(help: "The LDIF file (standard input when absent).")
    var file: String?

    func validate() throws {
        guard ReplicationMessage.isValidSource(source) else { throw ValidationError("--source must be of the form [a-z0-9._-]+") }
        guard sequence > 0, sequence <= ReplicationMessage.maxSequence else {
            throw ValidationError("--sequence is a whole number from 1 to \(ReplicationMessage.maxSequence)")
        }
        for id in destination where !ReplicationMessage.isValidSource(id) {
            throw ValidationError("--destination takes a receiver id of the form [a-z0-9._-]+")
        }
        guard ReplicationMessage.Kind(rawValue: kind) != nil else { throw ValidationError("--kind is delta or full") }
        guard (signCert == nil) == (signKey == nil) else { throw ValidationError("--sign-cert and --sign-key go together") }
    }

    func run() throws {
        let bytes: [UInt8]
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                printError("\(file): cannot read")
                throw Exit.dataError
            }
            bytes = [UInt8](data)
        } else {
            bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        }
        let records: [LDIFRecord]
        do {
            records = try LDIFReader.records(in: bytes)
        } catch {
            printError("\(file ?? "<stdin>"):\(error)")
            throw Exit.dataError
        }
        let message = ReplicationMessage(
            source: source, sequence: sequence, kind: ReplicationMessage.Kind(rawValue: kind) ?? .delta, records: records, destinations: destination)
        for (index, record) in records.enumerated() {
            let isContent: Bool
            if case .content = record { isContent = true } else { isContent = false }
            if isContent != (message.kind == .full) {
                printError("record \(index + 1): a \(kind) message carries \(message.kind == .full ? "content" : "change") records only")
                throw Exit.dataError
            }
        }
        do {
            let signer = try signCert.map { certificate throws(SMIMEError) in try SMIMESigner(certificateFile: certificate, keyFile: signKey!) }
            FileHandleOutput.write(try message.compose(from: from, to: to, signer: signer), to: 1)
        } catch {
            printError("\(error)")
            throw Exit.dataError
        }
    }
}
