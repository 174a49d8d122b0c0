import Foundation
import FuzzEntries
import Testing

/// Every input the fuzzers kept (Fuzz/Corpus/NAME: the seeds, and what grew the coverage) and every
/// input that once broke a parser (Fuzz/Findings/NAME), run again through the same entry point: a
/// regression crashes this test.
struct CorpusReplayTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func files(_ folder: String, _ target: String) -> [URL] {
        let directory = root.appendingPathComponent(folder).appendingPathComponent(target)
        return ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    @Test(arguments: FuzzEntries.all.keys.sorted())
    func corpusAndFindingsRunClean(_ target: String) throws {
        let entry = try #require(FuzzEntries.all[target])
        let corpus = Self.files("Corpus", target)
        #expect(!corpus.isEmpty, "Fuzz/Corpus/\(target) holds the seeds at least")
        for file in corpus + Self.files("Findings", target) {
            entry([UInt8](try Data(contentsOf: file)))
        }
    }
}
