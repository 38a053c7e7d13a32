import FlotillaProtocol
import Foundation

/// Writes and checks files that hold secrets or fleet identity: 0600 files, 0700 directories,
/// written atomically so a crash never leaves half a key behind.
package enum SecureFile {
    /// Creates `path` (and parents) with mode 0700. An existing directory is used as it is:
    /// Flotilla sets modes only on directories it creates (`--out /tmp` must not change /tmp).
    package static func ensureDirectory(_ path: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CoordinatorError.internal("\(path) exists and is not a directory") }
            return
        }
        try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard chmod(path, 0o700) == 0 else { throw CoordinatorError.internal("cannot chmod 0700 \(path): errno \(errno)") }
    }

    /// Creates `path` as a new file with `mode` from the start (O_EXCL: never over an existing
    /// file; O_NOFOLLOW: never through a symlink), writes `data` and fsyncs it.
    package static func createNew(_ data: Data, at path: String, mode: mode_t = 0o600) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw CoordinatorError.internal(errno == EEXIST ? "\(path) exists; not overwriting it" : "cannot create \(path): errno \(errno)")
        }
        let ok = fchmod(fd, mode) == 0 && writeAll(fd, data) && fsync(fd) == 0
        close(fd)
        guard ok else {
            unlink(path)
            throw CoordinatorError.internal("cannot write \(path): errno \(errno)")
        }
    }

    private static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    /// Atomically writes `data` to `path` with `mode`: temporary file, fsync, rename, fsync of the directory.
    package static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        let tmp = path + ".tmp-\(getpid())"
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw CoordinatorError.internal("cannot create \(tmp): errno \(errno)") }
        var ok = fchmod(fd, mode) == 0 && writeAll(fd, data)
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw CoordinatorError.internal("cannot write \(path): errno \(errno)")
        }
        let dir = (path as NSString).deletingLastPathComponent
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    package static func write(_ string: String, to path: String, mode: mode_t = 0o600) throws {
        try write(Data(string.utf8), to: path, mode: mode)
    }

    package static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CoordinatorError.internal("cannot read \(path)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    package static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}
