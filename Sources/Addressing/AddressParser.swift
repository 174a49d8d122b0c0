import Coding

/// Reads an address in any supported form. See `Address`.
public enum AddressParser {
    public static func parse(_ text: String, limits: AddressLimits = AddressLimits()) throws(AddressError) -> Address {
        guard !text.trimmingCharacters(in: " \t").isEmpty else { throw AddressError("the address is empty") }
        guard text.utf8.count <= limits.maxLength else {
            throw AddressError("the address is \(text.utf8.count) bytes long; the limit is \(limits.maxLength)")
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw AddressError("the address holds a control character (NUL, line break, …)")
        }
        let trimmed = text.trimmingCharacters(in: " \t")
        // IMCEA<type>-…@domain; "IMCEAEX@example.com", with no "-" before the "@", is a plain SMTP address.
        if trimmed.prefix(5).uppercased() == "IMCEA", let at = trimmed.firstIndex(of: "@"), let dash = trimmed.firstIndex(of: "-"), dash < at,
            !trimmed.contains(":") || trimmed.firstIndex(of: ":")! > at
        {
            guard let imcea = IMCEA.decode(trimmed) else {
                throw AddressError("'\(text)' is not a valid IMCEA encapsulation (IMCEA<type>-<encoded address>@<domain>, MS-OXCMAIL 2.2.3.1.2)")
            }
            return try parse(typed: imcea.type, imcea.address, original: text, imceaDomain: imcea.domain)
        }
        if let colon = trimmed.firstIndex(of: ":"), trimmed[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }),
            !trimmed[..<colon].isEmpty
        {
            let type = String(trimmed[..<colon])
            let value = String(trimmed[trimmed.index(after: colon)...])
            if type.uppercased() == "SMTP", let imcea = IMCEA.decode(value.trimmingCharacters(in: " ")) {
                return try parse(typed: imcea.type, imcea.address, original: text, imceaDomain: imcea.domain)
            }
            return try parse(typed: type, value, original: text, imceaDomain: nil)
        }
        // No type prefix: tell the form from its shape.
        if trimmed.hasPrefix("/") {
            let lower = trimmed.lowercased()
            let type = lower.contains("/c=") && lower.contains("/a=") ? "X400" : "EX"
            return try parse(typed: type, trimmed, original: text, imceaDomain: nil)
        }
        if trimmed.contains("@") { return try parse(typed: "SMTP", trimmed, original: text, imceaDomain: nil) }
        if trimmed.contains("="), trimmed.contains(";") { return try parse(typed: "X400", trimmed, original: text, imceaDomain: nil) }
        throw AddressError("cannot tell what kind of address '\(text)' is; write it as TYPE:value (SMTP:, EX:, X400:, …)")
    }

    static func parse(typed type: String, _ value: String, original: String, imceaDomain: String?) throws(AddressError) -> Address {
        let form: Address.Form
        switch type.uppercased() {
        case "SMTP":
            let (local, domain) = try SMTPAddress.parse(value)
            form = .smtp(local: local, domain: domain)
        case "EX", "MSXCHNGE":
            form = .exchange(try exchangeDN(value.replacingDoubleSlashes()))
        case "X500":
            form = .x500(try exchangeDN(value.replacingDoubleSlashes()))
        case "X400":
            let address = try X400Address.parse(value.trimmingCharacters(in: " "))
            // An Exchange DN carried as a domain-defined attribute is that Exchange address.
            if let dn = address.domainDefined("MSXCHNGE") ?? address.domainDefined("EX") {
                form = .exchange(try exchangeDN(dn.replacingDoubleSlashes()))
            } else {
                form = .x400(address)
            }
        case "MS":
            // Network/PostOffice/Mailbox, each at most 10 characters (MS Mail 3.x)
            let parts = value.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 3, parts.allSatisfy({ !$0.trimmingSpaces.isEmpty && $0.trimmingSpaces.count <= 10 }) else {
                throw AddressError("an MS Mail address is Network/PostOffice/Mailbox of at most 10 characters each, not '\(value)'")
            }
            form = .msMail(value.trimmingCharacters(in: " "))
        case "CCMAIL":
            guard !value.trimmingCharacters(in: " ").isEmpty else { throw AddressError("the cc:Mail address is empty") }
            form = .ccMail(value.trimmingCharacters(in: " "))
        case "NOTES":
            guard !value.trimmingCharacters(in: " ").isEmpty else { throw AddressError("the Notes address is empty") }
            form = .notes(value.trimmingCharacters(in: " "))
        default:
            guard !value.trimmingCharacters(in: " ").isEmpty else { throw AddressError("the \(type) address is empty") }
            form = .unknown(type: type, value: value)
        }
        return Address(form: form, original: original, imceaDomain: imceaDomain)
    }

    /// `/o=Org/ou=Site/cn=Recipients/cn=jdoe`: every step `type=value`, types letters (and digits).
    static func exchangeDN(_ text: String) throws(AddressError) -> [ExchangeRDN] {
        let trimmed = text.trimmingCharacters(in: " ")
        guard trimmed.hasPrefix("/") else { throw AddressError("an Exchange DN starts with '/', as in /o=Org/ou=Site/cn=Recipients/cn=jdoe") }
        var steps = trimmed.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        if steps.last == "" { steps.removeLast() }
        guard !steps.isEmpty else { throw AddressError("the Exchange DN '\(text)' is empty") }
        return try steps.map { step throws(AddressError) in
            guard let equals = step.firstIndex(of: "="), equals > step.startIndex else {
                throw AddressError("'\(step)' in the Exchange DN '\(text)' is not type=value")
            }
            let type = String(step[..<equals])
            guard type.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw AddressError("'\(type)' in the Exchange DN '\(text)' is not an attribute type")
            }
            let value = String(step[step.index(after: equals)...])
            guard !value.isEmpty else { throw AddressError("'\(type)=' in the Exchange DN '\(text)' has no value") }
            return ExchangeRDN(type: type, value: value)
        }
    }
}

extension String {
    /// `//o=Org//ou=Site` (an Exchange DN inside an X.400 DDA) → `/o=Org/ou=Site`.
    func replacingDoubleSlashes() -> String {
        var out = ""
        var previousSlash = false
        for character in self {
            if character == "/", previousSlash {
                previousSlash = false
                continue
            }
            previousSlash = character == "/"
            out.append(character)
        }
        return out
    }
}
