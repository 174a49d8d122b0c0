import Config
import Logging
import MailDrop
import Replication

/// Opens the LDAP connection and the drop for one command, runs `body`, closes both; maps failures
/// to exit codes.
enum Session {
    static func with<T>(
        _ configuration: Configuration, logger: Logger, readOnly: Bool = false, _ body: (SyncEngine) async throws(SyncError) -> T
    ) async throws -> T {
        let drop: any MailDrop
        do {
            drop = try configuration.makeDrop(readOnly: readOnly)
        } catch {
            printError("\(error)")
            throw Exit.configuration
        }
        let connection = try await Exit.connect(configuration, logger: logger)
        let engine = SyncEngine(configuration: configuration, connection: connection, drop: drop, logger: logger)
        let result: Result<T, SyncError>
        do {
            result = .success(try await body(engine))
        } catch {
            result = .failure(error)
        }
        await connection.close()
        await drop.close()
        switch result {
        case .success(let value): return value
        case .failure(.ldap(let error)): throw Exit.report(error, refusal: Exit.unavailable)
        case .failure(.mail(let error)):
            printError("mail drop: \(error)")
            throw error.kind == .configuration ? Exit.configuration : Exit.unavailable
        case .failure(.configuration(let reason)):
            printError(reason)
            throw Exit.configuration
        }
    }
}
