import Foundation

/// A Prometheus textfile (node_exporter's textfile collector format), written atomically (`SafeFile`):
/// a scrape never sees half a file.
public struct MetricsFile: Sendable {
    public struct Metric: Sendable, Hashable {
        public var name: String
        public var help: String
        public var type: String
        public var samples: [(labels: [String: String], value: Double)]

        public static func == (lhs: Metric, rhs: Metric) -> Bool { lhs.name == rhs.name }
        public func hash(into hasher: inout Hasher) { hasher.combine(name) }

        public init(name: String, help: String, type: String = "gauge", samples: [(labels: [String: String], value: Double)]) {
            self.name = name
            self.help = help
            self.type = type
            self.samples = samples
        }
    }

    public let path: String
    public init(path: String) { self.path = path }

    /// The exposition text: HELP and TYPE lines, then one line per sample, labels sorted and escaped.
    public static func render(_ metrics: [Metric]) -> String {
        var text = ""
        for metric in metrics {
            text += "# HELP \(metric.name) \(metric.help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n"))\n"
            text += "# TYPE \(metric.name) \(metric.type)\n"
            for sample in metric.samples {
                let labels = sample.labels.sorted { $0.key < $1.key }.map { key, value in
                    "\(key)=\"\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n"))\""
                }
                let value = sample.value == sample.value.rounded() && abs(sample.value) < 1e15 ? String(Int64(sample.value)) : String(sample.value)
                text += metric.name + (labels.isEmpty ? "" : "{" + labels.joined(separator: ",") + "}") + " " + value + "\n"
            }
        }
        return text
    }

    /// Written with `SafeFile` (readable by all: node_exporter reads it).
    public func write(_ metrics: [Metric]) throws {
        try SafeFile.write(Array(Self.render(metrics).utf8), to: path)
    }
}
