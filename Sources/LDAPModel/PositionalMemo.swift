/// What was worked out for each item of a sequence, by position, kept for the next sequence. The
/// entries of one search and the records of one message mostly name the same attributes in the
/// same order: what was worked out for the name at a place (a String made and checked, a key
/// looked up) is reused while the name there is the same.
///
/// (Inlinable, so that it is specialised where it is used: it runs for every attribute of every
/// entry of a large search or message.)
public struct PositionalMemo<Key, Value> {
    @usableFromInline var keys: [Key] = []
    @usableFromInline var values: [Value] = []

    @inlinable public init() {}

    /// The value kept at `index` when `isSame` says its key is the one there now; otherwise what
    /// `make` gives (the key and its value), kept there.
    @inlinable
    public mutating func value(at index: Int, isSame: (Key) -> Bool, make: () -> (Key, Value)) -> Value {
        if index < keys.count, isSame(keys[index]) { return values[index] }
        let (key, value) = make()
        if index < keys.count {
            keys[index] = key
            values[index] = value
        } else if index == keys.count {
            keys.append(key)
            values.append(value)
        }
        return value
    }
}
