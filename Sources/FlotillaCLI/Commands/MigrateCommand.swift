import ArgumentParser
import FlotillaCoordinator
import Foundation
import Logging

/// `flotilla migrate --to postgres://...`: moves a stopped coordinator's embedded fleet into
/// PostgreSQL.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy this coordinator's embedded fleet (DATA/flotilla.sqlite) into an empty PostgreSQL database.",
        discussion: """
            Stop the coordinator first. Every node, token, certificate serial, release, rollout, usage record, budget figure, \
            event, audit entry and dashboard session is copied in one transaction; the row counts and the audit chain are \
            verified before it commits, so a failed migration leaves the database empty. The nodes keep their certificates \
            and carry on once `flotilla serve --data-dir DATA --database URL` runs. The SQLite file is left as it was; a \
            marker in DATA stops a plain `serve` from going on with it.
            """
    )

    @Option(help: "The target: postgres://USER@HOST:PORT/DB (empty; its password from the URL's passfile=PATH or --database-password-file).")
    var to: String

    @Option(help: "A file (0600) whose first line is the database password (also $FLOTILLA_DATABASE_PASSWORD_FILE).")
    var databasePasswordFile: String?

    @Option(help: "The coordinator's data directory. Default: $FLOTILLA_DATA_DIR or ~/.local/share/flotilla.")
    var dataDir: String?

    func run() async throws {
        let url: DatabaseURL
        do { url = try DatabaseURL(to) } catch { throw ValidationError("--to: \(error.message)") }
        let directory = DataDirectory(dataDir ?? DataDirectory.defaultPath)
        var logger = Logger(label: "flotilla.migrate")
        logger.logLevel = .warning
        let started = Date()
        let report: FleetMigration.Report
        do {
            report = try await FleetMigration.run(
                directory: directory, to: url,
                passwordFile: databasePasswordFile ?? ProcessInfo.processInfo.environment["FLOTILLA_DATABASE_PASSWORD_FILE"], logger: logger)
        } catch {
            throw CLIError(error.message)
        }
        var table = TextTable(headers: ["TABLE", "ROWS"])
        for (name, rows) in report.tables { table.add([name, "\(rows)"]) }
        print(table.render())
        print("Copied \(report.tables.reduce(0) { $0 + $1.rows }) rows in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; "
              + "counts match and the audit chain (\(report.auditEntries) entries) verifies in \(url).")
        print("Next: flotilla serve --data-dir \(directory.path) --database '\(url.argument)'")
    }
}
