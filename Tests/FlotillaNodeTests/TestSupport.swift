import Foundation
@testable import FlotillaNode

/// Helpers shared by the node tests: fixture lookup, temporary directories, the openssl CLI.
enum TestSupport {
    static let fixturesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/wire")
    static let keysDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/keys")

    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixturesDirectory.appendingPathComponent(name)))
    }

    static func fixtureJSON(_ name: String) throws -> JSONValue {
        try JSONParser().parse(try fixture(name))
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "flotilla-node-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs a program, returning its exit status and combined output.
    @discardableResult
    static func run(_ arguments: [String], in directory: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A self-signed EC CA certificate made by the openssl CLI, as PEM text, in `directory`.
    static func makeCertificate(in directory: String, name: String = "ca", days: Int = 30) throws -> String {
        let result = try run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                              "-nodes", "-keyout", "\(name).key", "-out", "\(name).pem", "-days", String(days),
                              "-subj", "/CN=Test \(name)"], in: directory)
        guard result.status == 0 else { throw TestFailure(message: result.output) }
        return try String(contentsOfFile: directory + "/\(name).pem", encoding: .utf8)
    }
}

struct TestFailure: Error {
    var message: String
}

extension NodeError: CustomStringConvertible {
    public var description: String { code + ": " + message }
}
