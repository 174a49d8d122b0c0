import LDAPModel
import Testing

/// Attribute descriptions compare as their normalised forms do (type and options, ignoring case);
/// the comparison that makes no String says what that one says, and leaves to it what only
/// `lowercased()` can say (bytes outside ASCII).
struct AttributeDescriptionTests {
    @Test(arguments: [
        ("cn", "cn"), ("cn", "CN"), ("objectClass", "objectclass"), ("objectClass", "objectClas"), ("sn", "cn"),
        ("telephoneNumber", "TELEPHONENUMBER"), ("a-1", "A-1"), ("", ""), ("", "x"), ("2.5.4.3", "2.5.4.3"), ("2.5.4.3", "2.5.4.4"),
        ("cn;lang-en", "CN;LANG-EN"), ("cn;lang-en", "cn"), ("cn;b;a", "cn;A;B"), ("k", "\u{212A}"), ("é", "É"), ("é", "e"),
        ("[", "{"), ("@", "`"), ("cné", "sn"), ("cn", "cné"), ("aΣ", "a"), ("aΣ", "AΣ"), ("ς", "σ"), ("\u{130}", "i\u{307}"),
    ])
    func matchesAsTheNormalisedFormsDo(_ left: String, _ right: String) {
        let a = AttributeDescription(left) ?? AttributeDescription(type: left)
        let b = AttributeDescription(right) ?? AttributeDescription(type: right)
        #expect(a.matches(b) == (a.normalized == b.normalized), "\(left) / \(right)")
        #expect(b.matches(a) == a.matches(b))
        #expect(a.hasType(b.type) == (a.type.lowercased() == b.type.lowercased()), "\(left) / \(right)")
        if let fast = AttributeDescription.equalIgnoringASCIICase(left, right) {
            #expect(fast == (left.lowercased() == right.lowercased()), "\(left) / \(right)")
        } else {
            #expect(!(left.utf8.allSatisfy { $0 < 0x80 } && right.utf8.allSatisfy { $0 < 0x80 }), "ASCII is always answered")
        }
    }

    /// The attributes of an entry merge by what they name, and an entry whose attributes are all
    /// different is handed back as it is.
    @Test func mergedAttributesJoinWhatNamesTheSameThing() {
        let entry = Entry(
            dn: .root,
            attributes: [
                Attribute("cn", strings: ["a"]), Attribute("CN", strings: ["b"]), Attribute("cn;lang-en", strings: ["c"]),
                Attribute("Cn;LANG-EN", strings: ["d"]), Attribute("sn", strings: ["e"]),
            ])
        #expect(entry.mergedAttributes.map(\.description.description) == ["cn", "cn;lang-en", "sn"])
        #expect(entry.mergedAttributes.map(\.values.count) == [2, 2, 1])
        let distinct = Entry(dn: .root, attributes: [Attribute("cn", strings: ["a"]), Attribute("sn", strings: ["b"])])
        #expect(distinct.mergedAttributes == distinct.attributes)
    }
}
