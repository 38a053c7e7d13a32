import Foundation
import Testing

@testable import FlotillaCLI

@Suite struct AdminConnectionTests {
    /// A data directory as `flotilla serve` leaves it: admin.url, admin.token and ca.pem.
    final class DataDir {
        let path: String
        let caPEM = "-----BEGIN CERTIFICATE-----\nTE9DQUw=\n-----END CERTIFICATE-----"

        init(withFiles: Bool = true) throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-cli-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            if withFiles {
                try "https://127.0.0.1:7443\n".write(toFile: path + "/admin.url", atomically: true, encoding: .utf8)
                try "flt_admin_local\n".write(toFile: path + "/admin.token", atomically: true, encoding: .utf8)
                try (caPEM + "\n").write(toFile: path + "/ca.pem", atomically: true, encoding: .utf8)
            }
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    let remoteEnvironment = [
        "FLOTILLA_SERVER": "https://fleet.example:7443",
        "FLOTILLA_ADMIN_TOKEN": "flt_admin_remote",
    ]

    @Test func dataDirectoryWinsOverEnvironment() throws {
        let dir = try DataDir()
        let connection = try AdminConnection.resolve(
            server: nil, token: nil, caFile: nil, dataDir: dir.path, environment: remoteEnvironment,
            defaultDataDir: "/nonexistent"
        )
        #expect(connection == AdminConnection(serverURL: "https://127.0.0.1:7443", token: "flt_admin_local", caPEM: dir.caPEM))
    }

    @Test func environmentIsUsedWithoutDataDirectory() throws {
        let dir = try DataDir()
        let connection = try AdminConnection.resolve(
            server: nil, token: nil, caFile: nil, dataDir: nil, environment: remoteEnvironment, defaultDataDir: dir.path
        )
        #expect(connection == AdminConnection(serverURL: "https://fleet.example:7443", token: "flt_admin_remote", caPEM: nil))
    }

    @Test func environmentCAIsRead() throws {
        let dir = try DataDir()
        var environment = remoteEnvironment
        environment["FLOTILLA_CA"] = dir.path + "/ca.pem"
        let connection = try AdminConnection.resolve(
            server: nil, token: nil, caFile: nil, dataDir: nil, environment: environment, defaultDataDir: "/nonexistent"
        )
        #expect(connection.caPEM == dir.caPEM)
    }

    @Test func explicitServerAndTokenBeatEnvironment() throws {
        let connection = try AdminConnection.resolve(
            server: "https://other:1", token: "flt_admin_flag", caFile: nil, dataDir: nil, environment: remoteEnvironment,
            defaultDataDir: "/nonexistent"
        )
        #expect(connection.serverURL == "https://other:1")
        #expect(connection.token == "flt_admin_flag")
    }

    @Test func serverWithoutTokenIsAnError() throws {
        let dir = try DataDir()
        #expect(throws: CLIError.self) {
            _ = try AdminConnection.resolve(
                server: "https://fleet.example:7443", token: nil, caFile: nil, dataDir: nil, environment: [:],
                defaultDataDir: dir.path
            )
        }
        #expect(throws: CLIError.self) {
            _ = try AdminConnection.resolve(
                server: nil, token: nil, caFile: nil, dataDir: nil,
                environment: ["FLOTILLA_SERVER": "https://fleet.example:7443", "FLOTILLA_ADMIN_TOKEN": ""],
                defaultDataDir: dir.path
            )
        }
    }

    @Test func explicitTokenOverridesDataDirectoryToken() throws {
        let dir = try DataDir()
        let connection = try AdminConnection.resolve(
            server: nil, token: "flt_admin_flag", caFile: nil, dataDir: dir.path, environment: [:], defaultDataDir: "/nonexistent"
        )
        #expect(connection.token == "flt_admin_flag")
        #expect(connection.serverURL == "https://127.0.0.1:7443")
        #expect(connection.caPEM == dir.caPEM)
    }

    @Test func defaultDataDirectoryIsUsedWhenNothingElseIsGiven() throws {
        let dir = try DataDir()
        let connection = try AdminConnection.resolve(
            server: nil, token: nil, caFile: nil, dataDir: nil, environment: [:], defaultDataDir: dir.path
        )
        #expect(connection.serverURL == "https://127.0.0.1:7443")
        #expect(connection.token == "flt_admin_local")
    }

    @Test func missingCoordinatorIsAnError() throws {
        let empty = try DataDir(withFiles: false)
        let error = #expect(throws: CLIError.self) {
            _ = try AdminConnection.resolve(
                server: nil, token: nil, caFile: nil, dataDir: empty.path, environment: [:], defaultDataDir: "/nonexistent"
            )
        }
        #expect(error?.message.contains("admin.url") == true)
    }
}
