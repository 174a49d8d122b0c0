/// One header field: its name as written and its value unfolded (line breaks of folds removed).
public struct HeaderField: Sendable, Hashable {
    public let name: String
    /// The value's bytes, unfolded, without the white space after the colon.
    public let rawValue: [UInt8]

    /// The value as text: bytes as UTF-8 (or Latin-1 when they are not), RFC 2047 encoded words decoded.
    public var value: String { EncodedWord.decode(rawText) }

    /// The value without decoding encoded words.
    public var rawText: String {
        String(validating: rawValue, as: UTF8.self) ?? String(String.UnicodeScalarView(rawValue.map { Unicode.Scalar($0) }))
    }
}

/// A header section: its fields in order, repeated names kept.
public struct MIMEHeader: Sendable, Hashable {
    public let fields: [HeaderField]

    /// The first field named `name` (case-insensitive), decoded.
    public subscript(_ name: String) -> String? { field(name)?.value }

    public func field(_ name: String) -> HeaderField? {
        let lower = name.lowercased()
        return fields.first { $0.name.lowercased() == lower }
    }

    /// Every field named `name`, in order.
    public func all(_ name: String) -> [HeaderField] {
        let lower = name.lowercased()
        return fields.filter { $0.name.lowercased() == lower }
    }
}
