import Foundation
import LDAPModel
import LDIF
import Testing

/// The examples of RFC 2849 section 4 (Fixtures/rfc2849/README.md says how they were fixed).
struct RFC2849ExampleTests {
    private func records(_ name: String, options: LDIFReader.Options = .init()) throws -> [LDIFRecord] {
        try LDIFReader.records(in: try Fixtures.bytes("rfc2849/" + name), options: options)
    }

    @Test func example1TwoEntries() throws {
        let records = try records("example1.ldif")
        #expect(records.count == 2)
        guard case .content(let first) = records[0] else { Issue.record("expected a content record"); return }
        #expect(first.dn.description == "cn=Barbara Jensen,ou=Product Development,dc=airius,dc=com")
        #expect(first.strings("cn") == ["Barbara Jensen", "Barbara J Jensen", "Babs Jensen"])
        #expect(first.strings("objectclass").count == 3)
    }

    @Test func example2FoldedValue() throws {
        let records = try records("example2.ldif")
        guard case .content(let entry) = records.first else { Issue.record("expected a content record"); return }
        #expect(entry.strings("description") == ["Babs is a big sailing fan, and travels extensively in search of perfect sailing conditions."])
        #expect(entry.strings("title") == ["Product Manager, Rod and Reel Division"])
    }

    @Test func example3Base64WithControlCharacter() throws {
        guard case .content(let entry) = try records("example3.ldif").first else { Issue.record("expected a content record"); return }
        let description = try #require(entry.values("description").first)
        #expect(description.contains(0x0D), "the decoded value holds a CR")
        #expect(String(decoding: description, as: UTF8.self).hasPrefix("What a careful reader you are!"))
    }

    @Test func example4UTF8DNsAndOptions() throws {
        let records = try records("example4.ldif")
        #expect(records.count == 2)
        #expect(records[0].dn.description == "ou=営業部,o=Airius")
        #expect(records[1].dn.description == "uid=rogasawara,ou=営業部,o=Airius")
        guard case .content(let person) = records[1] else { Issue.record("expected a content record"); return }
        #expect(person.strings("cn;lang-ja") == ["小笠原 ロドニー"])
        #expect(person.strings("cn;lang-en") == ["Rodney Ogasawara"])
        #expect(person.strings("givenname;lang-ja;phonetic") == ["ろどにー"])
    }

    @Test func urlValuesAreRefusedUnlessAllowed() throws {
        do {
            _ = try records("example5.ldif")
            Issue.record("a file URL value must be refused by default")
        } catch let error as LDIFError {
            #expect(error.line == 11 && error.column == 13)
            #expect(error.reason.contains("not allowed"))
        }
    }

    /// Examples 5 and 6 name photos under /usr/local/directory; point them at files made here.
    private func withPhotos(_ name: String) throws -> (records: [LDIFRecord], photo: [UInt8]) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rfc2849-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let photo: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00]
        for file in ["hjensen.jpg", "fiona.jpg"] {
            try Data(photo).write(to: folder.appendingPathComponent(file))
        }
        let text = String(decoding: try Fixtures.bytes("rfc2849/" + name), as: UTF8.self)
            .replacingOccurrences(of: "file:///usr/local/directory/photos/", with: "file://" + folder.path + "/")
        return (try LDIFReader.records(in: Array(text.utf8), options: .init(allowFileURLs: true)), photo)
    }

    @Test func example5FileURL() throws {
        let (records, photo) = try withPhotos("example5.ldif")
        guard case .content(let entry) = records.first else { Issue.record("expected a content record"); return }
        #expect(entry.values("jpegphoto") == [photo])
        #expect(entry.strings("cn") == ["Horatio Jensen", "Horatio N Jensen"])
    }

    @Test func example6EveryChangeType() throws {
        let (records, photo) = try withPhotos("example6.ldif")
        let changes = records.compactMap { record -> ChangeRecord? in
            if case .change(let change) = record { return change }
            return nil
        }
        #expect(changes.map(\.changeType) == ["add", "delete", "modrdn", "modrdn", "modify", "modify"])
        guard case .add(let attributes) = changes[0].change else { Issue.record("expected an add"); return }
        #expect(attributes.first { $0.description.type == "jpegphoto" }?.values == [photo])
        guard case .modifyDN(let rdn, let deleteOld, let superior) = changes[3].change else { Issue.record("expected a modrdn"); return }
        #expect(rdn.description == "ou=Product Development Accountants")
        #expect(!deleteOld)
        #expect(superior?.description == "ou=Accounting,dc=airius,dc=com")
        guard case .modify(let mods) = changes[4].change else { Issue.record("expected a modify"); return }
        #expect(mods.map(\.operation) == [.add, .delete, .replace, .delete])
        #expect(mods[2].values.count == 2)
        guard case .modify(let second) = changes[5].change else { Issue.record("expected a modify"); return }
        #expect(second[0].operation == .replace && second[0].values.isEmpty, "replace with no values removes the attribute")
    }

    @Test func example7Control() throws {
        guard case .change(let change) = try records("example7.ldif").first else { Issue.record("expected a change"); return }
        #expect(change.controls == [Control(oid: "1.2.840.113556.1.4.805", isCritical: true, value: nil)])
        #expect(change.change == .delete)
    }

    /// The RFC's own printing errors are caught where they are.
    @Test(arguments: [("example3.ldif", 12), ("example4.ldif", 43), ("example5.ldif", 8)])
    func asPrintedErrorsAreFound(_ name: String, _ line: Int) throws {
        do {
            _ = try records("as-printed/" + name)
            Issue.record("\(name) as printed must not parse")
        } catch let error as LDIFError {
            #expect(error.line == line, "\(name): \(error)")
        }
    }

    @Test func everyCorrectedExampleRoundTrips() throws {
        for name in Fixtures.files(in: "rfc2849", ending: ".ldif") where !["example5.ldif", "example6.ldif"].contains(name) {
            let original = try records(name)
            let written = LDIFWriter().render(original)
            #expect(try LDIFReader.records(in: written) == original, "\(name)")
        }
    }
}
