import CFlotillaSystem

/// File-system operations the agent needs, with the durability rules of the protocol:
/// every state file is written to a temporary name, fsync'd, renamed, and the directory fsync'd.
enum FileIO {
    /// Reads a whole file, refusing files longer than `maxBytes`.
    static func read(_ path: String, maxBytes: Int = 1 << 20) throws(NodeError) -> [UInt8] {
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

    /// Calls `body` with successive chunks (up to 64 KiB) of a regular file; refuses a symlink at
    /// `path` (O_NOFOLLOW) so a swapped-in link cannot redirect the read.
    static func forEachChunk(_ path: String,
                                    _ body: (ArraySlice<UInt8>) throws(NodeError) -> Void) throws(NodeError) {
        let fd = flotilla_open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: flotilla_errno()) }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                CFlotillaSystem.read(fd, buffer.baseAddress, buffer.count)
            }
            if count < 0 {
                if flotilla_errno() == EINTR { continue }
                throw .io(operation: "read", path: path, errno: flotilla_errno())
            }
            if count == 0 { return }
            try body(chunk[0..<count])
        }
    }

    /// At most `maxBytes` of a file from byte `offset` on (an offset past the end reads nothing):
    /// for following a log another process appends to.
    static func read(_ path: String, from offset: Int64, maxBytes: Int) throws(NodeError) -> [UInt8] {
        let fd = flotilla_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: flotilla_errno()) }
        defer { close(fd) }
        guard lseek(fd, off_t(offset), SEEK_SET) >= 0 else { throw .io(operation: "lseek", path: path, errno: flotilla_errno()) }
        var result = [UInt8](repeating: 0, count: maxBytes)
        var filled = 0
        while filled < maxBytes {
            let count = result.withUnsafeMutableBytes { buffer in
                CFlotillaSystem.read(fd, buffer.baseAddress! + filled, maxBytes - filled)
            }
            if count < 0, flotilla_errno() == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        result.removeLast(maxBytes - filled)
        return result
    }

    /// True when `path` exists (any file type).
    @inline(never)
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Writes `bytes` to `path` atomically with permission `mode`: `path.tmp` is created with the
    /// mode, written, fsync'd, renamed over `path`, then the parent directory is fsync'd.
    static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(NodeError) {
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
    static func writeSynced(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(NodeError) {
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
    static func rename(_ from: String, _ to: String) throws(NodeError) {
        guard CFlotillaSystem.rename(from, to) == 0 else {
            throw .io(operation: "rename", path: from, errno: flotilla_errno())
        }
    }

    /// Removes a file; a missing file is not an error.
    @inline(never)
    static func remove(_ path: String) {
        unlink(path)
    }

    /// fsyncs the directory that holds `path`, so renames inside it survive power loss.
    static func syncDirectory(containing path: String) throws(NodeError) {
        try syncDirectory(parentDirectory(of: path))
    }

    /// fsyncs the directory `directory` itself (its entries: creations, renames, removals).
    static func syncDirectory(_ directory: String) throws(NodeError) {
        let fd = flotilla_open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw .io(operation: "open directory", path: directory, errno: flotilla_errno()) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(operation: "fsync directory", path: directory, errno: flotilla_errno()) }
    }

    /// Creates `path` with `mode` if missing, and sets `mode` on it either way.
    static func makeDirectory(_ path: String, mode: mode_t) throws(NodeError) {
        if mkdir(path, mode) != 0, flotilla_errno() != EEXIST {
            throw .io(operation: "mkdir", path: path, errno: flotilla_errno())
        }
        guard chmod(path, mode) == 0 else { throw .io(operation: "chmod", path: path, errno: flotilla_errno()) }
    }

    /// What is at `path`, from lstat(2): a symlink is reported as such, never followed.
    static func info(_ path: String) throws(NodeError) -> PathInfo {
        var mode: UInt32 = 0
        var size: Int64 = 0
        let kind = flotilla_path_kind(path, &mode, &size)
        switch kind {
        case FLOTILLA_PATH_MISSING: return PathInfo(kind: .missing, mode: 0, size: 0)
        case FLOTILLA_PATH_FILE: return PathInfo(kind: .file, mode: mode, size: size)
        case FLOTILLA_PATH_DIRECTORY: return PathInfo(kind: .directory, mode: mode, size: size)
        case FLOTILLA_PATH_SYMLINK: return PathInfo(kind: .symlink, mode: mode, size: size)
        case FLOTILLA_PATH_OTHER: return PathInfo(kind: .other, mode: mode, size: size)
        default: throw .io(operation: "lstat", path: path, errno: flotilla_errno())
        }
    }

    /// The target text of a symlink (not resolved).
    static func readLink(_ path: String) throws(NodeError) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = buffer.withUnsafeMutableBufferPointer { pointer in
            readlink(path, pointer.baseAddress!, pointer.count)
        }
        guard length >= 0, length < buffer.count else {
            throw .io(operation: "readlink", path: path, errno: length < 0 ? flotilla_errno() : ENAMETOOLONG)
        }
        return buffer[0..<length].map { UInt8(bitPattern: $0) }
    }

    /// Creates a symlink at `path` pointing at `target` (used only to restore a snapshot as it was).
    static func makeSymlink(_ path: String, target: [UInt8]) throws(NodeError) {
        let text = SystemText.string(target)
        guard symlink(text, path) == 0 else { throw .io(operation: "symlink", path: path, errno: flotilla_errno()) }
    }

    /// Permission bits of `path` (for checks and tests).
    static func mode(of path: String) throws(NodeError) -> mode_t {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .io(operation: "stat", path: path, errno: flotilla_errno()) }
        return info.st_mode & 0o7777
    }

    /// Names in a directory, excluding `.` and `..`.
    static func listDirectory(_ path: String) throws(NodeError) -> [String] {
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
    static func parentDirectory(of path: String) -> String {
        let bytes = Array(path.utf8)
        var index = bytes.count - 1
        while index >= 0, bytes[index] != UInt8(ascii: "/") { index -= 1 }
        if index < 0 { return "." }
        if index == 0 { return "/" }
        return SystemText.string(bytes[0..<index])
    }
}

/// Kind, permission bits and size of a path as lstat(2) reports them.
struct PathInfo {
    /// What lstat found; `.missing` when nothing is there.
    enum Kind {
        case missing, file, directory, symlink, other
    }

    var kind: Kind
    /// Permission bits (`st_mode & 0o7777`).
    var mode: UInt32
    var size: Int64
}
