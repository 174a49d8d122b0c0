import Addressing
import ArgumentParser
import Foundation

struct AddressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "address",
        abstract: "Parse, classify and normalise addresses, offline.",
        discussion: """
            For each ADDRESS prints its canonical type (MSXCHNGE is EX), the decoded value, the \
            canonical form (equal for addresses that name the same thing) and, for an IMCEA \
            encapsulation, its domain. Forms: SMTP (name-addr too), EX and MSXCHNGE (/o=…/ou=…/cn=…), \
            X500, X400 (c=US;a= ;p=Org;…; also with dda:MSXCHNGE=…), IMCEA<type>-…@domain, MS, \
            CCMAIL, NOTES. Any other TYPE:value is printed as given and flagged unknown (exit 0); \
            a malformed address exits 65 with the reason.

            Examples:
              bridgehead address 'MSXCHNGE:/o=Org/ou=Site/cn=Recipients/cn=jdoe'
              bridgehead address --format json 'IMCEAEX-_o=Org_ou=Site_cn=Recipients_cn=jdoe@site-b.example.com'
            """
    )

    @OptionGroup var output: TextOrJSONOption

    @Argument(help: "Addresses, each one argument (quote them).")
    var addresses: [String]

    func validate() throws {
        if addresses.isEmpty { throw ValidationError("name at least one address") }
    }

    struct Report: Encodable {
        var input: String
        var type: String?
        var address: String?
        var canonical: String?
        var unknown: Bool?
        var imceaDomain: String?
        var ldapDN: String?
        var error: String?
    }

    func run() throws {
        var reports: [Report] = []
        var failed = false
        for input in addresses {
            do {
                let parsed = try AddressParser.parse(input)
                reports.append(
                    Report(
                        input: input, type: parsed.type, address: parsed.value, canonical: parsed.canonical, unknown: parsed.isUnknownType,
                        imceaDomain: parsed.imceaDomain, ldapDN: parsed.distinguishedName?.description))
            } catch {
                failed = true
                reports.append(Report(input: input, error: error.reason))
                if output.format == .text { printError("\(input.debugDescription): \(error.reason)") }
            }
        }
        if output.format == .json {
            try FileHandleOutput.writeJSON(reports)
        } else {
            for report in reports where report.error == nil {
                var text = "\(report.input)\n  type:      \(report.type ?? "")\(report.unknown == true ? " (unknown type: kept as given)" : "")\n"
                text += "  address:   \(report.address ?? "")\n  canonical: \(report.canonical ?? "")\n"
                if let domain = report.imceaDomain { text += "  imcea domain: \(domain)\n" }
                if let dn = report.ldapDN { text += "  ldap dn:   \(dn)\n" }
                FileHandleOutput.write(text, to: 1)
            }
        }
        if failed { throw Exit.dataError }
    }
}
