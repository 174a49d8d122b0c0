import Foundation
import TOMLKit

/// Typed access to one TOML table, with errors that name the key.
struct TableReader {
    let table: TOMLTable
    let file: String
    let base: URL
    var prefix = ""

    private func wrong(_ key: String, _ expected: String) -> ConfigurationError {
        ConfigurationError(file: file, key: prefix + key, reason: "must be \(expected)")
    }

    func table(_ key: String) throws(ConfigurationError) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        guard let result = value.table else { throw wrong(key, "a table ([\(prefix + key)])") }
        return result
    }

    /// An array of tables (`[[key]]`, or `key = [{…}, {…}]`); empty when absent.
    func tables(_ key: String) throws(ConfigurationError) -> [TOMLTable] {
        guard let value = table[key] else { return [] }
        guard let array = value.array else { throw wrong(key, "an array of tables ([[\(prefix + key)]])") }
        var result: [TOMLTable] = []
        for element in array {
            guard let item = element.table else { throw wrong(key, "an array of tables ([[\(prefix + key)]])") }
            result.append(item)
        }
        return result
    }

    func strings(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw wrong(key, "an array of strings") }
        var result: [String] = []
        for element in array {
            guard let text = element.string else { throw wrong(key, "an array of strings") }
            result.append(text)
        }
        return result
    }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = table[key] else { return nil }
        guard let result = value.string else { throw wrong(key, "a string in quotes") }
        return result
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let result = value.bool else { throw wrong(key, "true or false") }
        return result
    }

    func double(_ key: String) throws(ConfigurationError) -> Double? {
        guard let value = table[key] else { return nil }
        if let result = value.double { return result }
        if let result = value.int { return Double(result) }
        throw wrong(key, "a number")
    }

    /// A whole number (-1 for "no limit" where a key allows it).
    func integer(_ key: String) throws(ConfigurationError) -> Int? {
        guard let value = table[key] else { return nil }
        if let result = value.int { return result }
        if let result = value.double, result == result.rounded(), abs(result) < 1e15 { return Int(result) }
        throw wrong(key, "a whole number")
    }

    /// A file path; a relative one is taken from the configuration file's directory.
    func path(_ key: String) throws(ConfigurationError) -> String? {
        guard let text = try string(key) else { return nil }
        if text.hasPrefix("/") { return text }
        return base.appendingPathComponent(text).standardizedFileURL.path
    }
}
