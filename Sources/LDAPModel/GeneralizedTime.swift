/// GeneralizedTime (RFC 4517 §3.3.13) in the one form the agent writes and reads: UTC to the second,
/// `YYYYMMDDHHMMSSZ`. Seconds since 1970 in, seconds since 1970 out (no calendar but the proleptic
/// Gregorian one, so no Foundation).
public enum GeneralizedTime {
    public static func format(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = seconds - days * 86_400
        let (year, month, day) = civil(days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(year)
        return String(repeating: "0", count: max(0, 4 - yearText.count)) + yearText + two(month) + two(day) + two(rest / 3600)
            + two(rest % 3600 / 60) + two(rest % 60) + "Z"
    }

    /// Seconds since 1970 of `YYYYMMDDHHMMSSZ` (also with a fraction, `.fff`, which is dropped); nil
    /// for anything else.
    public static func parse(_ text: String) -> Int64? {
        var bytes = Array(text.utf8)
        guard bytes.last == UInt8(ascii: "Z") else { return nil }
        bytes.removeLast()
        if let dot = bytes.firstIndex(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ",") }) {
            guard bytes[(dot + 1)...].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            bytes = Array(bytes[..<dot])
        }
        guard bytes.count == 14, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        func number(_ from: Int, _ count: Int) -> Int64 { bytes[from..<(from + count)].reduce(0) { $0 * 10 + Int64($1 - 0x30) } }
        let (year, month, day) = (number(0, 4), number(4, 2), number(6, 2))
        let (hour, minute, second) = (number(8, 2), number(10, 2), number(12, 2))
        guard (1...12).contains(month), day >= 1, day <= 31, hour < 24, minute < 60, second < 61 else { return nil }
        let days = daysFromCivil(year, month, day)
        guard civil(days) == (year, month, day) else { return nil }
        return days * 86_400 + hour * 3600 + minute * 60 + second
    }

    // Howard Hinnant's days_from_civil and civil_from_days.
    static func daysFromCivil(_ y: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let year = m <= 2 ? y - 1 : y
        let era = (year >= 0 ? year : year - 399) / 400
        let yoe = year - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
