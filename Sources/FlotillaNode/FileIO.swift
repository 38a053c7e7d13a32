import CFlotillaSystem

/// File-system operations the agent needs, with the durability rules of the protocol:
/// every state file is written to a temporary name, fsync'd, renamed, and the directory fsync'd.
public enum FileIO {
    /// Reads a whole file, refusing files longer than `maxBytes`.
    public static func read(_ path: String, maxBytes: Int = 1 << 20) throws(NodeError) -> [UInt8] {
        let fd = flotilla_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: flotilla_errno()) }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                CFlotillaSystem.read(fd, buffer.baseAddress, buffer.count)
            }
            if count < 0 {
                if flotilla_errno() == EINTR { continue }
                throw .io(operation: "read", path: path, errno: flotilla_errno())
            }
            if count == 0 { return result }
            guard result.count + count <= maxBytes else {
                throw .io(operation: "read (file too large)", path: path, errno: EFBIG)
            }
            result.append(contentsOf: chunk[0..<count])
        }
    }

    /// True when `path` exists (any file type).
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Writes `bytes` to `path` atomically with permission `mode`: `path.tmp` is created with the
    /// mode, written, fsync'd, renamed over `path`, then the parent directory is fsync'd.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(NodeError) {
        let temporary = path + ".tmp"
        try writeSynced(temporary, bytes, mode: mode)
        guard CFlotillaSystem.rename(temporary, path) == 0 else {
            let number = flotilla_errno()
            unlink(temporary)
            throw .io(operation: "rename", path: path, errno: number)
        }
        try syncDirectory(containing: path)
    }

    /// Creates or truncates `path` with `mode`, writes `bytes` and fsyncs the file.
    public static func writeSynced(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(NodeError) {
        let fd = flotilla_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw .io(operation: "create", path: path, errno: flotilla_errno()) }
        var failure: NodeError?
        if fchmod(fd, mode) != 0 { failure = .io(operation: "chmod", path: path, errno: flotilla_errno()) }
        var offset = 0
        while failure == nil, offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if flotilla_errno() == EINTR { continue }
                failure = .io(operation: "write", path: path, errno: flotilla_errno())
            } else {
                offset += written
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = .io(operation: "fsync", path: path, errno: flotilla_errno()) }
        if close(fd) != 0, failure == nil { failure = .io(operation: "close", path: path, errno: flotilla_errno()) }
        if let failure {
            unlink(path)
            throw failure
        }
    }

    /// Renames `from` to `to` (atomic replacement within one file system).
    public static func rename(_ from: String, _ to: String) throws(NodeError) {
        guard CFlotillaSystem.rename(from, to) == 0 else {
            throw .io(operation: "rename", path: from, errno: flotilla_errno())
        }
    }

    /// Removes a file; a missing file is not an error.
    public static func remove(_ path: String) {
        unlink(path)
    }

    /// fsyncs the directory that holds `path`, so renames inside it survive power loss.
    public static func syncDirectory(containing path: String) throws(NodeError) {
        let directory = parentDirectory(of: path)
        let fd = flotilla_open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw .io(operation: "open directory", path: directory, errno: flotilla_errno()) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(operation: "fsync directory", path: directory, errno: flotilla_errno()) }
    }

    /// Creates `path` with `mode` if missing, and sets `mode` on it either way.
    public static func makeDirectory(_ path: String, mode: mode_t) throws(NodeError) {
        if mkdir(path, mode) != 0, flotilla_errno() != EEXIST {
            throw .io(operation: "mkdir", path: path, errno: flotilla_errno())
        }
        guard chmod(path, mode) == 0 else { throw .io(operation: "chmod", path: path, errno: flotilla_errno()) }
    }

    /// Permission bits of `path` (for checks and tests).
    public static func mode(of path: String) throws(NodeError) -> mode_t {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .io(operation: "stat", path: path, errno: flotilla_errno()) }
        return info.st_mode & 0o7777
    }

    /// Names in a directory, excluding `.` and `..`.
    public static func listDirectory(_ path: String) throws(NodeError) -> [String] {
        guard let directory = opendir(path) else {
            throw .io(operation: "opendir", path: path, errno: flotilla_errno())
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = String(cString: flotilla_dirent_name(entry))
            if name.utf8.elementsEqual(".".utf8) || name.utf8.elementsEqual("..".utf8) { continue }
            names.append(name)
        }
        return names
    }

    /// The directory part of a path (`.` when there is none).
    public static func parentDirectory(of path: String) -> String {
        let bytes = Array(path.utf8)
        var index = bytes.count - 1
        while index >= 0, bytes[index] != UInt8(ascii: "/") { index -= 1 }
        if index < 0 { return "." }
        if index == 0 { return "/" }
        return SystemText.string(bytes[0..<index])
    }
}
