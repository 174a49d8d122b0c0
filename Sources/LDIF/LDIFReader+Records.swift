import LDAPModel

extension LDIFReader {
    // ldif-attrval-record = dn-spec SEP 1*attrval-spec
    // ldif-change-record  = dn-spec SEP *control changerecord
    func parseRecord(_ lines: [LogicalLine]) throws(LDIFError) -> LDIFRecord {
        let first = lines[0]
        let (name, dnValue) = try attributeValue(first)
        guard name.lowercased() == "dn" else {
            throw first.error(
                at: 0,
                name.lowercased() == "version"
                    ? "'version:' may only appear once, on the first line of the file"
                    : "a record must begin with 'dn:', found '\(name):'")
        }
        let dn = try distinguishedName(first, dnValue)

        var index = 1
        var controls: [Control] = []
        while index < lines.count, lines[index].hasName("control") {
            controls.append(try control(lines[index]))
            index += 1
        }
        if index < lines.count, lines[index].hasName("changetype") {
            let (_, typeValue) = try attributeValue(lines[index])
            let type = String(decoding: typeValue.bytes, as: UTF8.self)
            let body = Array(lines[(index + 1)...])
            let change: ChangeRecord.Change
            switch type.lowercased() {
            case "add": change = .add(try addAttributes(body, after: lines[index]))
            case "delete":
                if let extra = body.first { throw extra.error(at: 0, "a delete record takes no lines after 'changetype: delete'") }
                change = .delete
            case "modify": change = .modify(try modifications(body))
            case "modrdn", "moddn": change = try modifyDN(body, after: lines[index])
            default:
                throw lines[index].error(at: typeValue.offset, "unknown changetype '\(type)' (expected add, delete, modify, modrdn or moddn)")
            }
            return .change(ChangeRecord(dn: dn, change: change, controls: controls))
        }
        if !controls.isEmpty {
            let line = index < lines.count ? lines[index] : lines[index - 1]
            throw line.error(at: index < lines.count ? 0 : line.bytes.count, "'control:' lines must be followed by 'changetype:'")
        }
        let body = Array(lines[1...])
        guard !body.isEmpty else { throw first.error(at: first.bytes.count, "entry '\(dn)' has no attributes") }
        return .content(Entry(dn: dn, attributes: try attributes(body)))
    }

    // dn-spec = "dn:" (FILL distinguishedName / ":" FILL base64-distinguishedName)
    func distinguishedName(_ line: LogicalLine, _ value: LineValue) throws(LDIFError) -> DN {
        guard String(validating: value.bytes, as: UTF8.self) != nil else {
            throw line.error(at: value.offset, "DN is not valid UTF-8")
        }
        do {
            return try DN(parsing: value.bytes)
        } catch {
            throw line.error(at: value.isEncoded ? value.offset : value.offset + error.offset, "invalid DN: \(error.reason)")
        }
    }

