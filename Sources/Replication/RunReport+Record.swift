import Foundation
import RunSupport

extension RunRecord {
    /// What `report` leaves for `status`; `previous` carries the last success forward when this run failed.
    public init(_ report: RunReport, previous: RunRecord? = nil) {
        self.init(
            finished: report.finished, exitStatus: report.exitStatus, applied: report.count(.applied), duplicates: report.count(.duplicate),
            held: report.count(.held), quarantined: report.count(.quarantined), changes: report.changes,
            lastSuccess: report.exitStatus == 0 ? report.finished : previous?.lastSuccess)
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
        if let success = record.lastSuccess {
            metrics.append(
                MetricsFile.Metric(
                    name: "bridgehead_last_success_timestamp_seconds", help: "When a run last finished with exit status 0.",
                    samples: [([:], success.timeIntervalSince1970)]))
        }
        return metrics
    }
}
