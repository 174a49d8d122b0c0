import Foundation
import LDAPClient
import LDAPModel
import TestSupport

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

extension Slapd {
    /// A connection bound as the root DN over ldap://.
    func rootConnection() async throws -> LDAPConnection {
        try await LDAPConnection.connect(
            LDAPConnectionOptions(uri: uri), credentials: .simple(dn: rootDN, password: Array(rootPassword.utf8)))
    }

    var base: DN { DN(suffix)! }
}

func dn(_ text: String) -> DN { DN(text)! }

func person(_ dn: DN, cn: String, sn: String, extra: [Attribute] = []) -> Entry {
    Entry(
        dn: dn,
        attributes: [
            Attribute("objectClass", strings: ["inetOrgPerson"]), Attribute("cn", strings: [cn]), Attribute("sn", strings: [sn]),
        ] + extra)
}

func organizationalUnit(_ dn: DN, _ name: String) -> Entry {
    Entry(dn: dn, attributes: [Attribute("objectClass", strings: ["organizationalUnit"]), Attribute("ou", strings: [name])])
}
