import Foundation
import MIME
import MailDrop
import Testing

struct IMAPResponseTests {
    private func parse(_ text: String) throws -> IMAPResponse { try IMAPResponse(parsing: Array(text.utf8)) }

    /// How far a response has come: complete, waiting for a line's end, or waiting for a literal
    /// announced by a line that ends at a known place (the decoder gathers a large one straight into
    /// its frame from there).
    @Test func framingSaysWhereAResponseStands() throws {
        let whole = Array("* 1 FETCH (UID 7 BODY[] {5}\r\nhello)\r\n* 2 EXISTS\r\n".utf8)
        let first = whole.firstIndex(of: 0x0A)! + 1  // "* 1 FETCH (UID 7 BODY[] {5}\r\n"
        func scan(_ count: Int) throws -> IMAPFraming.Scan {
            try IMAPFraming.scan(Array(whole.prefix(count)), maxLineLength: 100, maxLiteralSize: 100)
        }
        #expect(try scan(10) == .needMore)
        #expect(try scan(first) == .awaitingLiteral(lineEnd: first, count: 5))
        #expect(try scan(first + 4) == .awaitingLiteral(lineEnd: first, count: 5))
        #expect(try scan(first + 5) == .needMore, "the literal came; the rest of its line has not")
        let end = first + 5 + 3
        #expect(try scan(end) == .complete(end))
        #expect(try scan(whole.count) == .complete(end))
        #expect(try IMAPFraming.frameLength(whole, maxLineLength: 100, maxLiteralSize: 100) == end)
        // Two literals, the second awaited: the line end named is the second's, counted from the start.
        let two = Array("* 3 FETCH (BODY[1] {2}\r\nab BODY[2] {4}\r\nwx".utf8)
        #expect(try IMAPFraming.scan(two, maxLineLength: 100, maxLiteralSize: 100) == .awaitingLiteral(lineEnd: two.count - 2, count: 4))
        #expect(throws: IMAPFrameError.self) { try IMAPFraming.scan(Array("* {101}\r\n".utf8), maxLineLength: 100, maxLiteralSize: 100) }
    }

    @Test func statusResponsesAndCodes() throws {
        let tagged = try parse("B7 NO [TRYCREATE] Mailbox doesn't exist: Processed\r\n")
        #expect(tagged.kind == .tagged("B7") && tagged.status == .no && tagged.codeName == "TRYCREATE")
        #expect(tagged.text == "Mailbox doesn't exist: Processed")
        let validity = try parse("* OK [UIDVALIDITY 1795942949] UIDs valid\r\n")
        #expect(validity.kind == .untagged && validity.codeName == "UIDVALIDITY" && validity.codeArgument == "1795942949")
        let greeting = try parse("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] Dovecot ready.\r\n")
        #expect(greeting.codeArgument == "IMAP4rev1 SASL-IR AUTH=PLAIN")
        #expect(try parse("+ \r\n").kind == .continuation)
        #expect(try parse("* BYE Logging out\r\n").status == .bye)
    }

    @Test func dataResponses() throws {
        #expect(try parse("* SEARCH 1 5 9\r\n").values.compactMap(\.number) == [1, 5, 9])
        #expect(try parse("* 3 EXISTS\r\n").values == [.atom("3"), .atom("EXISTS")])
        let flags = try parse("* FLAGS (\\Answered \\Flagged \\Deleted)\r\n")
        #expect(flags.values.last == .list([.atom("\\Answered"), .atom("\\Flagged"), .atom("\\Deleted")]))
    }

    @Test func internalDates() throws {
        let one = try parse("* 1 FETCH (UID 42 INTERNALDATE \"29-Nov-2026 09:00:01 +0100\")\r\n")
        #expect(one.internalDate?.uid == 42)
        #expect(one.internalDate?.date == Date(timeIntervalSince1970: 1_795_942_801 - 3600))
        // date-day-fixed pads the day with a space.
        let padded = try parse("* 2 FETCH (INTERNALDATE \" 9-Nov-2026 23:59:59 -0500\" UID 7)\r\n")
        #expect(padded.internalDate?.uid == 7 && padded.internalDate?.date == Date(timeIntervalSince1970: 1_794_268_799 + 5 * 3600))
        #expect(try parse("* 3 FETCH (UID 8 INTERNALDATE \"yesterday\")\r\n").internalDate == nil)
    }

