import Foundation
import MailDrop
import Testing

struct MaildirTests {
    private func makeMaildir() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("maildir-\(UUID().uuidString)").path
        for sub in ["new", "cur", "tmp"] {
            try FileManager.default.createDirectory(atPath: root + "/" + sub, withIntermediateDirectories: true)
        }
        return root
    }

    private func files(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    @Test func listsNewAndCurButNotTmp() async throws {
        let root = try makeMaildir()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Maildir.deliver(Array("one".utf8), to: root, name: "1.a.host")
        try Data("two".utf8).write(to: URL(fileURLWithPath: root + "/cur/2.b.host:2,S"))
        try Data("half-written".utf8).write(to: URL(fileURLWithPath: root + "/tmp/3.c.host"))
        try Data("hidden".utf8).write(to: URL(fileURLWithPath: root + "/new/.hidden"))
        let drop = Maildir(root: root)
        let listed = try await drop.list()
        #expect(Set(listed.map(\.id)) == ["1.a.host", "2.b.host"])
        let bodies = try await withThrowingTaskGroup(of: String.self) { group in
            for message in listed { group.addTask { String(decoding: try await drop.fetch(message), as: UTF8.self) } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(bodies == ["one", "two"])
    }

    @Test func settlesByRenameIntoFoldersItCreates() async throws {
        let root = try makeMaildir()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for name in ["a", "b", "c"] { try Maildir.deliver(Array(name.utf8), to: root, name: name) }
        let drop = Maildir(root: root)
        let listed = try await drop.list()
        let byID = Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0) })
        try await drop.settle(byID["a"]!, as: .processed)
        try await drop.settle(byID["b"]!, as: .quarantined)
        try await drop.settle(byID["c"]!, as: .leftInPlace)
        #expect(files(root + "/.Processed/cur") == ["a:2,S"])
        #expect(files(root + "/.Quarantine/cur") == ["b:2,S"])
        #expect(files(root + "/new") == ["c"])
        #expect(FileManager.default.fileExists(atPath: root + "/.Processed/maildirfolder"))
        #expect(try String(contentsOfFile: root + "/.Quarantine/cur/b:2,S", encoding: .utf8) == "b", "moved whole, not copied or changed")
        #expect(try await drop.list().map(\.id) == ["c"])
    }

    @Test func vanishedFilesAreReportedNotFatal() async throws {
        let root = try makeMaildir()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Maildir.deliver(Array("x".utf8), to: root, name: "x")
        let drop = Maildir(root: root)
        let message = try #require(try await drop.list().first)
        try FileManager.default.moveItem(atPath: root + "/new/x", toPath: root + "/cur/x:2,S")  // a mail reader got there first
        do {
            _ = try await drop.fetch(message)
            Issue.record("fetched a file that is gone")
        } catch {
            #expect(error.kind == .vanished)
        }
        do {
            try await drop.settle(message, as: .processed)
            Issue.record("settled a file that is gone")
        } catch {
            #expect(error.kind == .vanished)
        }
        #expect(try await drop.list().map(\.location) == [root + "/cur/x:2,S"], "nothing was lost")
    }

    @Test func neverOverwritesASettledMessage() async throws {
        let root = try makeMaildir()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let drop = Maildir(root: root)
        try Maildir.deliver(Array("first".utf8), to: root, name: "same")
        try await drop.settle(try #require(try await drop.list().first), as: .processed)
        try Maildir.deliver(Array("second".utf8), to: root, name: "same")
        let again = try #require(try await drop.list().first)
        await #expect(throws: MailDropError.self) { try await drop.settle(again, as: .processed) }
        #expect(try String(contentsOfFile: root + "/.Processed/cur/same:2,S", encoding: .utf8) == "first")
        #expect(try String(contentsOfFile: root + "/new/same", encoding: .utf8) == "second")
    }

    @Test func deliveriesDuringARunAreSeenNextTime() async throws {
        let root = try makeMaildir()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for index in 0..<50 { try Maildir.deliver(Array("m\(index)".utf8), to: root) }
        let drop = Maildir(root: root)
        let first = try await drop.list()
        // Another process delivers while this run settles what it listed.
        let delivering = Task.detached {
            for index in 0..<200 { try Maildir.deliver(Array("late\(index)".utf8), to: root) }
        }
        for message in first { try await drop.settle(message, as: .processed) }
        try await delivering.value
        #expect(first.count == 50)
        #expect(files(root + "/.Processed/cur").count == 50)
        let second = try await drop.list()
        #expect(second.count == 200)
        #expect(Set(second.map(\.id)).isDisjoint(with: first.map(\.id)))
    }

    @Test func missingMaildirIsAConfigurationError() async {
        do {
            _ = try await Maildir(root: "/nonexistent/Maildir").list()
            Issue.record("listed a missing Maildir")
        } catch {
            #expect(error.kind == .configuration && error.message.contains("/nonexistent/Maildir"))
        }
    }
}
