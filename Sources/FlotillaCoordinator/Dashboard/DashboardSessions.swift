import Crypto
import Synchronization
import Foundation

/// A signed-in dashboard session as stored: only the SHA-256 of its cookie value is kept, so a
/// copied database grants no session.
struct DashboardSession: Sendable, Equatable {
    /// Hex SHA-256 of the cookie value.
    var idHash: String
    /// The token the operator signed in with (`admin-token/3f2a9c1e`), for the audit log.
    var signedInWith: String
    var source: String
    var createdAt: Date
    var expiresAt: Date
}

/// Where dashboard sessions live. The SQLite implementation is `SQLiteDashboardSessions`; a
/// shared backend lets several coordinators honour one sign-in.
protocol DashboardSessionStore: Sendable {
    func insert(_ session: DashboardSession) async throws(CoordinatorError)
    /// The session with `idHash` if it has not expired at `now`.
    func session(idHash: String, now: Date) async throws(CoordinatorError) -> DashboardSession?
    func delete(idHash: String) async throws(CoordinatorError)
    /// Ends every session (the admin token they were opened with was replaced).
    func deleteAll() async throws(CoordinatorError)
    /// Removes every session expired at `now`.
    func deleteExpired(now: Date) async throws(CoordinatorError)
}

/// The secrets of one session, derived from its cookie value: the stored id hash and the CSRF
/// token every form of the session carries (an HMAC of the cookie value, so nothing more is
/// stored and a page from another session cannot be replayed).
struct SessionSecrets: Sendable {
    let cookieValue: String

    var idHash: String { Secrets.hex(Secrets.hash(cookieValue)) }

    var csrfToken: String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("flotilla-dashboard-csrf".utf8), using: SymmetricKey(data: Data(cookieValue.utf8)))
        return Secrets.hex(Data(mac))
    }

    /// True when `presented` is this session's CSRF token (constant time).
    func acceptsCSRF(_ presented: String?) -> Bool {
        guard let presented else { return false }
        return Secrets.constantTimeEquals(Array(presented.utf8), Array(csrfToken.utf8))
    }
}

/// Failed dashboard sign-ins, so the audit log gets at most one entry per minute for them
/// (with how many failed since the last entry) however many addresses try. The first failure
/// after a quiet minute is written at once; the rest of a burst by `flush`, once a minute.
final class SignInFailures: Sendable {
    private let state = Mutex<(lastEntry: Date?, since: Int, lastSource: String)>((nil, 0, ""))
    static let interval: TimeInterval = 60

    /// Counts a failure from `source`; returns the failures to report when an entry is due.
    func record(now: Date, source: String) -> Int? {
        state.withLock { state in
            state.since += 1
            state.lastSource = source
            return Self.due(&state, now: now)
        }
    }

    /// The failures counted since the last entry, and the latest one's address, when an entry
    /// is due.
    func flush(now: Date) -> (count: Int, source: String)? {
        state.withLock { state in Self.due(&state, now: now).map { ($0, state.lastSource) } }
    }

    private static func due(_ state: inout (lastEntry: Date?, since: Int, lastSource: String), now: Date) -> Int? {
        guard state.since > 0 else { return nil }
        if let last = state.lastEntry, now.timeIntervalSince(last) < interval { return nil }
        let count = state.since
        state.lastEntry = now
        state.since = 0
        return count
    }
}

extension CoordinatorServices {
    /// Audits failed sign-ins left over from a burst (see `SignInFailures`).
    func flushSignInFailures() async {
        guard let (count, source) = signInFailures.flush(now: Date()) else { return }
        await auditSignInFailures(count, source: source)
    }

    /// Audits `count` failed sign-ins, the latest from `source`.
    func auditSignInFailures(_ count: Int, source: String) async {
        await audit(AuditRecord("dashboard.sign_in_failed", details: ["failures_since_last_entry": "\(count)"]),
                    actor: AuditActor(name: "dashboard:sign-in", source: source))
    }

    /// The session with `idHash` if it may still act: not expired, and opened with the admin
    /// token in force (a rotation ends every session opened with the old one).
    func validSession(idHash: String) async throws(CoordinatorError) -> DashboardSession? {
        guard let session = try await sessions.session(idHash: idHash, now: Date()),
              session.signedInWith == credentials.adminTokenFingerprint else { return nil }
        return session
    }
}
