import Addressing
import Foundation
import Testing

/// Fixtures/addresses.tsv: addresses from MS-OXCMAIL, Exchange KB articles and hand-made edge cases,
/// with the type, canonical form and equivalence class each must have (docs/addressing-research.md).
struct AddressTableTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var input: String
        var type: String
        var address: String
        var canonical: String
        var equivalence: String
        var imceaDomain: String
        var error: String
        var note: String
        var testDescription: String { input.count > 60 ? String(input.prefix(60)) + "…" : input }
    }

    static let rows: [Row] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/addresses.tsv")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("input\t") }.compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 8 else { return nil }
            return Row(
                input: unescape(fields[0]), type: fields[1], address: fields[2], canonical: fields[3], equivalence: fields[4],
                imceaDomain: fields[5], error: fields[6], note: fields[7])
        }
    }()

    /// `\xHH` in the table stands for that byte.
    static func unescape(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let range = rest.range(of: "\\x"), rest.distance(from: range.upperBound, to: rest.endIndex) >= 2,
            let byte = UInt8(rest[range.upperBound..<rest.index(range.upperBound, offsetBy: 2)], radix: 16)
        {
            out += rest[..<range.lowerBound]
            out.unicodeScalars.append(Unicode.Scalar(byte))
            rest = rest[rest.index(range.upperBound, offsetBy: 2)...]
        }
        return out + rest
    }

    @Test func tableIsLargeEnough() {
        #expect(Self.rows.count >= 150)
        #expect(Self.rows.filter { !$0.error.isEmpty }.count >= 25)
    }

    @Test(arguments: rows)
    func row(_ row: Row) {
        do {
            let address = try AddressParser.parse(row.input)
            guard row.error.isEmpty else {
                Issue.record("accepted, expected \(row.error) (\(row.note)); read as \(address.canonical)")
                return
            }
            #expect(address.type == row.type, "\(row.note)")
            #expect(address.canonical == row.canonical, "\(row.note)")
            #expect((address.imceaDomain ?? "") == row.imceaDomain, "\(row.note)")
        } catch {
            #expect(!row.error.isEmpty, "refused: \(error.reason) (\(row.note))")
        }
    }

    @Test func equivalenceClasses() throws {
        var classes: [String: Set<String>] = [:]
        for row in Self.rows where !row.equivalence.isEmpty && row.error.isEmpty {
            guard let address = try? AddressParser.parse(row.input) else { continue }
            classes[row.equivalence, default: []].insert(address.canonical)
        }
        for (name, canonicals) in classes.sorted(by: { $0.key < $1.key }) {
            #expect(canonicals.count == 1, "class \(name): \(canonicals.sorted())")
        }
        let all = classes.values.compactMap(\.first)
        #expect(Set(all).count == all.count, "distinct classes never share a canonical form")
    }

    /// decode → IMCEA encode → decode gives the same address, for every valid row whose type IMCEA can carry.
    @Test func everyValidRowRoundTripsThroughIMCEA() throws {
        var checked = 0
        for row in Self.rows where row.error.isEmpty {
            guard let address = try? AddressParser.parse(row.input), address.type.allSatisfy({ $0.isLetter || $0.isNumber }) else { continue }
            let encoded = IMCEA.encode(type: address.type, address: address.value, domain: "gw.example.com")
            let again = try AddressParser.parse(encoded)
            #expect(again.canonical == address.canonical || address.isUnknownType, "\(row.input) → \(encoded)")
            checked += 1
        }
        #expect(checked >= 150)
    }
}
