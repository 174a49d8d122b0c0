import ArgumentParser
import Foundation
import LDAPClient
import LDIF
import Logging
import Replication

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply an LDIF file to the directory named in the configuration.",
        discussion: """
            Sends the records of FILE (change records; content records are added as entries) to the \
            server of the [ldap] section of the configuration. When the server offers RFC 5805 \
            transactions, records go in transactions of --batch-size pipelined operations: each batch \
            is applied whole or not at all. Otherwise they go one at a time, stopping at the first \
            refusal unless --continue is given.

            Example:
              bridgehead apply --config /etc/bridgehead/bridgehead.toml seed.ldif
            """
    )

    @OptionGroup var configFile: ConfigOption

    @Option(help: "Records per transaction.")
    var batchSize = 50

    @Flag(inversion: .prefixedNo, help: "Use transactions when the server offers them.")
    var transactions = true

    @Flag(name: .customLong("continue"), help: "Without transactions: go on after a refused record.")
    var continueOnError = false

    @Flag(help: "Resolve 'attr:< file:///path' values by reading the named local files.")
    var allowFileURLs = false

    @Argument(help: "The LDIF file ('-' for standard input).")
    var file: String

    @OptionGroup var common: CommonOptions

    func run() async throws {
        common.bootstrapLogging()
        let logger = Logger(label: "bridgehead")
        let configuration = try configFile.load()
        let source: any ByteSource
        do {
            source = file == "-" ? FileByteSource(handle: .standardInput) : try FileByteSource(path: file)
        } catch {
            printError("\(file): cannot open: \(error.localizedDescription)")
            throw Exit.dataError
        }
        let connection = try await Exit.connect(configuration, logger: logger)
        let applier = ChangeApplier(
            connection: connection,
            options: .init(batchSize: batchSize, useTransactions: transactions ? nil : false, continueOnError: continueOnError),
            logger: logger)
        let outcome: Result<ChangeApplier.Summary, any Error>
        do {
            outcome = .success(try await applier.apply(LDIFReader(source: source, options: .init(allowFileURLs: allowFileURLs))))
        } catch {
            outcome = .failure(error)
        }
        await connection.close()  // on every path
        let summary: ChangeApplier.Summary
        do {
            summary = try outcome.get()
        } catch let error as LDIFError {
            printError("\(file):\(error)")
            throw Exit.dataError
        } catch let error as LDAPError {
            throw Exit.report(error, refusal: Exit.dataError)
        }
        for failure in summary.failures { printError("\(file): \(failure)") }
        logger.info("applied", metadata: ["records": "\(summary.applied)", "transactions": "\(summary.transactions)"])
        if !summary.failures.isEmpty { throw Exit.dataError }
    }
}
