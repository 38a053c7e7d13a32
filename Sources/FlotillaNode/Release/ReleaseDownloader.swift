import CFlotillaSystem

/// Step 1 of applying (docs/releases.md): every file of a verified manifest into
/// `STATE/releases/<version>/files/<path>`, each checked against the manifest's size and SHA-256
/// (`hash_mismatch`), everything fsync'd, and the envelope kept as `manifest.json`.
enum ReleaseDownloader {
    /// Downloads what is missing. A file already there with the right size and digest (from an
    /// interrupted earlier attempt) is kept, so a retry only fetches the rest.
    static func download<Source: ReleaseSource>(_ manifest: ReleaseManifest, envelope: [UInt8],
                                                       store: ReleaseStore, from source: Source) throws(NodeError) {
        let directory = store.releaseDirectory(manifest.version)
        try FileTree.makeDirectories(Text.path(directory, "files"), mode: 0o700)
        for file in manifest.files {
            let path = Text.join(directory, "/files/", file.path)
            let existing = try FileIO.info(path)
            if existing.kind == .file, existing.size == file.size, Hex.equal(try SHA256.file(path).hex, file.sha256) {
                continue
            }
            try FileTree.remove(path)
            // One byte more than announced is enough to tell "too long" from "right size".
            let bytes: [UInt8]
            do throws(NodeError) {
                bytes = try source.blob(sha256: file.sha256, maxBytes: Int(file.size) + 1)
            } catch {
                if case .responseTooLarge = error {
                    throw .release(.hashMismatch, Text.join(file.path, ": blob longer than the manifest says"))
                }
                throw error
            }
            guard bytes.count == Int(file.size) else {
                throw .release(.hashMismatch, Text.join(file.path, ": size differs from the manifest"))
            }
            try FileTree.makeDirectories(FileIO.parentDirectory(of: path), mode: 0o700)
            try FileIO.writeSynced(path, bytes, mode: mode_t(file.mode))
            let written = try SHA256.file(path)
            guard written.size == file.size, Hex.equal(written.hex, file.sha256) else {
                FileIO.remove(path)
                throw .release(.hashMismatch, Text.join(file.path, ": SHA-256 differs from the manifest"))
            }
        }
        try FileTree.syncDirectories(directory)
        try FileIO.writeAtomically(Text.path(directory, "manifest.json"), envelope, mode: 0o600)
    }
}
