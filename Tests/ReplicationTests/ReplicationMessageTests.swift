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

    @Test(arguments: [
        ("resend 17-23", "resend 17-23"), ("resend 5", "resend 5"), ("RESEND  4-4", "resend 4"), ("full", "full"), ("Full", "full"),
    ])
    func requestsRead(_ text: String, _ canonical: String) {
        #expect(ReplicationMessage.Request(text)?.description == canonical)
    }

    @Test(arguments: [
        "resend", "resend 0", "resend 5-4", "resend 05", "resend 1-", "resend -3", "resend 1-2-3", "full 3", "resend 1 2",
        "resend 9007199254740992", "again",
    ])
    func badRequestsAreRefused(_ text: String) {
        #expect(ReplicationMessage.Request(text) == nil)
    }

    /// A request carries no sequence and no records, names the one source it asks, and round-trips.
    @Test func aRequestRoundTripsAndIsCheckedLikeAnyMessage() throws {
        let request = ReplicationMessage.request(.resend(2...7), from: "site-b", to: "site-a", messageID: "<r1@site-b.example.com>")
        let parsed = try ReplicationMessage(entity: try MIMEParser.parse(request.entity))
        #expect(parsed.kind == .request && parsed.request == .resend(2...7) && parsed.source == "site-b" && parsed.destinations == ["site-a"])
        #expect(parsed.sequence == 0 && parsed.records.isEmpty)
        let headers = "Content-Type: application/ldif; charset=utf-8\r\nBridgehead-Format: 1\r\nBridgehead-Source: site-b\r\nBridgehead-Kind: request"
        for (extra, body, reason) in [
            ("\r\nBridgehead-Destination: site-a", "version: 1\n", "Bridgehead-Request"),
            ("\r\nBridgehead-Request: resend 2\r\nBridgehead-Destination: site-a, site-c", "version: 1\n", "the one source"),
            ("\r\nBridgehead-Request: full", "version: 1\n", "the one source"),
            (
                "\r\nBridgehead-Request: full\r\nBridgehead-Destination: site-a", "version: 1\n\ndn: cn=x,dc=example,dc=com\nchangetype: delete\n",
                "no records"
            ),
        ] {
            do {
                _ = try ReplicationMessage(entity: try entity(headers + extra, body: body))
                Issue.record("accepted: \(extra)")
            } catch let error as ReplicationMessageError {
                #expect(error.description.contains(reason), "\(error)")
            }
        }
    }
}
