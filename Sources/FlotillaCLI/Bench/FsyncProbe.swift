#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The floor under every durable record: how long the disk behind a data directory takes to
/// make a small write durable. Each sample writes one 4 KiB page into a scratch file there
/// (0600, removed after) and waits for `fsync`, what a SQLite WAL commit with
/// `synchronous=FULL` does at least once. The gateway benchmark reports it next to the latency
/// the gateway adds, since every metered call waits for one such commit.
struct FsyncProbe {
    let directory: String

    /// Latencies of `samples` page writes with their fsync, µs, unsorted.
    func measure(samples: Int) throws -> [UInt32] {
        let path = directory + "/fsync-probe"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw CLIError("cannot create \(path)") }
        defer {
            close(fd)
            unlink(path)
        }
        let page = [UInt8](repeating: 0x5a, count: 4096)
        var micros: [UInt32] = []
        micros.reserveCapacity(samples)
        for index in 0..<samples {
            let started = ContinuousClock.now
            let written = page.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(index % 256) * 4096) }
            guard written == page.count, fsync(fd) == 0 else { throw CLIError("cannot write \(path)") }
            micros.append((ContinuousClock.now - started).wholeMicroseconds)
        }
        return micros
    }
}
