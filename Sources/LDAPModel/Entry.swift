/// One attribute of an entry: a description and its values, in order. Values are bytes.
public struct Attribute: Hashable, Sendable {
    public var description: AttributeDescription
    public var values: [[UInt8]]

    public init(_ description: AttributeDescription, values: [[UInt8]]) {
        self.description = description
        self.values = values
    }

    public init(_ description: AttributeDescription, strings: [String]) {
        self.init(description, values: strings.map { Array($0.utf8) })
    }
}

/// A directory entry: a DN and its attributes in the order they were given or returned.
public struct Entry: Hashable, Sendable {
    public var dn: DN
    public var attributes: [Attribute]

    public init(dn: DN, attributes: [Attribute]) {
        self.dn = dn
        self.attributes = attributes
    }

    /// All values of the attributes whose description matches `name` (type and options, case-insensitive).
    public func values(_ name: AttributeDescription) -> [[UInt8]] {
        attributes.filter { $0.description.matches(name) }.flatMap(\.values)
    }

    /// The values of `name` that are valid UTF-8, as strings.
    public func strings(_ name: AttributeDescription) -> [String] {
        values(name).compactMap { String(validating: $0, as: UTF8.self) }
    }

    /// Attributes with the same description merged, in first-seen order.
    public var mergedAttributes: [Attribute] {
        // Most entries name each attribute once (and have few): then there is nothing to merge.
        if attributes.count <= 32,
            !attributes.indices.contains(where: { index in attributes[..<index].contains { $0.description.matches(attributes[index].description) } })
        {
            return attributes
        }
        var order: [String] = []
        var merged: [String: Attribute] = [:]
        for attribute in attributes {
            let key = attribute.description.normalized
            if merged[key] == nil {
                order.append(key)
                merged[key] = Attribute(attribute.description, values: [])
            }
            merged[key]?.values.append(contentsOf: attribute.values)
        }
        return order.compactMap { merged[$0] }
    }
}
