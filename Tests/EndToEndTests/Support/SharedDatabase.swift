import Foundation
import Testing

/// A fresh PostgreSQL database on the test server (`scripts/test.sh` starts it and exports
/// `FLOTILLA_TEST_POSTGRES_URL`), created and dropped with Debian's `psql`, and queried with it
/// to check what the coordinators stored.
struct SharedDatabase {
    /// The database's URL for `flotilla serve --database`.
    let url: String
    let name: String
    private let admin: URLComponents

    /// Whether the PostgreSQL tests run: a server is configured, or the test command requires
    /// one (`FLOTILLA_REQUIRE_POSTGRES=1`), so a missing server fails rather than skips there.
    static var available: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["FLOTILLA_TEST_POSTGRES_URL"] != nil || environment["FLOTILLA_REQUIRE_POSTGRES"] == "1"
    }

    /// Creates a database named after `label`.
    static func create(_ label: String) throws -> SharedDatabase {
        guard let text = ProcessInfo.processInfo.environment["FLOTILLA_TEST_POSTGRES_URL"], var components = URLComponents(string: text) else {
            throw TestFailure("FLOTILLA_TEST_POSTGRES_URL is not set: run scripts/test.sh, or scripts/postgres.sh start DIR")
        }
        let name = "flotilla_e2e_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
        let database = SharedDatabase(url: "", name: name, admin: components)
        _ = try database.psql(["-d", String(components.path.dropFirst()), "-c", "CREATE DATABASE \(name)"])
        components.path = "/" + name
        return SharedDatabase(url: components.string!, name: name, admin: database.admin)
    }

    private init(url: String, name: String, admin: URLComponents) {
        self.url = url
        self.name = name
        self.admin = admin
    }

    /// Drops the database (its coordinators stopped or not).
    func drop() {
        _ = try? psql(["-d", String(admin.path.dropFirst()), "-c", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
    }

    /// The single value `sql` selects in this database, as text.
    func value(_ sql: String) throws -> String {
        try psql(["-d", name, "-At", "-c", sql]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func psql(_ arguments: [String]) throws -> String {
        let passfile = admin.queryItems?.first { $0.name == "passfile" }?.value ?? ""
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-h", admin.host ?? "127.0.0.1", "-p", String(admin.port ?? 5432), "-U", admin.user ?? "flotilla", "-v", "ON_ERROR_STOP=1"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["PGPASSFILE": passfile]) { _, new in new }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("psql \(arguments.joined(separator: " ")) failed: \(String(decoding: problem, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A second coordinator of a `TestFleet`'s fleet: the first one's keys exported into a data
/// directory of its own (`flotilla keys export-coordinator`), on the same database.
final class PeerCoordinator: @unchecked Sendable {
    // @unchecked: mutable state (`process`, `url`) is only touched from the test's own task.
    let fleet: TestFleet
    let dataDirectory: String
    private let arguments: [String]
    private(set) var process: ChildProcess
    private(set) var url: String

    /// Starts the peer and waits until it announced itself in `database`'s membership table (so
    /// `flotilla provision` lists it).
    init(_ fleet: TestFleet, database: SharedDatabase, label: String, heartbeatInterval: String = "1s") throws {
        self.fleet = fleet
        dataDirectory = fleet.root + "/data-\(label)"
        let exported = try fleet.cli(["keys", "export-coordinator", "--out", dataDirectory])
        guard exported.status == 0 else { throw TestFailure("export-coordinator failed: \(exported.stderr)") }
        arguments = ["serve", "--data-dir", dataDirectory, "--listen", "127.0.0.1:0", "--heartbeat-interval", heartbeatInterval,
                     "--database", database.url]
        (process, url) = try TestFleet.startCoordinator(serveArguments: arguments, root: fleet.root, label: label, dataDirectory: dataDirectory)
        fleet.adopt(process)
        let announced = "SELECT count(*) FROM coordinators WHERE url = '\(url)'"
        guard try fleet.eventually(timeout: 10, { try database.value(announced) == "1" }) else {
            throw TestFailure("\(label) never announced itself at \(url)")
        }
    }

    /// `flotilla ARGS` against this coordinator.
    @discardableResult
    func cli(_ arguments: [String], stdin: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run(Binaries.flotilla, arguments + ["--data-dir", dataDirectory], logDirectory: fleet.root + "/logs", stdin: stdin)
    }
}
