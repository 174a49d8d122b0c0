import Coding
import Foundation
import LDAPModel
import LDIF
import Replication

#if canImport(Glibc)
    import Glibc
#endif

/// How a run report reads for people (text), for ldapmodify (ldif), and what cron mails (problems).
/// Everything a message brought (its subject, addresses, DNs, values, and the reasons quoting them)
/// goes through `Text.printable` first: a sender cannot move the cursor, recolour a terminal or fake
/// a line in cron's mail.
enum ReportText {
    /// Shown safely (`Text.printable`).
    static func safe(_ text: String) -> String { Text.printable(text) }

    /// Colour only on a terminal, and never when NO_COLOR is set (no-color.org).
    static var useColour: Bool { isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil }

    static func render(_ report: RunReport, colour: Bool) -> String {
        func paint(_ text: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        var out = ""
        let would = report.dryRun
        for message in report.messages {
            let title = message.source.map { "\($0) #\(message.sequence ?? 0)" + (message.kind.map { " (\($0))" } ?? "") } ?? safe(message.id)
            let reason = safe(message.reason ?? "")
            let verdict: String
            switch message.outcome {
            case .applied:
                verdict =
                    paint(would ? "would apply" : "applied", "32") + ": \(message.changes.count) changes, \(message.unchanged) records unchanged"
            case .duplicate:
                verdict = paint("duplicate", "36") + " (\(reason))" + (would ? ", would move to Processed" : ", moved to Processed")
            case .held:
                verdict =
                    paint("held", "33") + ": \(reason)"
                    + (message.waitingSince.map { ", waiting \(age(since: $0, now: report.started))" } ?? "")
            case .quarantined: verdict = paint(would ? "would quarantine" : "quarantined", "31") + ": \(reason)"
            case .deferred: verdict = paint("deferred", "33") + ": \(reason)"
            }
            out += "\(paint(title, "1")) — \(verdict)\n"
            var details: [String] = []
            if let from = message.from { details.append("from \(safe(from))") }
            if let signer = message.signer { details.append("signed by \(safe(signer))") }
            if let id = message.messageID { details.append(safe(id)) }
            details.append("drop id \(safe(message.id))")
            out += "  " + details.joined(separator: ", ") + "\n"
            for change in message.changes {
                out += "  \(change.operation) \(safe(change.dn))" + (change.newDN.map { " → \(safe($0))" } ?? "") + "  [record \(change.record)]\n"
                for values in change.values {
                    for value in values.removed { out += "    " + paint("- \(safe(values.attribute)): \(safe(value))", "31") + "\n" }
                    for value in values.added {
                        let reference = change.references.first { $0.attribute.lowercased() == values.attribute.lowercased() && $0.dn == value }
                        out +=
                            "    " + paint("+ \(safe(values.attribute)): \(safe(value))", "32")
                            + (reference.map { "  ← \(safe($0.address)) (via \(safe($0.via)))" } ?? "") + "\n"
                    }
                }
                if let error = change.error {
                    let shown = safe(error)
                    out += "    " + (error.hasPrefix("not checked") ? paint(shown, "33") : paint("server check: \(shown)", "31")) + "\n"
                }
            }
        }
        var totals: [String] = []
        for outcome in MessageReport.Outcome.allCases where report.count(outcome) > 0 {
            let name = would && (outcome == .applied || outcome == .quarantined) ? "would be \(outcome.rawValue)" : outcome.rawValue
            totals.append("\(report.count(outcome)) \(name)")
        }
        if report.messages.isEmpty { totals.append("no messages in the drop") }
        out +=
            (report.dryRun ? "Dry run, nothing changed. " : "") + "Total: " + totals.joined(separator: ", ")
            + "; \(report.changes) \(would ? "changes planned" : "changes applied")"
            + (report.overdue > 0 ? "; \(report.overdue) held longer than the gap timeout" : "") + ".\n"
        for request in report.requests {
            let verb = request.sent ? "asked" : (report.dryRun && request.error == nil ? "would ask" : "could not ask")
            out += "Gap: \(verb) \(request.source) (\(request.to.joined(separator: ", "))) for \(request.request)"
            out += request.error.map { ": \(safe($0))\n" } ?? ".\n"
        }
        return out
    }

    /// ldapmodify-ready: every planned change record, message by message. The state update each
    /// message also makes (under state_dn) is the agent's bookkeeping and is named in a comment only.
    static func ldif(_ report: RunReport) -> [UInt8] {
        var out = Array("version: 1\n".utf8)
        let writer = LDIFWriter()
        for message in report.messages where message.outcome == .applied {
            out += Array(
                "\n# \(message.source ?? "") sequence \(message.sequence ?? 0), \(safe(message.messageID ?? message.id))\n# (the run also records it as the source's state under state_dn)\n"
                    .utf8)
            for record in message.ldif { out += writer.render(record) }
        }
        return out
    }

    /// One line per message that needs a person.
    static func problems(_ report: RunReport) -> String {
        var out = ""
        for request in report.requests where request.error != nil {
            out += "bridgehead: could not ask \(request.source) for \(request.request): \(safe(request.error ?? ""))\n"
        }
        for message in report.messages where message.outcome == .quarantined {
            out +=
                "bridgehead: quarantined \(message.source.map { "\($0) #\(message.sequence ?? 0)" } ?? safe(message.id)): \(safe(message.reason ?? ""))\n"
        }
        for message in report.messages where message.outcome == .held {
            if message.awaitsOperator {
                out += "bridgehead: held \(message.source ?? "") #\(message.sequence ?? 0): \(safe(message.reason ?? ""))\n"
                continue
            }
            guard message.overdue, let since = message.waitingSince else { continue }
            out +=
                "bridgehead: held \(message.source ?? "") #\(message.sequence ?? 0) (\(age(since: since, now: report.started))): \(safe(message.reason ?? ""))\n"
        }
        return out
    }

    static func age(since: Date, now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(since)))
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7200 { return "\(seconds / 60) min" }
        if seconds < 172_800 { return "\(seconds / 3600) h" }
        return "\(seconds / 86400) days"
    }
}
