import CFlotillaSystem

/// Recursive directory operations for release staging and snapshots. They never follow a
/// symlink (everything is decided with lstat): a link found inside a tree is copied as a link or
/// unlinked, so a link planted in a skill directory cannot make the agent read or delete
/// anything outside it. Files are fsync'd as they are written and directories after their entries.
enum FileTree {
    /// Creates `path` and any missing parents with exactly `mode` (existing directories are kept
    /// as they are).
    @inline(never)
    static func makeDirectories(_ path: String, mode: mode_t) throws(NodeError) {
        let bytes = Array(path.utf8)
        var index = 1
        while index <= bytes.count {
            if index == bytes.count || bytes[index] == UInt8(ascii: "/") {
                let prefix = SystemText.string(bytes[0..<index])
                if mkdir(prefix, mode) == 0 {
                    // Exactly `mode` whatever the umask (the agent's unit runs with UMask=0077, and
                    // a runtime under another user must still traverse skill directories).
                    guard chmod(prefix, mode) == 0 else { throw .io(operation: "chmod", path: prefix, errno: flotilla_errno()) }
                } else if flotilla_errno() != EEXIST {
                    throw .io(operation: "mkdir", path: prefix, errno: flotilla_errno())
                }
            }
            index += 1
        }
        guard try FileIO.info(path).kind == .directory else {
            throw .io(operation: "mkdir (not a directory)", path: path, errno: ENOTDIR)
        }
    }

    /// Removes `path` whatever it is; a directory is emptied depth-first. A missing path is fine.
    @inline(never)
    static func remove(_ path: String) throws(NodeError) {
        let info = try FileIO.info(path)
        switch info.kind {
        case .missing:
            return
        case .directory:
            for name in try FileIO.listDirectory(path) {
                try remove(Text.path(path, name))
            }
            guard rmdir(path) == 0 || flotilla_errno() == ENOENT else {
                throw .io(operation: "rmdir", path: path, errno: flotilla_errno())
            }
        default:
            guard unlink(path) == 0 || flotilla_errno() == ENOENT else {
                throw .io(operation: "unlink", path: path, errno: flotilla_errno())
            }
        }
    }

    /// Copies `source` (file, directory or symlink) to `destination`, which must not exist,
    /// keeping permission bits. Everything written is fsync'd, including each directory.
    @inline(never)
    static func copy(_ source: String, to destination: String) throws(NodeError) {
        let info = try FileIO.info(source)
        switch info.kind {
        case .file:
            try copyFile(source, to: destination, mode: mode_t(info.mode))
        case .directory:
            guard mkdir(destination, 0o700) == 0 else {
                throw .io(operation: "mkdir", path: destination, errno: flotilla_errno())
            }
            for name in try FileIO.listDirectory(source) {
                try copy(Text.path(source, name), to: Text.path(destination, name))
            }
            guard chmod(destination, mode_t(info.mode)) == 0 else {
                throw .io(operation: "chmod", path: destination, errno: flotilla_errno())
            }
            try FileIO.syncDirectory(destination)
        case .symlink:
            try FileIO.makeSymlink(destination, target: try FileIO.readLink(source))
        case .missing:
            throw .io(operation: "copy", path: source, errno: ENOENT)
        case .other:
            throw .io(operation: "copy (not a file, directory or symlink)", path: source, errno: EINVAL)
        }
    }

    /// fsyncs `path` and every directory below it (files are fsync'd when written), so a tree
    /// built entry by entry is durable before it is renamed into place.
    @inline(never)
    static func syncDirectories(_ path: String) throws(NodeError) {
        for name in try FileIO.listDirectory(path) {
            let child = Text.path(path, name)
            if try FileIO.info(child).kind == .directory { try syncDirectories(child) }
        }
        try FileIO.syncDirectory(path)
    }

    /// Copies one regular file to a new file with `mode`, streaming, then fsyncs it.
    /// Neither side may be a symlink (O_NOFOLLOW) and the destination must not exist (O_EXCL).
    @inline(never)
    static func copyFile(_ source: String, to destination: String, mode: mode_t) throws(NodeError) {
        let fd = flotilla_open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw .io(operation: "create", path: destination, errno: flotilla_errno()) }
        var failure: NodeError?
        do throws(NodeError) {
            guard fchmod(fd, mode) == 0 else { throw .io(operation: "chmod", path: destination, errno: flotilla_errno()) }
            try FileIO.forEachChunk(source) { (chunk: ArraySlice<UInt8>) throws(NodeError) in
                try writeAll(fd, chunk, path: destination)
            }
            guard fsync(fd) == 0 else { throw .io(operation: "fsync", path: destination, errno: flotilla_errno()) }
        } catch {
            failure = error
        }
        if close(fd) != 0, failure == nil { failure = .io(operation: "close", path: destination, errno: flotilla_errno()) }
        if let failure {
            unlink(destination)
            throw failure
        }
    }

    /// Writes every byte of `bytes` to `fd`, retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>, path: String) throws(NodeError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if flotilla_errno() == EINTR { continue }
                throw .io(operation: "write", path: path, errno: flotilla_errno())
            }
            offset += written
        }
    }
}