    @Test func fetchWithLiteralOfBinaryBytes() throws {
        let body: [UInt8] = Array("Subject: x\r\n\r\n".utf8) + [0, 0xFF, 0x0D, 0x0A, 0x29, 0x28]
        let frame = Array("* 2 FETCH (UID 17 BODY[] {\(body.count)}\r\n".utf8) + body + Array(" FLAGS (\\Seen))\r\n".utf8)
        let response = try IMAPResponse(parsing: frame)
        #expect(response.fetched?.uid == 17)
        #expect(response.fetched?.body == .bytes(body))
        let quoted = try parse("* 1 FETCH (BODY[] \"a \\\"q\\\" b\" UID 4)\r\n")
        #expect(quoted.fetched?.body == .bytes(Array("a \"q\" b".utf8)) && quoted.fetched?.uid == 4)
        let section = try parse("* 1 FETCH (UID 4 BODY[HEADER.FIELDS (FROM TO)] {0}\r\n)\r\n")
        #expect(section.fetched?.body == .bytes([]))
    }

    /// A large literal the frame decoder delivers apart (by where it would begin) is the same
    /// response, the literal taken as it came; one of another length than announced is an error.
    @Test func aLiteralDeliveredApartParsesAsInline() throws {
        let body: [UInt8] = Array("Subject: x\r\n\r\n".utf8) + [0, 0xFF, 0x0D, 0x0A, 0x29, 0x28]
        let head = Array("* 2 FETCH (UID 17 BODY[] {\(body.count)}\r\n".utf8)
        let tail = Array(" FLAGS (\\Seen) X-GM-LABELS {3}\r\nabc)\r\n".utf8)
        let inline = try IMAPResponse(parsing: head + body + tail)
        let apart = try IMAPResponse(parsing: IMAPFrame(head + tail, literals: [head.count: .string(body)]))
        #expect(apart.fetched?.body == .bytes(body) && apart.fetched?.uid == 17)
        #expect(apart.values == inline.values)
        #expect(throws: IMAPSyntaxError.self) {
            try IMAPResponse(parsing: IMAPFrame(head + tail, literals: [head.count: .string(Array(body.dropLast()))]))
        }
        // Received into a file: the body is that file, the other values as inline.
        let directory = FileManager.default.temporaryDirectory.path
        let file = try MessageFile(spooling: body, in: directory)
        let spooled = try IMAPResponse(parsing: IMAPFrame(head + tail, literals: [head.count: .file(file)]))
        #expect(spooled.fetched?.body == .file(file) && spooled.fetched?.uid == 17)
        #expect(try spooled.fetched?.body?.bytes() == body)
        guard case .list(let items) = spooled.values[2], case .list(let inlineItems) = inline.values[2] else {
            Issue.record("no FETCH list")
            return
        }
        #expect(items.count == inlineItems.count && items[3] == .file(file) && Array(items[4...]) == Array(inlineItems[4...]))
        let short = try MessageFile(spooling: Array(body.dropLast()), in: directory)
        #expect(throws: IMAPSyntaxError.self) { try IMAPResponse(parsing: IMAPFrame(head + tail, literals: [head.count: .file(short)])) }
    }

    @Test(arguments: [
        "", "* 1 FETCH (UID 4\r\n", "* 1 FETCH (BODY[] {10}\r\nshort)\r\n", "* 1 FETCH (BODY[] \"open\r\n", "B1 FETCH x\r\n", "* )\r\n",
    ])
    func malformedResponsesAreErrors(_ text: String) {
        #expect(throws: IMAPSyntaxError.self) { try IMAPResponse(parsing: Array(text.utf8)) }
    }
}
