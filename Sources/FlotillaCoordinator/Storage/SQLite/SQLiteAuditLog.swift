import Foundation
import GRDB
import Synchronization

/// `AuditLog` in the coordinator's SQLite file (`audit_log`), with the newest entry's sequence
/// and hash also kept in the data directory (`audit.head`, 0600). The chain shows edits,
/// removals and reordering inside the log; the head file shows entries cut off its end, which
/// the chain alone cannot (the remaining entries still link up).
///
/// Appends are rare (admin actions), so each is its own transaction, serialised by a lock so
/// the head file is written in the same order as the rows.
final class SQLiteAuditLog: AuditLog {
    let store: SQLiteStore
    let headPath: String
    /// Guards appends: the row and then the head file, one append at a time.
    private let appending = Mutex(())

    static let schema = """
        CREATE TABLE audit_log (
            sequence INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            at_epoch REAL NOT NULL,
            actor TEXT NOT NULL,
            source TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            details TEXT NOT NULL,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX audit_log_at ON audit_log(at_epoch);
        """

    init(store: SQLiteStore, headPath: String) {
        self.store = store
        self.headPath = headPath
    }

    @discardableResult
    func append(_ record: AuditRecord, actor: AuditActor) async throws(CoordinatorError) -> AuditEntry {
        try appendNow(record, actor: actor, at: Date())
    }

    /// The synchronous append (the work is one short local transaction).
    func appendNow(_ record: AuditRecord, actor: AuditActor, at date: Date) throws(CoordinatorError) -> AuditEntry {
        try appending.withLock { _ throws(CoordinatorError) -> AuditEntry in
            let head = readHead()
            let entry = try store.write { db -> AuditEntry in
                let last = try Row.fetchOne(db, sql: "SELECT sequence, hash FROM audit_log ORDER BY sequence DESC LIMIT 1")
                let lastSequence: Int64 = last?["sequence"] ?? 0
                // After rows were cut off the end, new entries continue from the newest one
                // recorded (number and hash), so the cut stays visible to `verify`.
                var sequence = lastSequence + 1
                var previous: String = last?["hash"] ?? AuditChain.genesis
                if let head, head.sequence > lastSequence {
                    sequence = head.sequence + 1
                    previous = head.hash
                }
                let at = AuditChain.timestamp(date)
                let details = AuditChain.detailsJSON(record.details)
                let hash = AuditChain.hash(previous: previous, at: at, actor: actor.name, source: actor.source,
                                           action: record.action, target: record.target, details: details)
                try db.execute(
                    sql: """
                        INSERT INTO audit_log (sequence, at, at_epoch, actor, source, action, target, details, previous_hash, hash)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [sequence, at, date.timeIntervalSince1970, actor.name, actor.source, record.action, record.target,
                                details, previous, hash]
                )
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
    }

    func entries(since: Date?, limit: Int) async throws(CoordinatorError) -> [AuditEntry] {
        try store.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM audit_log WHERE at_epoch >= ? ORDER BY sequence DESC LIMIT ?",
                arguments: [since?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude, limit]
            )
            return rows.reversed().map(Self.entry)
        }
    }

    func verify() async throws(CoordinatorError) -> AuditVerification {
        let rows = try store.read { db in try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY sequence") }
        let entries = rows.map(Self.entry)
        let head = readHead()
        var result = AuditChain.verify(entries, head: head, headMissing: head == nil)
        // `at_epoch` (what --since filters on) is an index of the hashed `at`: an edit that would
        // hide an entry from time-filtered listings shows here.
        for (row, entry) in zip(rows, entries) {
            let indexed: Double = row["at_epoch"]
            guard let at = Timestamps.parse(entry.at), abs(at.timeIntervalSince1970 - indexed) < 0.002 else {
                result.problems.append("entry #\(entry.sequence) (\(entry.action)) has a time index that does not match its time: it was edited")
                continue
            }
        }
        return result
    }

    /// The newest entry recorded in `audit.head`, or nil before the first append.
    private func readHead() -> (sequence: Int64, hash: String)? {
        guard let text = try? SecureFile.read(headPath) else { return nil }
        let parts = text.split(separator: " ")
        guard parts.count == 2, let sequence = Int64(parts[0]) else { return nil }
        return (sequence, parts[1].trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func entry(_ row: Row) -> AuditEntry {
        AuditEntry(sequence: row["sequence"], at: row["at"], actor: row["actor"], source: row["source"], action: row["action"],
                   target: row["target"], detailsJSON: row["details"], previousHash: row["previous_hash"], hash: row["hash"])
    }
}
