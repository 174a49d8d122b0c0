import MIME
import Testing

struct HeaderDecodingTests {
    private func subject(_ raw: String) throws -> String? {
        try MIMEParser.parse(Array("Subject: \(raw)\r\n\r\nbody\r\n".utf8))["Subject"]
    }

    // RFC 2047 §8 examples and common real-world shapes.
    static let encodedWords: [(String, String)] = [
        ("=?ISO-8859-1?Q?a?=", "a"),
        ("=?ISO-8859-1?Q?a?= b", "a b"),
        ("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab"),
        ("=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=", "ab"),
        ("=?ISO-8859-1?Q?a?=\t =?ISO-8859-1?Q?b?=", "ab"),
        ("=?ISO-8859-1?Q?a_b?=", "a b"),
        ("=?ISO-8859-1?Q?a?= =?windows-1252?Q?_b?=", "a b"),
        ("=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a =?ISO-8859-2?Q?_b?="),
        ("=?UTF-8?B?w6l0w6k=?=", "été"),
        ("=?utf-8?q?caf=C3=A9?=", "café"),
        ("=?windows-1252?Q?=80_rates?=", "€ rates"),
        ("Re: =?UTF-8?B?4oKs?= and more", "Re: € and more"),
        ("=?UTF-8*en?Q?hello?=", "hello"),
        ("=?x-unknown?Q?abc?=", "=?x-unknown?Q?abc?="),
        ("plain text", "plain text"),
        ("=?UTF-8?B?broken", "=?UTF-8?B?broken"),
    ]

    @Test(arguments: encodedWords)
    func rfc2047(_ raw: String, _ decoded: String) throws {
        #expect(try subject(raw) == decoded)
    }

    @Test func foldingAndRepeatedFields() throws {
        let message = Array("Received: from a\r\n\tby b\r\nreceived: from c\r\nSubject: one\r\n  two\r\n\r\n".utf8)
        let entity = try MIMEParser.parse(message)
        #expect(entity.header.all("Received").map(\.value) == ["from a\tby b", "from c"])
        #expect(entity["Subject"] == "one  two")
        #expect(entity.header.fields.count == 3)
    }

    // RFC 2231 §3-5 examples, and RFC 2045 quoting.
    static let parameters: [(String, String, String)] = [
        ("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A", "title", "This is ***fun***"),
        ("text/plain; filename*=UTF-8''%E2%82%AC%20rates.txt", "filename", "€ rates.txt"),
        (
            "message/external-body; access-type=URL; URL*0=\"ftp://\"; URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
            "url", "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"
        ),
        (
            "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
            "title", "This is even more ***fun*** isn't it!"
        ),
        ("text/plain; name=\"a\\\"b;c.txt\"", "name", "a\"b;c.txt"),
        ("text/plain (a comment) ; charset = \"UTF-8\" (another)", "charset", "UTF-8"),
        ("multipart/mixed; boundary=\"simple boundary\"", "boundary", "simple boundary"),
    ]

    @Test(arguments: parameters)
    func rfc2231(_ value: String, _ name: String, _ expected: String) throws {
        let type = try #require(ContentType(headerValue: value))
        #expect(type.parameters[name] == expected)
    }

    @Test func contentTypeDefaultsAndCase() throws {
        #expect(ContentType(headerValue: "TEXT/Plain; CHARSET=utf-8")?.mimeType == "text/plain")
        #expect(ContentType(headerValue: "TEXT/Plain; CHARSET=utf-8")?.charset == "utf-8")
        #expect(ContentType(headerValue: "nonsense") == nil)
        let entity = try MIMEParser.parse(Array("Content-Type: garbage\r\n\r\nx".utf8))
        #expect(entity.contentType.mimeType == "text/plain", "an unparsable Content-Type means the default")
    }
}

extension MIMEEntity {
    subscript(_ name: String) -> String? { header[name] }
}

/// Inputs the fuzzer (scripts/fuzz mime) found; each once crashed the decoder.
struct FuzzFindingsTests {
    @Test func commentEndingInABackslash() throws {
        let bytes = Array("Content-Type: muld;(bounda\\runda\\rpent-Type:d; bontS-CCda\\".utf8)
        let entity = try MIMEParser.parse(bytes)
        #expect(entity.contentType == .defaultType)
        #expect(ContentType.split("a/b; x=(\\").parameters == ["x": ""])
    }
}
