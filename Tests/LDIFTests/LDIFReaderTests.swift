import Foundation
import LDAPModel
import LDIF
import Testing

struct LDIFReaderTests {
    /// Every schema slapd ships, and ours, in cn=config LDIF form.
    static let schemaFiles: [String] = {
        let system = ((try? FileManager.default.contentsOfDirectory(atPath: "/etc/ldap/schema")) ?? [])
            .filter { $0.hasSuffix(".ldif") }.sorted().map { "/etc/ldap/schema/" + $0 }
        let ours = Fixtures.directory.appendingPathComponent("../../../schema/bridgehead.ldif").standardizedFileURL.path
        return system + [ours]
    }()

    @Test func slapdShipsSchemaFiles() {
        #expect(Self.schemaFiles.count > 10, "slapd's schema files are missing: is slapd installed?")
    }

    @Test(arguments: schemaFiles)
    func parsesShippedSchema(_ path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let records = try LDIFReader.records(in: bytes)
        #expect(!records.isEmpty)
        guard case .content(let entry) = records.first else { Issue.record("\(path): expected a content record"); return }
        #expect(entry.dn.description.hasSuffix("cn=schema,cn=config"))
        #expect(!entry.values("olcAttributeTypes").isEmpty || !entry.values("olcObjectClasses").isEmpty)
        for width in [76, 0, 2] {
            let written = LDIFWriter(foldWidth: width).render(records)
            #expect(try LDIFReader.records(in: written) == records, "\(path) written with fold width \(width) must read back the same")
        }
    }

    struct Malformed: CustomTestStringConvertible, Sendable {
        var file: String
        var line: Int
        var what: String
        var testDescription: String { file }
    }

    static let malformed: [Malformed] = {
        guard let table = try? String(contentsOf: Fixtures.url("malformed/expected.tsv"), encoding: .utf8) else { return [] }
        return table.split(separator: "\n").dropFirst().compactMap { row in
            let fields = row.split(separator: "\t", maxSplits: 2).map(String.init)
            guard fields.count == 3, let line = Int(fields[1]) else { return nil }
            return Malformed(file: fields[0], line: line, what: fields[2])
        }
    }()

    @Test func malformedTableIsComplete() {
        #expect(Self.malformed.count >= 20)
        #expect(Self.malformed.count == Fixtures.files(in: "malformed", ending: ".ldif").count)
    }

    @Test(arguments: malformed)
    func malformedInputGivesLineAndColumn(_ item: Malformed) throws {
        let bytes = try Fixtures.bytes("malformed/" + item.file)
        do {
            let records = try LDIFReader.records(in: bytes)
            Issue.record("\(item.file) (\(item.what)) was accepted: \(records.count) records")
        } catch {
            #expect(error.line == item.line, "\(item.file): \(item.what) — got \(error)")
            #expect(error.column >= 1)
            #expect(error.reason.count > 10)
        }
    }

    @Test func crlfAndLFReadTheSame() throws {
        let lf = try Fixtures.bytes("rfc2849/example6.ldif").filter { $0 != 0x0D }
        let text = String(decoding: lf, as: UTF8.self).replacingOccurrences(of: ":< file:///usr/local/directory/photos/fiona.jpg", with: ":: AAE=")
        let crlf = Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        #expect(try LDIFReader.records(in: crlf) == LDIFReader.records(in: Array(text.utf8)))
    }

    @Test func errorColumnOnAContinuationLine() throws {
        let text = "version: 1\ndn: cn=x,dc=example\ncn: x\ndescription:: QUJD\n RE!F\n"
        do {
            _ = try LDIFReader.records(in: Array(text.utf8))
            Issue.record("bad base64 accepted")
        } catch {
            #expect(error.line == 5)
            #expect(error.column == 4, "the '!' is the 4th byte of the continuation line")
        }
    }

    @Test func utf8PlainValuesOnlyWhenAllowed() throws {
        let text = Array("dn: cn=Jürgen,dc=x\ncn: Jürgen\nsn: M\n".utf8)
        #expect(throws: LDIFError.self) { try LDIFReader.records(in: text) }
        let records = try LDIFReader.records(in: text, options: .init(allowUTF8Values: true))
        #expect(records.first?.dn.description == "cn=Jürgen,dc=x")
    }

