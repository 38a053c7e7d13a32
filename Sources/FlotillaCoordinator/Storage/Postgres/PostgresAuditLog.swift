import Crypto
import FlotillaProtocol
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// `AuditLog` on PostgreSQL: one chain that any coordinator appends to. Appends are serialised
/// by an advisory lock held for the append's transaction, so every entry links to the one
/// before it whichever coordinator wrote it.
///
/// The newest entry's number and hash are kept twice, as the SQLite log keeps them in
/// `audit.head`: in `audit_head` with an HMAC under a key derived from the master key (so a
/// database-only writer can neither cut the end unseen nor forge the row), and in each
/// coordinator's own `audit.head` (the newest it wrote, which catches the database put back to an
/// older consistent state).
final class PostgresAuditLog: AuditLog {
    let database: PostgresPool
    let headPath: String
    private let macKey: SymmetricKey
    static let appendLock = PostgresSchema.migrationLock + 3

    init(database: PostgresPool, headPath: String, masterKey: MasterKey) {
        self.database = database
        self.headPath = headPath
        macKey = masterKey.derivedKey(purpose: "flotilla audit head")
    }

    private func mac(sequence: Int64, hash: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Data("\(sequence) \(hash)".utf8), using: macKey))
    }

    @discardableResult
    func append(_ record: AuditRecord, actor: AuditActor) async throws(CoordinatorError) -> AuditEntry {
        let date = Date()
        let logger = database.logger
        let entry = try await database.transaction { connection -> AuditEntry in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(Self.appendLock))", logger)
            let last = try await connection.rows("SELECT sequence, hash FROM audit_log ORDER BY sequence DESC LIMIT 1", logger).first
            var sequence = try last?.get("sequence", as: Int64.self) ?? 0
            var previous = try last?.get("hash", as: String.self) ?? AuditChain.genesis
            // After rows were cut off the end, new entries continue from the newest one recorded,
            // so the cut stays visible to `verify`.
            if let head = try await Self.head(connection, logger), head.sequence > sequence, Secrets.constantTimeEquals(head.mac, mac(sequence: head.sequence, hash: head.hash)) {
                sequence = head.sequence
                previous = head.hash
            }
            sequence += 1
            let at = AuditChain.timestamp(date)
            let details = AuditChain.detailsJSON(record.details)
            let hash = AuditChain.hash(previous: previous, at: at, actor: actor.name, source: actor.source,
                                       action: record.action, target: record.target, details: details)
            try await connection.execute("""
                INSERT INTO audit_log (sequence, at, at_epoch, actor, source, action, target, details, previous_hash, hash)
                VALUES (\(sequence), \(at), \(date.timeIntervalSince1970), \(actor.name), \(actor.source), \(record.action), \(record.target),
                        \(details), \(previous), \(hash))
                """, logger)
            try await sealHead(sequence: sequence, hash: hash, on: connection)
            return AuditEntry(sequence: sequence, at: at, actor: actor.name, source: actor.source, action: record.action,
                              target: record.target, detailsJSON: details, previousHash: previous, hash: hash)
        }
        do {
            try SecureFile.write("\(entry.sequence) \(entry.hash)\n", to: headPath, mode: 0o600)
        } catch {
            throw .internal("audit head not written: \(error)")
        }
        return entry
    }

    /// Records `sequence` and `hash` as the chain's newest entry, sealed, in `connection`'s
    /// transaction (an append, or `flotilla migrate` carrying a chain over).
    func sealHead(sequence: Int64, hash: String, on connection: PostgresConnection) async throws {
        try await connection.execute("""
            INSERT INTO audit_head (id, sequence, hash, mac) VALUES (1, \(sequence), \(hash), \(ByteBuffer(bytes: mac(sequence: sequence, hash: hash))))
            ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash, mac = excluded.mac
            """, database.logger)
    }

    private static func head(_ connection: PostgresConnection, _ logger: Logger) async throws -> (sequence: Int64, hash: String, mac: [UInt8])? {
        guard let row = try await connection.rows("SELECT sequence, hash, mac FROM audit_head WHERE id = 1", logger).first else { return nil }
        return (try row.get("sequence"), try row.get("hash"), Array(try row.get("mac", as: Data.self)))
    }

    func entries(since: Date?, limit: Int) async throws(CoordinatorError) -> [AuditEntry] {
        try await PostgresStore.decoded { () async throws -> [AuditEntry] in
            try await database.rows("""
                SELECT * FROM audit_log WHERE at_epoch >= \(since?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude)
                ORDER BY sequence DESC LIMIT \(Int64(limit))
                """).reversed().map(Self.entry)
        }
    }

    func verify() async throws(CoordinatorError) -> AuditVerification {
        try await database.transaction { connection in try await verify(on: connection) }
    }

    /// `verify` inside `connection`'s transaction (`flotilla migrate` checks the chain it copied
    /// before committing it).
    func verify(on connection: PostgresConnection) async throws -> AuditVerification {
        let logger = database.logger
        let rows = try await connection.rows("SELECT * FROM audit_log ORDER BY sequence", logger)
        let head = try await Self.head(connection, logger)
        let entries = try rows.map(Self.entry)
        var problems: [String] = []
        var trusted: (sequence: Int64, hash: String)?
        if let head {
            if Secrets.constantTimeEquals(head.mac, mac(sequence: head.sequence, hash: head.hash)) {
                trusted = (head.sequence, head.hash)
            } else {
                problems.append("the audit head in the database does not carry a valid seal: it was written without the master key")
            }
        }
        var result = AuditChain.verify(entries, head: trusted, headMissing: head == nil)
        // This coordinator's own record of the newest entry it appended.
        if let local = Self.localHead(headPath), local.sequence <= (entries.last?.sequence ?? 0) {
            if !entries.contains(where: { $0.sequence == local.sequence && $0.hash == local.hash }) {
                problems.append("entry #\(local.sequence), which this coordinator appended, is missing or was replaced")
            }
        } else if let local = Self.localHead(headPath) {
            problems.append("the newest entries were removed: this coordinator appended entry #\(local.sequence), the log ends at #\(entries.last?.sequence ?? 0)")
        }
        for row in rows {
            guard let entry = try? Self.entry(row), let indexed = try? row.get("at_epoch", as: Double.self) else { continue }
            guard let at = Timestamps.parse(entry.at), abs(at.timeIntervalSince1970 - indexed) < 0.002 else {
                problems.append("entry #\(entry.sequence) (\(entry.action)) has a time index that does not match its time: it was edited")
                continue
            }
        }
        result.problems += problems
        return result
    }

    private static func localHead(_ path: String) -> (sequence: Int64, hash: String)? {
        guard let text = try? SecureFile.read(path) else { return nil }
        let parts = text.split(separator: " ")
        guard parts.count == 2, let sequence = Int64(parts[0]) else { return nil }
        return (sequence, parts[1].trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func entry(_ row: PostgresRandomAccessRow) throws -> AuditEntry {
        AuditEntry(sequence: try row.get("sequence"), at: try row.get("at"), actor: try row.get("actor"), source: try row.get("source"),
                   action: try row.get("action"), target: try row.get("target"), detailsJSON: try row.get("details"),
                   previousHash: try row.get("previous_hash"), hash: try row.get("hash"))
    }
}
