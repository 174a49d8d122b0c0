import Foundation
import MIME
import Testing

struct MultipartTests {
    static let signed = """
        From: dra@site-a.example.com\r
        Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b1"\r
        \r
        This is an S/MIME signed message\r
        \r
        --b1\r
        Content-Type: application/ldif; charset=utf-8\r
        Bridgehead-Source: site-a\r
        \r
        dn: cn=x,dc=example,dc=com\r
        changetype: delete\r
        \r
        --b1\r
        Content-Type: application/pkcs7-signature; name=smime.p7s\r
        Content-Transfer-Encoding: base64\r
        \r
        AAEC\r
        \r
        --b1--\r
        epilogue\r

        """

    @Test func signedEntityBytesAreExact() throws {
        let message = try MIMEParser.parse(Array(Self.signed.utf8))
        #expect(message.contentType.mimeType == "multipart/signed")
        #expect(message.contentType.parameters["protocol"] == "application/pkcs7-signature")
        #expect(message.parts.count == 2)
        let content = message.parts[0]
        // What the signature covers: from the first header to the last byte before the CRLF of the delimiter.
        let expected =
            "Content-Type: application/ldif; charset=utf-8\r\nBridgehead-Source: site-a\r\n\r\ndn: cn=x,dc=example,dc=com\r\nchangetype: delete\r\n"
        #expect(String(decoding: content.bytes, as: UTF8.self) == expected)
        #expect(content.header["Bridgehead-Source"] == "site-a")
        #expect(try message.parts[1].decodedBody() == [0, 1, 2])
        #expect(message.preambleRange.map { String(decoding: Array(Self.signed.utf8)[$0], as: UTF8.self) } == "This is an S/MIME signed message\r\n")
        #expect(message.epilogueRange.map { String(decoding: Array(Self.signed.utf8)[$0], as: UTF8.self) } == "epilogue\r\n")
        #expect(!message.isMissingCloseDelimiter)
    }

    @Test func bareLineFeedsWorkTheSame() throws {
        let lf = Array(Self.signed.replacingOccurrences(of: "\r\n", with: "\n").utf8)
        let message = try MIMEParser.parse(lf)
        #expect(message.parts.count == 2)
        #expect(String(decoding: message.parts[0].bytes, as: UTF8.self).hasSuffix("changetype: delete\n"))
    }

    @Test func delimiterRules() throws {
        let text = """
            Content-Type: multipart/mixed; boundary=B\r
            \r
            --B  \r
            \r
             --B not a delimiter\r
            --Bx not a delimiter\r
            --B\r
            Content-Type: text/plain\r
            \r
            second\r
            --B--
            """
        let message = try MIMEParser.parse(Array(text.utf8))
        #expect(message.parts.count == 2)
        #expect(try message.parts[0].text() == " --B not a delimiter\r\n--Bx not a delimiter")
        #expect(try message.parts[1].text() == "second")
    }

    @Test func missingCloseDelimiterIsTolerated() throws {
        let message = try MIMEParser.parse(Array("Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\r\nonly part\r\n".utf8))
        #expect(message.isMissingCloseDelimiter)
        #expect(try message.parts.first?.text() == "only part\r\n")
    }

    @Test func limitsAndBoundaryErrors() {
        let noBoundary = Array("Content-Type: multipart/mixed\r\n\r\nx".utf8)
        let absent = Array("Content-Type: multipart/mixed; boundary=B\r\n\r\nno delimiter here\r\n".utf8)
        for (bytes, kind) in [(noBoundary, MIMEError.Kind.boundary), (absent, .boundary), ([], .structure)] {
            do {
                _ = try MIMEParser.parse(bytes)
                Issue.record("accepted")
            } catch {
                #expect(error.kind == kind, "\(error)")
            }
        }
        var deep = ""
        for level in 0..<100 { deep += "Content-Type: multipart/mixed; boundary=b\(level)\r\n\r\n--b\(level)\r\n" }
        do {
            _ = try MIMEParser.parse(Array(deep.utf8))
            Issue.record("100-deep nesting accepted")
        } catch {
            #expect(error.kind == .limit)
        }
    }
}
