import LDAPModel
import LDIF
import TestSupport
import Testing

/// Random damage to real files: the reader either reads records that write back to themselves, or
/// answers with a positioned error; never a crash or a hang. (scripts/fuzz does the same at length.)
struct LDIFStressTests {
    @Test func mutatedFilesNeverCrash() throws {
        var random = SeededGenerator(seed: 2849)
        let seeds = try ["rfc2849/example1.ldif", "rfc2849/example4.ldif", "rfc2849/example6.ldif", "rfc2849/example7.ldif"].map(Fixtures.bytes)
        let interesting: [UInt8] = Array(":<- \n\r#=,+\\\"".utf8) + [0, 0x80, 0xC3, 0xFF]
        var parsed = 0
        var refused = 0
        for round in 0..<3000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<Int.random(in: 1...8, using: &random) where !bytes.isEmpty {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[index] = interesting.randomElement(using: &random)!
                case 1: bytes.remove(at: index)
                case 2: bytes.insert(interesting.randomElement(using: &random)!, at: index)
                default: bytes[index] = UInt8.random(in: 0...255, using: &random)
                }
            }
            do {
                let records = try LDIFReader.records(in: bytes, options: .init(allowUTF8Values: true))
                parsed += 1
                let again = try LDIFReader.records(in: LDIFWriter().render(records))
                #expect(again == records, "round \(round): written records read back differently")
            } catch {
                refused += 1
                #expect(error.line >= 1 && error.column >= 1, "round \(round): \(error)")
            }
        }
        #expect(parsed > 100 && refused > 100, "the mutations exercise both paths (\(parsed) read, \(refused) refused)")
    }

    @Test func hostileShapes() {
        let cases: [[UInt8]] = [
            Array(repeating: UInt8(ascii: " "), count: 100_000),
            Array(repeating: UInt8(ascii: "\n"), count: 100_000),
            Array("dn: ".utf8) + Array(repeating: UInt8(ascii: ","), count: 50_000),
            Array("dn: cn=x\n".utf8) + Array(String(repeating: " a\n", count: 20_000).utf8),
            Array("dn: cn=x\ncn:: ".utf8) + Array(repeating: UInt8(ascii: "="), count: 10_000),
            Array(String(repeating: "# comment\n folded comment\n", count: 10_000).utf8),
            Array("version: 1\n\n".utf8) + Array(repeating: 0, count: 1000),
            [0xEF, 0xBB, 0xBF] + Array("dn: cn=x\ncn: x\n".utf8),
        ]
        for bytes in cases {
            _ = try? LDIFReader.records(in: bytes)
        }
        #expect(throws: LDIFError.self) { try LDIFReader.records(in: cases[2]) }
    }
}
