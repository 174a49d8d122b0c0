import MIME
import Testing

struct BodyDecodingTests {
    private func single(_ headers: String, _ body: [UInt8]) throws -> MIMEEntity {
        try MIMEParser.parse(Array((headers + "\r\n\r\n").utf8) + body)
    }

    @Test func quotedPrintable() throws {
        let body = Array("caf=C3=A9 =3D ok   \r\nsoft=\r\nbreak=\r\n\r\nlast".utf8)
        let entity = try single("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable", body)
        #expect(try entity.text() == "café = ok\r\nsoftbreak\r\nlast")
        let bad = try single("Content-Transfer-Encoding: quoted-printable", Array("a=ZZb".utf8))
        #expect(throws: MIMEError.self) { try bad.decodedBody() }
    }

    @Test func base64WithLineBreaksAndWithout() throws {
        let wrapped = try single("Content-Transfer-Encoding: base64", Array("aGVs\r\nbG8g\r\nd29y bGQ=\r\n".utf8))
        #expect(try wrapped.decodedBody() == Array("hello world".utf8))
        let unpadded = try single("Content-Transfer-Encoding: BASE64", Array("aGVsbG8".utf8))
        #expect(try unpadded.decodedBody() == Array("hello".utf8))
        let bad = try single("Content-Transfer-Encoding: base64", Array("aGVs!G8=".utf8))
        do {
            _ = try bad.decodedBody()
            Issue.record("bad base64 accepted")
        } catch {
            #expect(error.kind == .encoding)
            #expect(error.line == 3)
        }
    }

    @Test(arguments: [
        ("utf-8", [0xC3, 0xA9] as [UInt8], "é"), ("iso-8859-1", [0xE9], "é"), ("latin1", [0xE9], "é"),
        ("windows-1252", [0x80, 0x93, 0x94], "€\u{201C}\u{201D}"), ("cp1252", [0x80], "€"), ("iso-8859-15", [0xA4], "€"),
        ("us-ascii", [0x61], "a"),
    ])
    func charsets(_ charset: String, _ bytes: [UInt8], _ text: String) throws {
        let entity = try single("Content-Type: text/plain; charset=\(charset)\r\nContent-Transfer-Encoding: 8bit", bytes)
        #expect(try entity.text() == text)
    }

    @Test func charsetProblemsAreReported() throws {
        let unknown = try single("Content-Type: text/plain; charset=x-no-such-charset", Array("a".utf8))
        do {
            _ = try unknown.text()
            Issue.record("unknown charset accepted")
        } catch {
            #expect(error.kind == .charset && error.reason.contains("x-no-such-charset"))
        }
        let invalid = try single("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit", [0xC3, 0x28])
        #expect(throws: MIMEError.self) { try invalid.text() }
        let undefined = try single("Content-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit", [0x81])
        #expect(throws: MIMEError.self) { try undefined.text() }
    }

    @Test func unknownTransferEncodingIsRefused() {
        #expect(throws: MIMEError.self) { try single("Content-Transfer-Encoding: x-uuencode", Array("begin 644 x".utf8)) }
    }
}
