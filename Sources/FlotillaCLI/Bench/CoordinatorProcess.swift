import Foundation

/// A `flotilla serve` child process on a loopback port, for benchmarks.
final class CoordinatorProcess {
    let dataDirectory: String
    private let process = Process()

    /// Starts `flotilla serve` (this same binary) on `127.0.0.1:0` and waits until it wrote `admin.url`.
    init(dataDirectory: String, extraArguments: [String] = []) throws {
        self.dataDirectory = dataDirectory
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["serve", "--data-dir", dataDirectory, "--listen", "127.0.0.1:0", "--log-level", "warning"] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: dataDirectory + "/admin.url") {
            guard process.isRunning, Date() < deadline else {
                stop()
                throw CLIError("the benchmark coordinator did not start")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// The process id (for a SIGKILL sent from another task).
    var pid: Int32 { process.processIdentifier }

    /// Waits until the process has exited (after a SIGKILL sent to `pid`).
    func waitForExit() {
        process.waitUntilExit()
    }

    /// Sends SIGTERM and waits for a graceful exit.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}
