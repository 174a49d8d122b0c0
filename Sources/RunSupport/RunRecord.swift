import Foundation

/// What a real run leaves in `[agent] status_file` for `status` to show.
public struct RunRecord: Sendable, Codable, Hashable {
    public var finished: Date
    public var exitStatus: Int32
    public var applied: Int
    public var duplicates: Int
    public var held: Int
    public var quarantined: Int
    public var changes: Int
    /// When a run last finished with exit status 0 (this one, or an earlier one).
    public var lastSuccess: Date?
    /// Since the status file began: messages settled, by source and outcome (applied, duplicate,
    /// quarantined), and LDAP operations applied. The textfile's counters (`…_total`) come from here,
    /// so they only ever grow, as Prometheus counters must. Nil in a file written before they existed.
    public var settledTotals: [String: [String: Int]]?
    public var changesTotal: Int?
    /// How long the run took, in seconds.
    public var duration: Double?

    public init(
        finished: Date, exitStatus: Int32, applied: Int, duplicates: Int, held: Int, quarantined: Int, changes: Int, lastSuccess: Date? = nil
    ) {
        self.finished = finished
        self.exitStatus = exitStatus
        self.applied = applied
        self.duplicates = duplicates
        self.held = held
        self.quarantined = quarantined
        self.changes = changes
        self.lastSuccess = lastSuccess
    }

    public static func read(_ path: String) -> RunRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(RunRecord.self, from: data)
    }

    /// Written with `SafeFile`: never half a file, never through a link planted at its name.
    public func write(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try SafeFile.write([UInt8](try encoder.encode(self)), to: path)
    }
}
