import ArgumentParser
import Config
import Foundation
import LDAPClient
import LDAPModel
import Logging
import Replication

struct ResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Resolve addresses or source DNs to directory entries, online.",
        discussion: """
            Each ADDRESS (any form `bridgehead address` reads) or source DN is resolved as a sync run \
            would: first by the naming rules of --source (a source DN, or an EX address through its \
            LDAP form), then by one search of the [resolve] attributes (default mail, proxyAddresses, \
            legacyExchangeDN) under [resolve] base. The result is the entry's DN, or not found, \
            ambiguous (several entries) or out of scope. Exit 0 when every address resolved, 1 when \
            some did not, 65 for input that is not an address, 69 when the server cannot be reached.

            Example:
              bridgehead resolve --config /etc/bridgehead/bridgehead.toml --source site-a \\
                'EX:/o=Org/ou=SiteA/cn=Recipients/cn=jdoe' 'SMTP:jdoe@site-b.example.com'
            """
    )

    @OptionGroup var configFile: ConfigOption

    @Option(help: "Use the naming rules of this [[source]].")
    var source: String?

    @OptionGroup var output: TextOrJSONOption

    @Argument(help: "Addresses or source DNs (quote them).")
    var addresses: [String]

    func run() async throws {
        let configuration = try configFile.load()
        var naming: [NamingRule] = []
        if let source {
            guard let settings = configuration.sources.first(where: { $0.id == source }) else {
                printError("\(configFile.config): no [[source]] with id = \"\(source)\"")
                throw Exit.configuration
            }
            naming = settings.naming
        }
        let connection = try await Exit.connect(configuration, logger: Logger(label: "bridgehead.resolve"))
        let results: [Resolution]
        do {
            let resolved: Result<[Resolution]?, LDAPError>
            do {
                if let base = try await configuration.searchBase(on: connection) {
                    let resolver = AddressResolver(directory: connection, base: base, attributes: configuration.resolve.attributes, naming: naming)
                    resolved = .success(try await resolver.resolve(addresses))
                } else {
                    resolved = .success(nil)
                }
            } catch {
                resolved = .failure(error)
            }
            await connection.close()  // on every path
            guard let found = try resolved.get() else {
                printError("the server names no naming context; set [resolve] base")
                throw Exit.configuration
            }
            results = found
        } catch let error as LDAPError {
            throw Exit.report(error, refusal: Exit.configuration)
        }
        struct Line: Encodable {
            var input: String
            var result: String
            var dn: String?
            var via: String?
            var candidates: [String]?
            var reason: String?
        }
        let lines = zip(addresses, results).map { input, result -> Line in
            switch result {
            case .resolved(let dn, let via): Line(input: input, result: "resolved", dn: dn.description, via: via)
            case .notFound: Line(input: input, result: "not found")
            case .ambiguous(let dns): Line(input: input, result: "ambiguous", candidates: dns.map(\.description))
            case .outOfScope(let dn): Line(input: input, result: "out of scope", dn: dn.description)
            case .invalid(let reason): Line(input: input, result: "invalid", reason: reason)
            }
        }
        if output.format == .json {
            try FileHandleOutput.writeJSON(lines)
        } else {
            for line in lines {
                var text = "\(line.input)\n  \(line.result)"
                if let dn = line.dn { text += ": \(dn)" }
                if let via = line.via { text += " (by \(via))" }
                if let candidates = line.candidates { text += ": " + candidates.joined(separator: "; ") }
                if let reason = line.reason { text += ": \(reason)" }
                FileHandleOutput.write(text + "\n", to: 1)
            }
        }
        if lines.contains(where: { $0.result == "invalid" }) { throw Exit.dataError }
        if lines.contains(where: { $0.result != "resolved" }) { throw ExitCode(1) }
    }
}
