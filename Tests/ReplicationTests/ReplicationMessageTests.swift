import Foundation
import LDAPModel
import LDIF
import MIME
import MessageFormat
import Replication
import Testing

struct ReplicationMessageTests {
    private func entity(_ headers: String, body: String = "version: 1\n\ndn: cn=x,dc=example,dc=com\nchangetype: delete\n") throws -> MIMEEntity {
        try MIMEParser.parse(Array((headers + "\r\n\r\n" + body).utf8))
    }

    static let base =
        "Content-Type: application/ldif; charset=utf-8\r\nBridgehead-Format: 1\r\nBridgehead-Source: site-a\r\n"
        + "Bridgehead-Sequence: 42\r\nBridgehead-Kind: delta"

    @Test func readsTheMetadata() throws {
        let message = try ReplicationMessage(entity: try entity(Self.base))
        #expect(message.source == "site-a" && message.sequence == 42 && message.kind == .delta)
        #expect(message.records.count == 1)
    }

    @Test(arguments: [
        ("Bridgehead-Format: 1", "Bridgehead-Format: 2", "format 1"),
        ("Bridgehead-Source: site-a", "Bridgehead-Source: Site A", "Bridgehead-Source"),
        ("Bridgehead-Sequence: 42", "Bridgehead-Sequence: 042", "Bridgehead-Sequence"),
        ("Bridgehead-Sequence: 42", "Bridgehead-Sequence: 0", "Bridgehead-Sequence"),
        ("Bridgehead-Sequence: 42", "Bridgehead-Sequence: -1", "Bridgehead-Sequence"),
        ("Bridgehead-Kind: delta", "Bridgehead-Kind: partial", "Bridgehead-Kind"),
        ("Bridgehead-Kind: delta", "Bridgehead-Kind: full", "change record in a full message"),
        ("application/ldif", "text/plain", "not application/ldif"),
        ("charset=utf-8", "charset=iso-8859-1", "requires utf-8"),
        ("Bridgehead-Source: site-a\r\n", "", "Bridgehead-Source"),
    ])
    func refusesBadMetadata(_ original: String, _ replacement: String, _ reason: String) throws {
        let headers = Self.base.replacingOccurrences(of: original, with: replacement)
        do {
            _ = try ReplicationMessage(entity: try entity(headers))
            Issue.record("accepted: \(headers)")
        } catch let error as ReplicationMessageError {
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test func badLDIFNamesItsLine() throws {
        do {
            _ = try ReplicationMessage(entity: try entity(Self.base, body: "dn: cn=x,dc=example,dc=com\nchangetype: frob\n"))
            Issue.record("bad LDIF accepted")
        } catch let error as ReplicationMessageError {
            #expect(error.description.contains("2:13"), "\(error)")
        }
    }

    @Test func entityRoundTrips() throws {
        let records = try LDIFReader.records(
            in: Array("dn: cn=J\\C3\\BCrgen,dc=example,dc=com\nchangetype: modify\nreplace: description\ndescription:: IGxlYWQ=\n-\n".utf8))
        let message = ReplicationMessage(source: "site-b.x_1", sequence: 9, kind: .delta, records: records)
        let parsed = try ReplicationMessage(entity: try MIMEParser.parse(message.entity))
        #expect(parsed.records == records && parsed.source == "site-b.x_1" && parsed.sequence == 9)
        #expect(message.entity.allSatisfy { $0 < 0x80 }, "7bit")
    }
}