    @Test func limitsGiveErrorsNotExhaustion() throws {
        let long = Array("dn: cn=x,dc=y\ndescription: ".utf8) + [UInt8](repeating: 0x61, count: 5000) + [0x0A]
        do {
            _ = try LDIFReader.records(in: long, options: .init(limits: LDIFLimits(maxLineLength: 1000)))
            Issue.record("an over-long line was accepted")
        } catch {
            #expect(error.line == 2 && error.reason.contains("longer than the limit"))
        }
        var folded = Array("dn: cn=x,dc=y\ndescription: a\n".utf8)
        for _ in 0..<2000 { folded += Array(" bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n".utf8) }
        #expect(throws: LDIFError.self) {
            try LDIFReader.records(in: folded, options: .init(limits: LDIFLimits(maxRecordSize: 64 * 1024)))
        }
        let many = Array(("dn: cn=x,dc=y\n" + String(repeating: "cn: v\n", count: 500)).utf8)
        #expect(throws: LDIFError.self) {
            try LDIFReader.records(in: many, options: .init(limits: LDIFLimits(maxLinesPerRecord: 100)))
        }
    }

    /// A source that makes records as it is read: the reader must never need the whole input.
    struct GeneratedSource: ByteSource {
        var remaining: Int
        var pending: [UInt8] = Array("version: 1\n\n".utf8)
        var number = 0
        var largestRequest = 0

        mutating func read(maxCount: Int) throws -> [UInt8] {
            largestRequest = max(largestRequest, maxCount)
            while pending.count < maxCount, remaining > 0 {
                number += 1
                remaining -= 1
                pending += Array(
                    "dn: uid=user\(number),ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: account\nuid: user\(number)\n\n".utf8)
            }
            let chunk = Array(pending.prefix(maxCount))
            pending.removeFirst(chunk.count)
            return chunk
        }
    }

    @Test func streamsLargeInput() throws {
        let reader = LDIFReader(source: GeneratedSource(remaining: 200_000))
        var count = 0
        var last: LDIFRecord?
        while let record = try reader.next() {
            count += 1
            last = record
        }
        #expect(count == 200_000)
        #expect(last?.dn.description == "uid=user200000,ou=people,dc=example,dc=com")
        #expect(reader.version == 1)
    }

    @Test func recordLineIsReported() throws {
        let reader = LDIFReader(bytes: Array("version: 1\n\n# c\ndn: cn=a,dc=x\ncn: a\n\n\ndn: cn=b,dc=x\ncn: b\n".utf8))
        _ = try reader.next()
        #expect(reader.recordLine == 4)
        _ = try reader.next()
        #expect(reader.recordLine == 8)
        #expect(try reader.next() == nil)
    }

    @Test func urlValueReadsTheFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ldif-url-\(UUID().uuidString).bin")
        try Data([0x00, 0x01, 0xFF]).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let text = Array("dn: cn=x,dc=y\ncn: x\naudio:< file://\(file.path)\n".utf8)
        guard case .content(let entry) = try LDIFReader.records(in: text, options: .init(allowFileURLs: true)).first else {
            Issue.record("expected an entry")
            return
        }
        #expect(entry.values("audio") == [[0x00, 0x01, 0xFF]])
        let missing = Array("dn: cn=x,dc=y\naudio:< file:///nonexistent/nothing.bin\n".utf8)
        #expect(throws: LDIFError.self) { try LDIFReader.records(in: missing, options: .init(allowFileURLs: true)) }
    }

    @Test func controlWithValue() throws {
        let text = Array("dn: cn=x,dc=y\ncontrol: 1.2.3.4 false:: AAEC\ncontrol: 1.2.3.5: plain\ncontrol: 1.2.3.6\nchangetype: delete\n".utf8)
        guard case .change(let change) = try LDIFReader.records(in: text).first else { Issue.record("expected a change"); return }
        #expect(
            change.controls == [
                Control(oid: "1.2.3.4", isCritical: false, value: [0, 1, 2]),
                Control(oid: "1.2.3.5", isCritical: false, value: Array("plain".utf8)),
                Control(oid: "1.2.3.6"),
            ])
        #expect(try LDIFReader.records(in: LDIFWriter().render([.change(change)])) == [.change(change)])
    }
}
