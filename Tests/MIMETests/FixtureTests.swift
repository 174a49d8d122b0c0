import Crypto
import Foundation
import MIME
import Testing

/// Real message files, checked against what Python's email package (an independent decoder) reads
/// from them — except where Python departs from the RFCs (Fixtures/valid/python-deviations.tsv).
struct FixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    nonisolated(unsafe) static let expected: [String: [String: Any]] = {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("valid/expected.json")),
            var table = (try? JSONSerialization.jsonObject(with: data)) as? [String: [String: Any]]
        else { return [:] }
        // Where Python is wrong by the RFCs, expect the RFC's value.
        let deviations = (try? String(contentsOf: directory.appendingPathComponent("valid/python-deviations.tsv"), encoding: .utf8)) ?? ""
        for row in deviations.split(separator: "\n").dropFirst() {
            let fields = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 4, var entry = table[fields[0]], var leaves = entry["leaves"] as? [[String: Any]] else { continue }
            let path = fields[1]  // leaves[N].field
            guard let open = path.firstIndex(of: "["), let close = path.firstIndex(of: "]"),
                let index = Int(path[path.index(after: open)..<close])
            else { continue }
            let field = String(path[path.index(close, offsetBy: 2)...])
            leaves[index][field] = try? JSONSerialization.jsonObject(with: Data(fields[3].utf8), options: .fragmentsAllowed)
            entry["leaves"] = leaves
            table[fields[0]] = entry
        }
        return table
    }()

    static var validFiles: [String] { expected.keys.sorted() }

    @Test func theTableIsThere() {
        #expect(Self.expected.count >= 30)
    }

    @Test(arguments: validFiles)
    func validMessage(_ file: String) throws {
        let bytes = [UInt8](try Data(contentsOf: Self.directory.appendingPathComponent("valid/" + file)))
        let message = try MIMEParser.parse(bytes)
        let expected = try #require(Self.expected[file])
        #expect(message.header["Subject"] == expected["subject"] as? String)
        #expect(message.header.field("From")?.rawText == expected["from"] as? String)
        #expect(message.contentType.mimeType == expected["content_type"] as? String)
        #expect(message.header.fields.count == expected["header_count"] as? Int)
        #expect(message.depth == expected["depth"] as? Int)
        let leaves = try #require(expected["leaves"] as? [[String: Any]])
        #expect(message.leaves.count == leaves.count)
        for (leaf, want) in zip(message.leaves, leaves) {
            #expect(leaf.contentType.mimeType == want["content_type"] as? String, "\(file)")
            let charset = leaf.header.field("Content-Type") == nil ? nil : leaf.contentType.charset?.lowercased()
            #expect(charset == want["charset"] as? String, "\(file)")
            #expect(leaf.filename == want["filename"] as? String, "\(file)")
            let encoding = leaf.header.field("Content-Transfer-Encoding").flatMap { TransferEncoding(headerValue: $0.rawText)?.rawValue }
            #expect(encoding == want["transfer_encoding"] as? String, "\(file)")
            let decoded = try leaf.decodedBody()
            #expect(decoded.count == want["size"] as? Int, "\(file) \(leaf.contentType.mimeType)")
            let digest = SHA256.hash(data: decoded).map { String(format: "%02x", $0) }.joined()
            #expect(digest == want["sha256"] as? String, "\(file) \(leaf.contentType.mimeType)")
            if leaf.contentType.type == "text" { _ = try leaf.text() }
        }
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var file: String
        var kind: String
        var what: String
        var testDescription: String { file }
    }

    static let malformed: [Malformed] = {
        let table = (try? String(contentsOf: directory.appendingPathComponent("malformed/expected.tsv"), encoding: .utf8)) ?? ""
        return table.split(separator: "\n").dropFirst().compactMap { row in
            let fields = row.split(separator: "\t", maxSplits: 2).map(String.init)
            return fields.count == 3 ? Malformed(file: fields[0], kind: fields[1], what: fields[2]) : nil
        }
    }()

    /// Where the decoder names a different (and defensible) kind than the table's author guessed.
    static let otherKinds: [String: Set<String>] = [
        "02-header-line-too-long.eml": ["limit"],  // the line limit is the first rule it breaks
        "03-header-endless.eml": ["limit"],
        "38-headers-then-binary-junk.eml": ["header"],  // it begins with header fields; the junk is a bad header line
        "41-binary-junk-only.eml": ["header", "structure"],
        "40-nul-in-7bit-body.eml": ["encoding"],  // NUL is not 7bit data (RFC 2045 §2.7)
    ]

    /// Inputs the table lists that the decoder accepts on purpose.
    static let acceptedOnPurpose: [String: String] = [
        "05-header-never-ends.eml": "RFC 5322 lets a message have no body; a last line without CRLF is read as ended by the file",
        "32-encoded-word-unknown-charset.eml": "an encoded word in an unknown charset stays as written (RFC 2047 §6.3), the message is still read",
    ]

    @Test func malformedTableIsComplete() {
        #expect(Self.malformed.count >= 30)
    }

    @Test(arguments: malformed)
    func malformedMessage(_ item: Malformed) throws {
        let bytes = [UInt8](try Data(contentsOf: Self.directory.appendingPathComponent("malformed/" + item.file)))
        do {
            let message = try MIMEParser.parse(bytes)
            for leaf in message.leaves {
                _ = try leaf.decodedBody()
                if leaf.contentType.type == "text" { _ = try leaf.text() }
            }
            if Self.acceptedOnPurpose[item.file] == nil { Issue.record("\(item.file) (\(item.what)) was accepted") }
        } catch {
            let allowed = Self.otherKinds[item.file] ?? [item.kind]
            #expect(allowed.contains(error.kind.rawValue), "\(item.file) (\(item.what)): \(error.kind) — \(error)")
            #expect(error.line >= 1 && !error.reason.isEmpty)
        }
    }
}
