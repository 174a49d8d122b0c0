import Coding
import LDAPModel

/// Writes records as RFC 2849 LDIF: values base64-encoded where the RFC requires it, long lines folded.
public struct LDIFWriter: Sendable {
    /// Fold lines longer than this many bytes (0: never fold). 76 keeps lines mail-safe.
    public var foldWidth: Int

    public init(foldWidth: Int = 76) { self.foldWidth = foldWidth }

    /// `version: 1` and a blank line, for the top of a file.
    public var header: [UInt8] { Array("version: 1\n\n".utf8) }

    /// The record's lines, each ended by LF, followed by a blank line.
    public func render(_ record: LDIFRecord) -> [UInt8] {
        switch record {
        case .content(let entry): render(entry)
        case .change(let change): render(change)
        }
    }

    public func render(_ entry: Entry) -> [UInt8] {
        var out: [UInt8] = []
        line(&out, "dn", Array(entry.dn.description.utf8))
        for attribute in entry.attributes {
            for value in attribute.values { line(&out, attribute.description.description, value) }
        }
        out.append(UInt8(ascii: "\n"))
        return out
    }

    public func render(_ record: ChangeRecord) -> [UInt8] {
        var out: [UInt8] = []
        line(&out, "dn", Array(record.dn.description.utf8))
        for control in record.controls {
            var text = "control: \(control.oid) \(control.isCritical ? "true" : "false")"
            if let value = control.value {
                text += Self.needsBase64(value) ? ":: " + Base64.encode(value) : ": " + String(decoding: value, as: UTF8.self)
            }
            fold(&out, Array(text.utf8))
        }
        line(&out, "changetype", Array(record.changeType.utf8))
        switch record.change {
        case .add(let attributes):
            for attribute in attributes {
                for value in attribute.values { line(&out, attribute.description.description, value) }
            }
        case .delete:
            break
        case .modify(let modifications):
            for modification in modifications {
                line(&out, modification.operation.rawValue, Array(modification.attribute.description.utf8))
                for value in modification.values { line(&out, modification.attribute.description, value) }
                out.append(contentsOf: [UInt8(ascii: "-"), UInt8(ascii: "\n")])
            }
        case .modifyDN(let newRDN, let deleteOldRDN, let newSuperior):
            line(&out, "newrdn", Array(newRDN.description.utf8))
            line(&out, "deleteoldrdn", [deleteOldRDN ? UInt8(ascii: "1") : UInt8(ascii: "0")])
            if let newSuperior { line(&out, "newsuperior", Array(newSuperior.description.utf8)) }
        }
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// A whole file: the version header and every record.
    public func render(_ records: [LDIFRecord]) -> [UInt8] {
        records.reduce(into: header) { $0 += render($1) }
    }

    /// RFC 2849 note 8: base64 when the value has NUL, CR, LF or non-ASCII bytes, starts with a space,
    /// ':' or '<', or ends with a space.
    public static func needsBase64(_ value: [UInt8]) -> Bool {
        guard let first = value.first, let last = value.last else { return false }
        if first == UInt8(ascii: " ") || first == UInt8(ascii: ":") || first == UInt8(ascii: "<") { return true }
        if last == UInt8(ascii: " ") { return true }
        return value.contains { $0 == 0 || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") || $0 >= 0x80 }
    }

    private func line(_ out: inout [UInt8], _ name: String, _ value: [UInt8]) {
        var text: [UInt8] = []
        if value.isEmpty {
            text = Array(name.utf8)
            text.append(UInt8(ascii: ":"))
        } else if Self.needsBase64(value) {
            let encoded = Base64.encodedBytes(value)
            text.reserveCapacity(name.utf8.count + 3 + encoded.count)
            text += name.utf8
            text += [UInt8(ascii: ":"), UInt8(ascii: ":"), UInt8(ascii: " ")]
            text += encoded
        } else {
            text.reserveCapacity(name.utf8.count + 2 + value.count)
            text += name.utf8
            text += [UInt8(ascii: ":"), UInt8(ascii: " ")]
            text += value
        }
        fold(&out, text)
    }

    // Every byte written is ASCII (anything else is base64), so a fold never splits a character.
    private func fold(_ out: inout [UInt8], _ text: [UInt8]) {
        guard foldWidth > 1, text.count > foldWidth else {
            out += text
            out.append(UInt8(ascii: "\n"))
            return
        }
        out += text[..<foldWidth]
        out.append(UInt8(ascii: "\n"))
        var index = foldWidth
        while index < text.count {
            let end = min(text.count, index + foldWidth - 1)
            out.append(UInt8(ascii: " "))
            out += text[index..<end]
            out.append(UInt8(ascii: "\n"))
            index = end
        }
    }
}
