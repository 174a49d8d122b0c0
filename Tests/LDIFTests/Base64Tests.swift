import Coding
import Foundation
import TestSupport
import Testing

/// The base64 codec LDIF and MIME share: against Foundation's on every length and many random
/// inputs, and every refusal with the offset it names.
struct Base64Tests {
    @Test func agreesWithFoundationOnEveryLengthAndRandomBytes() throws {
        var generator = SeededGenerator(seed: 64)
        for length in Array(0...70) + [1000, 4093, 65537] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let encoded = Base64.encode(bytes)
            #expect(encoded == Data(bytes).base64EncodedString(), "length \(length)")
            #expect(try Base64.decode(Array(encoded.utf8)) == bytes, "length \(length)")
            // MIME's form: lines of 76, CRLF, decoded with whitespace ignored.
            let mime = Data(bytes).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
            #expect(try Base64.decode(Array(mime.utf8), options: .init(ignoresWhitespace: true, allowsMissingPadding: false)) == bytes)
            // A slice not starting at zero, and a collection that is not contiguous.
            let padded = Array("xx".utf8) + Array(encoded.utf8)
            #expect(try Base64.decode(padded[2...]) == bytes)
            #expect(try Base64.decode(Array(encoded.utf8).lazy.map { $0 }) == bytes)
        }
    }

    @Test(arguments: [
        ("QQ", "missing"), ("QQ=", "wrong place"), ("Q", "middle of a group"), ("QUJD=", "wrong place"), ("=QUJ", "wrong place"),
        ("QQ==QQ==", "after the '=' padding"), ("QU*D", "'*' is not a base64 character"), ("QU\u{0}D", "byte 0x0"),
        ("QU D", "byte 0x20"), ("QUJD\n", "byte 0xa"),
    ])
    func refusals(_ text: String, _ reason: String) {
        #expect {
            try Base64.decode(Array(text.utf8))
        } throws: { ($0 as? Base64.DecodingError)?.reason.contains(reason) == true || "\($0)".contains(reason) }
    }

    @Test func offsetsPointAtTheFault() {
        for (text, offset) in [("QUJDQU*D", 6), ("QUJD=", 4), ("QQ==QQ==", 4), ("QUJDQ", 5)] {
            do {
                _ = try Base64.decode(Array(text.utf8))
                Issue.record("\(text) accepted")
            } catch {
                #expect(error.offset == offset, "\(text): \(error)")
            }
        }
    }

    /// A character outside the alphabet at any place of a long value (where four at a time are
    /// decoded) is refused at its offset; the value around it decodes as before.
    @Test func aBadCharacterAnywhereIsFoundAtItsOffset() throws {
        let bytes = (0..<60).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let encoded = Array(Base64.encode(bytes).utf8)
        #expect(try Base64.decode(encoded) == bytes)
        for offset in encoded.indices {
            for bad: UInt8 in [UInt8(ascii: "*"), 0x80, 0xFF, UInt8(ascii: "-"), UInt8(ascii: "_")] {
                var broken = encoded
                broken[offset] = bad
                do {
                    _ = try Base64.decode(broken)
                    Issue.record("byte \(bad) at \(offset) accepted")
                } catch {
                    #expect(error.offset == offset && error.reason.contains("not a base64 character"), "\(offset): \(error)")
                }
            }
        }
    }

    @Test func leniencyIsAskedFor() throws {
        let lenient = Base64.DecodingOptions(ignoresWhitespace: true, allowsMissingPadding: true)
        #expect(try Base64.decode(Array("QUJ\r\nDRA".utf8), options: lenient) == Array("ABCD".utf8))
        #expect(throws: Base64.DecodingError.self) { try Base64.decode(Array("QUJDRA".utf8)) }
    }
}
