import Coding

/// The few pieces of BER (X.690) the model needs: control values and filters.
public enum BER {
    /// Tag, definite length, contents.
    public static func tlv(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
        [tag] + length(contents.count) + contents
    }

    static func length(_ count: Int) -> [UInt8] { DERLength.encode(count) }

    public static func octetString(_ bytes: [UInt8], tag: UInt8 = 0x04) -> [UInt8] { tlv(tag, bytes) }

    public static func sequence(_ parts: [[UInt8]], tag: UInt8 = 0x30) -> [UInt8] { tlv(tag, parts.flatMap { $0 }) }

    /// A non-negative INTEGER in the fewest bytes two's complement allows.
    public static func integer(_ value: Int, tag: UInt8 = 0x02) -> [UInt8] {
        var bytes: [UInt8] = []
        var remaining = value
        repeat {
            bytes.insert(UInt8(remaining & 0xFF), at: 0)
            remaining >>= 8
        } while remaining > 0
        if bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        return tlv(tag, bytes)
    }

    public static func boolean(_ value: Bool, tag: UInt8 = 0x01) -> [UInt8] { tlv(tag, [value ? 0xFF : 0x00]) }

    /// `SEQUENCE OF OCTET STRING`, e.g. the attribute list of a pre/post-read control.
    public static func sequenceOfOctetStrings(_ strings: [String]) -> [UInt8] {
        sequence(strings.map { octetString(Array($0.utf8)) })
    }

    /// One decoded element: its tag and contents.
    public struct Element: Sendable, Hashable {
        public var tag: UInt8
        public var contents: [UInt8]
    }

    public struct DecodingError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { "malformed BER: \(reason)" }
    }

    /// Splits `bytes` into consecutive TLV elements (definite lengths only, one-byte tags).
    public static func elements(_ bytes: [UInt8]) throws(DecodingError) -> [Element] {
        var result: [Element] = []
        var index = 0
        while index < bytes.count {
            let tag = bytes[index]
            guard tag & 0x1F != 0x1F else { throw DecodingError(reason: "multi-byte tags are not supported") }
            guard index + 1 < bytes.count else { throw DecodingError(reason: "truncated length") }
            var length = Int(bytes[index + 1])
            var header = 2
            if length & 0x80 != 0 {
                let count = length & 0x7F
                guard count > 0, count <= 4, index + 2 + count <= bytes.count else {
                    throw DecodingError(reason: "unsupported or truncated length")
                }
                length = bytes[(index + 2)..<(index + 2 + count)].reduce(0) { $0 << 8 | Int($1) }
                header = 2 + count
            }
            let start = index + header
            guard length >= 0, start + length <= bytes.count else { throw DecodingError(reason: "element runs past the end") }
            result.append(Element(tag: tag, contents: Array(bytes[start..<(start + length)])))
            index = start + length
        }
        return result
    }

    /// Decodes a SearchResultEntry (`[APPLICATION 4] SEQUENCE { objectName, attributes }`), the value
    /// of a pre-read or post-read response control (RFC 4527).
    public static func searchResultEntry(_ bytes: [UInt8]) throws(DecodingError) -> Entry {
        let outer = try elements(bytes)
        guard outer.count == 1, outer[0].tag == 0x64 else { throw DecodingError(reason: "not a SearchResultEntry") }
        let parts = try elements(outer[0].contents)
        guard parts.count == 2, parts[0].tag == 0x04, parts[1].tag == 0x30 else {
            throw DecodingError(reason: "SearchResultEntry has the wrong shape")
        }
        guard let dn = try? DN(parsing: parts[0].contents) else { throw DecodingError(reason: "objectName is not a DN") }
        var attributes: [Attribute] = []
        for partial in try elements(parts[1].contents) {
            let fields = try elements(partial.contents)
            guard partial.tag == 0x30, fields.count == 2, fields[0].tag == 0x04, fields[1].tag == 0x31 else {
                throw DecodingError(reason: "PartialAttribute has the wrong shape")
            }
            let name = String(decoding: fields[0].contents, as: UTF8.self)
            let values = try elements(fields[1].contents).map(\.contents)
            attributes.append(Attribute(AttributeDescription(name) ?? AttributeDescription(type: name), values: values))
        }
        return Entry(dn: dn, attributes: attributes)
    }
}