    // control = "control:" FILL ldap-oid 0*1(1*SPACE ("true" / "false")) 0*1(value-spec) SEP
    func control(_ line: LogicalLine) throws(LDIFError) -> Control {
        let bytes = line.bytes
        var index = bytes.firstIndex(of: UInt8(ascii: ":"))! + 1
        while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
        let oidStart = index
        while index < bytes.count, bytes[index] != UInt8(ascii: " "), bytes[index] != UInt8(ascii: ":") { index += 1 }
        let oid = String(decoding: bytes[oidStart..<index], as: UTF8.self)
        guard OID.isValid(oid) else { throw line.error(at: oidStart, "'\(oid)' is not a valid control OID") }
        while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
        var critical = false
        if index < bytes.count, bytes[index] != UInt8(ascii: ":") {
            let wordStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: " "), bytes[index] != UInt8(ascii: ":") { index += 1 }
            switch String(decoding: bytes[wordStart..<index], as: UTF8.self) {
            case "true": critical = true
            case "false": critical = false
            case let word: throw line.error(at: wordStart, "control criticality must be 'true' or 'false', not '\(word)'")
            }
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
        }
        var value: [UInt8]?
        if index < bytes.count {
            guard bytes[index] == UInt8(ascii: ":") else { throw line.error(at: index, "unexpected text after the control's criticality") }
            value = try valueSpec(line, colon: index).bytes
        }
        return Control(oid: oid, isCritical: critical, value: value)
    }

    // change-add = "add" SEP 1*attrval-spec
    func addAttributes(_ body: [LogicalLine], after typeLine: LogicalLine) throws(LDIFError) -> [Attribute] {
        guard !body.isEmpty else { throw typeLine.error(at: typeLine.bytes.count, "an add record needs at least one attribute") }
        return try attributes(body)
    }

    // 1*attrval-spec, the lines of an entry; repeated attributes merged in first-seen order
    func attributes(_ body: [LogicalLine]) throws(LDIFError) -> [Attribute] {
        var attributes: [Attribute] = []
        attributes.reserveCapacity(body.count)
        for (place, line) in body.enumerated() {
            if line.isSeparator { throw line.error(at: 0, "'-' separates modifications and is only allowed in a modify record") }
            let (name, value) = try attributeValue(line)
            // (The entries of a file mostly list the same names in the same order: each is checked once.)
            let known = names.value(at: place, isSame: { $0 == name }) { (name, AttributeDescription(name)) }
            guard let known else { throw line.error(at: 0, "'\(name)' is not a valid attribute description") }
            attributes.append(Attribute(known, values: [value.bytes]))
        }
        return Entry(dn: .root, attributes: attributes).mergedAttributes
    }

    // change-modify = "modify" SEP *mod-spec
    // mod-spec = ("add:" / "delete:" / "replace:" / "increment:") FILL AttributeDescription SEP *attrval-spec "-" SEP
    func modifications(_ body: [LogicalLine]) throws(LDIFError) -> [Modification] {
        var result: [Modification] = []
        var index = 0
        while index < body.count {
            let opLine = body[index]
            if opLine.isSeparator { throw opLine.error(at: 0, "'-' with no modification before it") }
            let (name, target) = try attributeValue(opLine)
            guard let operation = Modification.Operation(rawValue: name.lowercased()) else {
                throw opLine.error(
                    at: 0, "'\(name):' is not a modify operation (expected add:, delete:, replace: or increment:; is a '-' line missing before it?)")
            }
            let targetText = String(decoding: target.bytes, as: UTF8.self)
            guard let attribute = AttributeDescription(targetText) else {
                throw opLine.error(at: target.offset, "'\(targetText)' is not a valid attribute description")
            }
            index += 1
            var values: [[UInt8]] = []
            let firstValue = index
            while index < body.count, !body[index].isSeparator {
                let line = body[index]
                let (valueName, value) = try attributeValue(line)
                guard let valueAttribute = AttributeDescription(valueName), valueAttribute.matches(attribute) else {
                    throw line.error(
                        at: 0, "'\(valueName)' does not match '\(attribute)' of this '\(operation.rawValue):' (is a '-' line missing before it?)")
                }
                values.append(value.bytes)
                index += 1
            }
            switch operation {
            case .add where values.isEmpty:
                throw opLine.error(at: 0, "'add: \(attribute)' needs at least one value")
            case .increment where values.isEmpty:
                throw opLine.error(at: opLine.bytes.count, "'increment: \(attribute)' needs exactly one value, found none")
            case .increment where values.count > 1:
                throw body[firstValue + 1].error(at: 0, "'increment: \(attribute)' takes exactly one value; this is a second one")
            default: break
            }
            result.append(Modification(operation, attribute, values: values))
            index += 1  // the '-' line (RFC 2849 requires it; a missing one at the very end is tolerated)
        }
        return result
    }

    // change-moddn = ("modrdn" / "moddn") SEP "newrdn:" ( FILL rdn / ":" FILL base64-rdn) SEP
    //                "deleteoldrdn:" FILL ("0" / "1") SEP 0*1("newsuperior:" ( FILL distinguishedName / ":" FILL base64-distinguishedName) SEP)
    func modifyDN(_ body: [LogicalLine], after typeLine: LogicalLine) throws(LDIFError) -> ChangeRecord.Change {
        guard let rdnLine = body.first else { throw typeLine.error(at: typeLine.bytes.count, "a modrdn record needs 'newrdn:'") }
        let (rdnName, rdnValue) = try attributeValue(rdnLine)
        guard rdnName.lowercased() == "newrdn" else { throw rdnLine.error(at: 0, "expected 'newrdn:', found '\(rdnName):'") }
        let rdnDN = try distinguishedName(rdnLine, rdnValue)
        guard rdnDN.rdns.count == 1, let newRDN = rdnDN.rdn else {
            throw rdnLine.error(at: rdnValue.offset, "newrdn must be exactly one RDN, found \(rdnDN.rdns.count)")
        }
        guard body.count >= 2 else { throw rdnLine.error(at: rdnLine.bytes.count, "a modrdn record needs 'deleteoldrdn: 0' or 'deleteoldrdn: 1'") }
        let (deleteName, deleteValue) = try attributeValue(body[1])
        guard deleteName.lowercased() == "deleteoldrdn" else {
            throw body[1].error(at: 0, "expected 'deleteoldrdn:', found '\(deleteName):'")
        }
        let deleteOld: Bool
        switch deleteValue.bytes {
        case [UInt8(ascii: "0")]: deleteOld = false
        case [UInt8(ascii: "1")]: deleteOld = true
        default:
            throw body[1].error(at: deleteValue.offset, "deleteoldrdn must be 0 or 1, not '\(String(decoding: deleteValue.bytes, as: UTF8.self))'")
        }
        var newSuperior: DN?
        if body.count >= 3 {
            let (superiorName, superiorValue) = try attributeValue(body[2])
            guard superiorName.lowercased() == "newsuperior" else {
                throw body[2].error(at: 0, "expected 'newsuperior:' or the end of the record, found '\(superiorName):'")
            }
            newSuperior = try distinguishedName(body[2], superiorValue)
        }
        if body.count > 3 { throw body[3].error(at: 0, "unexpected line after 'newsuperior:' in a modrdn record") }
        return .modifyDN(newRDN: newRDN, deleteOldRDN: deleteOld, newSuperior: newSuperior)
    }
}
