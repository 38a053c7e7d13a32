/// Every failure the node agent can meet, in one enum so all throwing code uses
/// `throws(NodeError)` (Embedded Swift has no untyped throws).
/// Each case has a stable machine-readable `code` for logs and scripts, and an exit status.
indirect enum NodeError: Error {
    /// The command line is wrong; the message says what.
    case usage(String)
    /// Bytes are not valid JSON; `offset` is where parsing stopped.
    case invalidJSON(offset: Int, reason: String)
    /// JSON nests deeper or is longer than the parser allows.
    case jsonLimitExceeded(String)
    /// A JSON document lacks a required field or a field has the wrong type.
    case invalidField(String)
    /// `node.conf` is unusable (missing, unparsable, bad URL, ...).
    case invalidConfig(String)
    /// The CA in `node.conf` does not hash to the pinned `ca_sha256`.
    case caFingerprintMismatch(expected: String, actual: String)
    /// The state directory already holds an identity.
    case alreadyEnrolled(String)
    /// The state directory holds no complete identity.
    case notEnrolled(String)
    /// The node name does not follow the protocol's rules.
    case invalidName(String)
    /// A system call failed; `errno` is the C error number.
    case io(operation: String, path: String, errno: Int32)
    /// A /proc or /sys reading could not be parsed.
    case unreadable(String)
    /// OpenSSL refused an operation.
    case crypto(String)
    /// libcurl could not complete the exchange (DNS, TCP, TLS, timeout).
    case network(curlCode: Int32, message: String)
    /// The coordinator answered with a protocol error body.
    case rejected(status: Int, code: String, message: String)
    /// A response body was longer than the request allowed (nothing past the limit was kept).
    case responseTooLarge(limit: Int)
    /// The coordinator answered with an unexpected status and no protocol error body.
    case unexpectedStatus(Int)
    /// A SIGTERM/SIGINT arrived while waiting.
    case interrupted
    /// A release was refused or undone; the code is the contract's `error_code` (docs/releases.md).
    case release(ReleaseFailure, String)

    /// Stable identifier of the case, for logs and for scripts branching on failures.
    var code: String {
        switch self {
        case .usage: return "usage"
        case .invalidJSON: return "invalid_json"
        case .jsonLimitExceeded: return "json_limit_exceeded"
        case .invalidField: return "invalid_field"
        case .invalidConfig: return "invalid_config"
        case .caFingerprintMismatch: return "ca_fingerprint_mismatch"
        case .alreadyEnrolled: return "already_enrolled"
        case .notEnrolled: return "not_enrolled"
        case .invalidName: return "invalid_name"
        case .io: return "io_error"
        case .unreadable: return "unreadable"
        case .crypto: return "crypto_error"
        case .network: return "network_error"
        case .rejected: return "coordinator_rejected"
        case .responseTooLarge: return "response_too_large"
        case .unexpectedStatus: return "unexpected_status"
        case .interrupted: return "interrupted"
        case .release(let failure, _): return failure.code
        }
    }

    /// Process exit status: 2 usage, 3 already enrolled, 4 refused by the coordinator,
    /// 5 network/TLS failure, 1 anything else.
    var exitStatus: Int32 {
        switch self {
        case .usage: return 2
        case .alreadyEnrolled: return 3
        case .rejected, .unexpectedStatus: return 4
        case .network: return 5
        default: return 1
        }
    }

    /// Human-readable explanation (never contains tokens or key material).
    var message: String {
        switch self {
        case .usage(let text): return text
        case .invalidJSON(let offset, let reason): return Text.join("invalid JSON at byte ", Text.number(Int64(offset)), ": ", reason)
        case .jsonLimitExceeded(let text): return text
        case .invalidField(let text): return text
        case .invalidConfig(let text): return text
        case .caFingerprintMismatch(let expected, let actual):
            return Text.join("CA certificate fingerprint ", actual, " does not match pinned ca_sha256 ", expected)
        case .alreadyEnrolled(let dir):
            return Text.join("already enrolled: ", dir, " holds node.json and cert.pem; remove them to enroll again")
        case .notEnrolled(let text): return text
        case .invalidName(let name):
            return Text.join("invalid node name '", name, "': 1-63 of [A-Za-z0-9._-], starting with a letter or digit")
        case .io(let operation, let path, let errno):
            return Text.join(operation, " ", path, " failed: ", SystemText.errorDescription(errno))
        case .unreadable(let text): return text
        case .crypto(let text): return text
        case .network(let curlCode, let text): return Text.join("curl error ", Text.number(Int64(curlCode)), ": ", text)
        case .rejected(let status, let code, let text):
            return Text.join("HTTP ", Text.number(Int64(status)), " ", code, Text.join(": ", text))
        case .responseTooLarge(let limit): return Text.join("response body larger than ", Text.number(Int64(limit)), " bytes")
        case .unexpectedStatus(let status): return Text.join("unexpected HTTP status ", Text.number(Int64(status)))
        case .interrupted: return "interrupted by signal"
        case .release(_, let text): return text
        }
    }
}

/// Why a release manifest was refused or undone, in the order the checks run. The codes are the
/// `error_code` values of `POST /v1/release/report`.
enum ReleaseFailure: Sendable {
    case badManifest, badSignature, rollbackRefused, expired, unsafePath, tooLarge, hashMismatch
    case healthCheckFailed
    /// The runtime would not load the merged config on this node (checked before any change).
    case configRefused
    /// Signed for another group, without this node among its members.
    case wrongTarget
    /// A version further above the node's floor than `ReleaseCheck.maxVersionJump`.
    case versionOutOfRange

    /// The wire code, for example `unsafe_path`.
    var code: String {
        switch self {
        case .badManifest: return "bad_manifest"
        case .badSignature: return "bad_signature"
        case .rollbackRefused: return "rollback_refused"
        case .expired: return "expired"
        case .unsafePath: return "unsafe_path"
        case .tooLarge: return "too_large"
        case .hashMismatch: return "hash_mismatch"
        case .healthCheckFailed: return "health_check_failed"
        case .configRefused: return "config_refused"
        case .wrongTarget: return "wrong_target"
        case .versionOutOfRange: return "version_out_of_range"
        }
    }
}
