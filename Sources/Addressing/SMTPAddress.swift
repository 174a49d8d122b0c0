/// RFC 5322 addr-spec and name-addr, reduced to local part and domain.
enum SMTPAddress {
    // atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "/" / "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"
    static func isAtext(_ c: Character) -> Bool {
        guard let a = c.asciiValue else { return false }
        return (a >= 0x41 && a <= 0x5A) || (a >= 0x61 && a <= 0x7A) || (a >= 0x30 && a <= 0x39) || "!#$%&'*+-/=?^_`{|}~".contains(c)
    }

    // dot-atom-text = 1*atext *("." 1*atext)
    static func isDotAtom(_ text: Substring) -> Bool {
        !text.isEmpty && text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0.allSatisfy(isAtext) }
    }

    /// A quoted local part whose content is a plain dot-atom loses its quotes; others keep them.
    static func canonicalLocal(_ local: String) -> String {
        if local.hasPrefix("\""), local.hasSuffix("\""), local.count >= 2 {
            let inner = local.dropFirst().dropLast()
            if !inner.contains("\\"), isDotAtom(inner) { return String(inner) }
        }
        return local
    }

    // address = mailbox ; mailbox = name-addr / addr-spec ; name-addr = [display-name] angle-addr
    static func parse(_ text: String) throws(AddressError) -> (local: String, domain: String) {
        let stripped = try withoutComments(text)
        var spec = Substring(stripped).trimmingSpaces
        if let open = spec.lastIndex(of: "<") {
            guard let close = spec.lastIndex(of: ">"), close > open, spec[spec.index(after: close)...].trimmingSpaces.isEmpty else {
                throw AddressError("'\(text)': '<' without its '>'")
            }
            spec = spec[spec.index(after: open)..<close].trimmingSpaces
        }
        // local-part = dot-atom / quoted-string
        let local: Substring
        var rest: Substring
        if spec.hasPrefix("\"") {
            var index = spec.index(after: spec.startIndex)
            var closed = false
            while index < spec.endIndex {
                if spec[index] == "\\" {
                    index = spec.index(after: index)
                    guard index < spec.endIndex else { break }
                } else if spec[index] == "\"" {
                    closed = true
                    break
                }
                index = spec.index(after: index)
            }
            guard closed else { throw AddressError("'\(text)': a quoted local part is not closed") }
            local = spec[...index]
            rest = spec[spec.index(after: index)...]
        } else {
            guard let at = spec.firstIndex(of: "@") else { throw AddressError("'\(text)' has no '@'") }
            local = spec[..<at]
            rest = spec[at...]
            guard isDotAtom(local) else { throw AddressError("'\(local)' is not a valid local part (quote it)") }
        }
        guard rest.first == "@" else { throw AddressError("'\(text)': expected '@' after the local part") }
        rest = rest.dropFirst()
        // domain = dot-atom / domain-literal
        if rest.hasPrefix("[") {
            guard rest.hasSuffix("]"), rest.dropFirst().dropLast().allSatisfy({ $0 != "[" && $0 != "]" && $0 != "\\" && !$0.isWhitespace }) else {
                throw AddressError("'\(rest)' is not a valid domain literal")
            }
        } else {
            guard isDotAtom(rest) else { throw AddressError("'\(rest)' is not a valid domain") }
        }
        // RFC 5321 §4.5.3.1: local part at most 64 octets, domain at most 255.
        guard local.utf8.count <= 64 else { throw AddressError("the local part is \(local.utf8.count) bytes long; at most 64 are allowed") }
        guard rest.utf8.count <= 255 else { throw AddressError("the domain is \(rest.utf8.count) bytes long; at most 255 are allowed") }
        return (String(local), String(rest))
    }

    /// Removes RFC 5322 comments (outside quoted strings); comments may nest.
    static func withoutComments(_ text: String) throws(AddressError) -> String {
        var out = ""
        var depth = 0
        var quoted = false
        var escaped = false
        for character in text {
            if escaped {
                if depth == 0 { out.append(character) }
                escaped = false
                continue
            }
            if character == "\\" {
                escaped = true
                if depth == 0 { out.append(character) }
                continue
            }
            if quoted {
                out.append(character)
                if character == "\"" { quoted = false }
                continue
            }
            switch character {
            case "\"" where depth == 0:
                quoted = true
                out.append(character)
            case "(": depth += 1
            case ")":
                guard depth > 0 else { throw AddressError("'\(text)': ')' without '('") }
                depth -= 1
            default:
                if depth == 0 { out.append(character) }
            }
        }
        guard depth == 0, !quoted else { throw AddressError("'\(text)': a comment or quoted string is not closed") }
        return out
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var slice = self
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return slice
    }
}
