import LDAPModel
import MailDrop
import Publishing

extension FuzzEntries {
    /// What slapo-accesslog's reqMod values hold, as a sequence of values separated by NUL bytes: either
    /// refused with the log entry's name, or read into modifications whose values are the bytes after
    /// `attr:OP ` (never more), each one naming an attribute.
    public static func accesslog(_ bytes: [UInt8]) {
        let values = bytes.split(separator: 0, omittingEmptySubsequences: false).map(Array.init)
        guard let modifications = try? AccessLogEntry.modifications(values, entry: "reqStart=1,cn=accesslog") else { return }
        let total = modifications.reduce(0) { $0 + $1.values.count }
        precondition(total <= values.count, "no more values than reqMod values")
        for modification in modifications {
            precondition(!modification.attribute.type.isEmpty)
            for value in modification.values { precondition(value.count <= bytes.count) }
        }
    }

    /// What an SMTP server sends: lines (CRLF or LF) folded into replies, each with a three-digit
    /// code from 200 to 599 and one text line per line given; and any bytes as a message body,
    /// dot-stuffed, ending in the terminating line, with no bare LF and no line over 1,000 octets.
    public static func smtp(_ bytes: [UInt8]) {
        var assembler = SMTPReply.Assembler()
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            let trimmed = line.last == 0x0D ? Array(line.dropLast()) : Array(line)
            guard let reply = try? assembler.add(trimmed) else { continue }
            precondition((200..<600).contains(reply.code) && !reply.lines.isEmpty)
        }
        guard let data = try? SMTPData.encode(bytes) else { return }
        precondition(data.suffix(3) == Array(".\r\n".utf8))
        var length = 0
        for (index, byte) in data.enumerated() {
            if byte == 0x0A {
                precondition(index > 0 && data[index - 1] == 0x0D, "no bare LF")
                length = 0
            } else {
                length += 1
                precondition(length <= 1000)
            }
        }
    }
}
