import Coding

/// IMCEA encapsulation (MS-OXCMAIL 2.1.3.1.8, 2.2.3.1.2): a non-SMTP address carried as an SMTP one,
/// `IMCEA<type>-<encoded address>@<domain>`.
public enum IMCEA {
    /// `IMCEAEX-_o=Org_ou=Site_cn=jdoe@example.com` → ("EX", "/o=Org/ou=Site/cn=jdoe", "example.com").
    /// One pass, left to right: `_` → `/`, `+HH` → that byte (either case of hex), a `+` not followed
    /// by two hex digits stays. The address ends at the last `@`. Nil when `text` is not IMCEA.
    public static func decode(_ text: String) -> (type: String, address: String, domain: String)? {
        guard text.count > 6, text.prefix(5).uppercased() == "IMCEA", let at = text.lastIndex(of: "@") else { return nil }
        let body = text[text.index(text.startIndex, offsetBy: 5)..<at]
        guard let dash = body.firstIndex(of: "-"), dash > body.startIndex else { return nil }
        let type = String(body[..<dash])
        guard type.allSatisfy({ $0.isLetter || $0.isNumber }) else { return nil }
        let encoded = Array(body[body.index(after: dash)...].utf8)
        let domain = String(text[text.index(after: at)...])
        // What an encoder writes: letters, digits, "-", "=", "_", "+HH" (and "@" before the last one).
        guard !encoded.isEmpty, encoded.allSatisfy({ isEncodedByte($0) }), isDomain(domain) else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < encoded.count {
            let byte = encoded[index]
            if byte == UInt8(ascii: "_") {
                bytes.append(UInt8(ascii: "/"))
                index += 1
            } else if byte == UInt8(ascii: "+"), index + 2 < encoded.count, let high = Hex.value(encoded[index + 1]),
                let low = Hex.value(encoded[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(byte)
                index += 1
            }
        }
        return (type.uppercased(), String(decoding: bytes, as: UTF8.self), domain)
    }

    /// The other way: letters, digits, `-` and `=` stay, `/` becomes `_`, every other byte `+HH`.
    /// `type` must be letters and digits (it ends at the first `-`).
    public static func encode(type: String, address: String, domain: String) -> String {
        var out = "IMCEA" + type.uppercased() + "-"
        for byte in address.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "="):
                out.append(Character(UnicodeScalar(byte)))
            case UInt8(ascii: "/"): out.append("_")
            default:
                out += "+" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return out + "@" + domain
    }

    static func isEncodedByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "="), UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "@"):
            true
        default: false
        }
    }

    /// A domain an SMTP address may end in: dot-separated labels of letters, digits and hyphens, or a literal.
    static func isDomain(_ text: String) -> Bool {
        if text.hasPrefix("["), text.hasSuffix("]"), text.count > 2 { return true }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return !text.isEmpty
            && labels.allSatisfy { label in
                !label.isEmpty && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
    }
}
