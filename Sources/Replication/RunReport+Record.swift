import Foundation
import RunSupport

extension RunRecord {
    /// What `report` leaves for `status`; `previous` carries the last success forward when this run failed.
    public init(_ report: RunReport, previous: RunRecord? = nil) {
        self.init(
            finished: report.finished, exitStatus: report.exitStatus, applied: report.count(.applied), duplicates: report.count(.duplicate),
            held: report.count(.held), quarantined: report.count(.quarantined), changes: report.changes,
            lastSuccess: report.exitStatus == 0 ? report.finished : previous?.lastSuccess)
        var totals = previous?.settledTotals ?? [:]
        for message in report.messages where [.applied, .duplicate, .quarantined].contains(message.outcome) {
            totals[message.source ?? "", default: [:]][message.outcome.rawValue, default: 0] += 1
        }
        settledTotals = totals
        changesTotal = (previous?.changesTotal ?? 0) + report.changes
        duration = report.finished.timeIntervalSince(report.started)
    }
}

extension RunReport {
    /// Records a real run: the status file (`[agent] status_file`) and, when `metricsPath` is set, the
    /// Prometheus textfile. Returns what could not be written, one line each (the run itself stands).
    public func record(statusFile: String, metricsPath: String?) -> [String] {
        var problems: [String] = []
        let record = RunRecord(self, previous: RunRecord.read(statusFile))
        do {
            try record.write(statusFile)
        } catch {
            problems.append("cannot write the status file \(statusFile): \(error)")
        }
        if let metricsPath {
            do {
                try MetricsFile(path: metricsPath).write(metrics(record))
            } catch {
                problems.append("cannot write metrics to \(metricsPath): \(error)")
            }
        }
        return problems
    }

    /// The textfile's metrics for this run.
    func metrics(_ record: RunRecord) -> [MetricsFile.Metric] {
        var metrics = [
            MetricsFile.Metric(
                name: "bridgehead_last_run_messages", help: "Messages in the last run, by outcome.",
                samples: MessageReport.Outcome.allCases.map { (["outcome": $0.rawValue], Double(count($0))) }),
            MetricsFile.Metric(
                name: "bridgehead_last_run_changes", help: "LDAP operations applied in the last run.", samples: [([:], Double(changes))]),
            MetricsFile.Metric(
                name: "bridgehead_last_run_timestamp_seconds", help: "When the last run finished.",
                samples: [([:], finished.timeIntervalSince1970)]),
            MetricsFile.Metric(
                name: "bridgehead_last_run_exit_status", help: "Exit status of the last run.", samples: [([:], Double(exitStatus))]),
        ]
        // Prometheus names (issue 14): counters that only grow, over every run the status file has seen.
        let settled = MessageReport.Outcome.allCases.filter { [.applied, .duplicate, .quarantined].contains($0) }
        var totals: [(labels: [String: String], value: Double)] = []
        for (source, outcomes) in (record.settledTotals ?? [:]).sorted(by: { $0.key < $1.key }) {
            for outcome in settled { totals.append((["source": source, "outcome": outcome.rawValue], Double(outcomes[outcome.rawValue] ?? 0))) }
        }
        metrics += [
            MetricsFile.Metric(
                name: "bridgehead_messages_total", help: "Messages settled (applied, duplicate, quarantined), by source and outcome.",
                type: "counter", samples: totals),
            MetricsFile.Metric(
                name: "bridgehead_changes_total", help: "LDAP operations applied.", type: "counter",
                samples: [([:], Double(record.changesTotal ?? changes))]),
            MetricsFile.Metric(
                name: "bridgehead_last_run_duration_seconds", help: "How long the last run took.",
                samples: [([:], finished.timeIntervalSince(started))]),
            MetricsFile.Metric(
                name: "bridgehead_held_messages", help: "Messages the last run left held in the drop, by source.",
                samples: Dictionary(grouping: messages.filter { $0.outcome == .held }, by: { $0.source ?? "" }).sorted { $0.key < $1.key }
                    .map { (["source": $0.key], Double($0.value.count)) }),
            MetricsFile.Metric(
                name: "bridgehead_gap_requests_sent", help: "Requests for missing messages the last run sent, by source.",
                samples: requests.map { (["source": $0.source], $0.sent ? 1 : 0) }),
        ]
        if let success = record.lastSuccess {
            metrics.append(
                MetricsFile.Metric(
                    name: "bridgehead_last_success_timestamp_seconds", help: "When a run last finished with exit status 0.",
                    samples: [([:], success.timeIntervalSince1970)]))
        }
        return metrics
    }
}
