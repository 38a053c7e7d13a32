import FlotillaProtocol
import Foundation

/// What a peer coordinator needs from this one's data directory to join the fleet on the same
/// database (`flotilla keys export-coordinator`): the CA key and certificate, the trust chain's
/// keys, the master key and the admin token's hash. Nothing else: the peer makes its own server
/// certificate (its `--hostname`), `local.key` and `metrics.token`, and reads everything else
/// from the database, which alone opens none of these.
package enum PeerKeys {
    /// The files copied, by their name in a data directory; optional ones are skipped when absent
    /// (the root key once it was taken offline).
    static func files(_ directory: DataDirectory) -> [(name: String, path: String, required: Bool)] {
        [
            ("ca.key", directory.caKey, true), ("ca.pem", directory.caCertificate, true),
            ("signing.key", directory.signingKey, true), ("root.key", directory.rootKey, false),
            ("master.key", directory.masterKey, false), ("admin-token.sha256", directory.adminTokenHash, true),
        ]
    }

    /// Writes the files into `out` (created 0700; it must not exist or be empty), each 0600.
    /// Returns the names written. Nothing is left behind when a file cannot be read or written.
    package static func export(from directory: DataDirectory, to out: String,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(CoordinatorError) -> [String] {
        let fm = FileManager.default
        if fm.fileExists(atPath: out), !((try? fm.contentsOfDirectory(atPath: out))?.isEmpty ?? false) {
            throw .invalidRequest("\(out) exists and is not an empty directory")
        }
        var contents: [(String, Data)] = []
        for file in files(directory) {
            guard SecureFile.exists(file.path) else {
                if file.required { throw .invalidRequest("\(file.path) is missing: is \(directory.path) a coordinator's data directory (started once)?") }
                continue
            }
            guard let data = fm.contents(atPath: file.path) else { throw .internal("cannot read \(file.path)") }
            contents.append((file.name, data))
        }
        if !contents.contains(where: { $0.0 == "master.key" }) {
            // The master key came from FLOTILLA_MASTER_KEY: the peer gets it as a file (or sets
            // the same variable and deletes it).
            let (key, _) = try MasterKey.load(path: directory.masterKey, environment: environment, create: false)
            contents.append(("master.key", Data((key.base64 + "\n").utf8)))
        }
        do {
            try SecureFile.ensureDirectory(out)
            guard chmod(out, 0o700) == 0 else { throw CoordinatorError.internal("cannot chmod 0700 \(out)") }
            var written: [String] = []
            do {
                for (name, data) in contents {
                    try SecureFile.createNew(data, at: out + "/" + name, mode: 0o600)
                    written.append(name)
                }
            } catch {
                for name in written { unlink(out + "/" + name) }
                throw error
            }
            return written
        } catch let error as CoordinatorError {
            throw error
        } catch {
            throw .internal("cannot write \(out): \(error)")
        }
    }
}
