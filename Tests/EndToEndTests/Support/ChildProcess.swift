import Foundation

/// A real child process with its output captured to files (so a chatty process never blocks on a
/// full pipe).
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `Process` is not Sendable; all access goes through its own thread-safe methods
    // (isRunning, terminate, waitUntilExit) and the immutable paths below.
    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    /// Starts `executable`; `environment` entries are added to this process's environment and
    /// `stdin` (when given) is what the child reads on standard input.
    init(_ executable: String, _ arguments: [String], logDirectory: String, label: String,
         environment: [String: String] = [:], stdin: String? = nil) throws {
        stdoutPath = logDirectory + "/\(label).out"
        stderrPath = logDirectory + "/\(label).err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        if let stdin {
            let inputPath = logDirectory + "/\(label).in"
            _ = FileManager.default.createFile(atPath: inputPath, contents: Data(stdin.utf8), attributes: [.posixPermissions: 0o600])
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inputPath))
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        try process.run()
    }

    /// Kills the process at once (SIGKILL), as a power cut or the OOM killer would.
    func kill9() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// Sends SIGTERM and waits up to `timeout` seconds; SIGKILL after that. Returns the exit status.
    @discardableResult
    func stop(timeout: TimeInterval = 10) -> Int32 {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Runs a command to completion and returns its exit status and output.
    static func run(
        _ executable: String, _ arguments: [String], logDirectory: String, timeout: TimeInterval = 60,
        environment: [String: String] = [:], stdin: String? = nil
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let label = "run-\(UUID().uuidString.prefix(8))"
        let child = try ChildProcess(executable, arguments, logDirectory: logDirectory, label: label, environment: environment, stdin: stdin)
        let deadline = Date().addingTimeInterval(timeout)
        while child.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let status = child.isRunning ? child.stop() : { child.process.waitUntilExit(); return child.process.terminationStatus }()
        try? FileManager.default.removeItem(atPath: logDirectory + "/\(label).in")
        return (status, child.stdout, child.stderr)
    }
}

/// Where SwiftPM put the binaries under test: next to the test bundle.
enum Binaries {
    static var directory: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
    }
    static var flotilla: String { directory + "/flotilla" }
    static var node: String { directory + "/flotilla-node" }
    /// The repository root (for provisioning files), from this source file's location.
    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }
}
