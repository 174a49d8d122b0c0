import Foundation

/// A server started by one of the scripts/*-sandbox scripts in a temporary directory of its own:
/// the variables the script printed, and a stop that runs once (then removes the directory).
final class Sandbox: @unchecked Sendable {
    let script: String
    let directory: URL
    let values: [String: String]
    private let lock = NSLock()
    private var running = true

    init(script: String, name: String, arguments: [String]) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bridgehead-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let output = try Command.run(script, ["start", directory.path] + arguments)
        guard output.status == 0 else {
            try? FileManager.default.removeItem(at: directory)
            throw HarnessError(message: "\(URL(fileURLWithPath: script).lastPathComponent) start failed (\(output.status)): \(output.stderr)")
        }
        var values: [String: String] = [:]
        for line in output.stdout.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...]).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
        self.script = script
        self.directory = directory
        self.values = values
    }

    deinit { stop() }

    /// The variable's value; nil when absent or empty.
    subscript(_ name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

    /// Runs another command of the sandbox script on this directory (e.g. "halt").
    func run(_ command: String) throws -> Command.Output {
        try Command.run(script, [command, directory.path])
    }

    func stop() {
        lock.lock()
        let wasRunning = running
        running = false
        lock.unlock()
        guard wasRunning else { return }
        _ = try? Command.run(script, ["stop", directory.path])
        try? FileManager.default.removeItem(at: directory)
    }
}
