import FlotillaProtocol
import Foundation

/// Where a coordinator's shared database is: `postgres://USER@HOST:PORT/DB` (`serve --database`,
/// `FLOTILLA_DATABASE_URL`). The password never travels in the URL or on a command line: it is
/// read from the libpq passfile the URL's `passfile=PATH` names, or from a file of its own
/// (`--database-password-file`), either of them 0600.
///
/// Query parameters: `passfile`, `host` (a directory holding the server's unix socket),
/// `sslmode` (`disable`, `prefer` (the default, as in libpq), `require`, `verify-full`) and
/// `sslrootcert` (PEM of the CA `verify-full` trusts instead of the system's).
public struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    /// A directory holding the server's socket (`.s.PGSQL.PORT`), instead of TCP.
    public var socketDirectory: String?
    public var passfile: String?
    public var tls: TLSMode
    public var rootCertificate: String?

    /// Parses `text`; throws `invalid_request` naming what is wrong (never echoing a password).
    public init(_ text: String) throws(CoordinatorError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else { throw .invalidRequest("the database URL must look like postgres://USER@HOST:PORT/DB") }
        if components.password != nil {
            throw .invalidRequest("the database URL carries a password: put it in a 0600 file instead (passfile=PATH in the URL, or --database-password-file)")
        }
        guard let user = components.user, !user.isEmpty else { throw .invalidRequest("the database URL names no user (postgres://USER@HOST/DB)") }
        self.user = user
        host = components.host ?? ""
        port = components.port ?? 5432
        database = String(components.path.drop { $0 == "/" })
        if database.isEmpty { database = user }
        tls = .prefer
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "passfile": passfile = value
            case "host":
                guard value.hasPrefix("/") else { throw .invalidRequest("the database URL's host= must be a socket directory (an absolute path)") }
                socketDirectory = value
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else { throw .invalidRequest("sslmode must be disable, prefer, require or verify-full") }
                tls = mode
            case "sslrootcert": rootCertificate = value
            default: throw .invalidRequest("the database URL has an unknown parameter '\(item.name)' (passfile, host, sslmode, sslrootcert)")
            }
        }
        if socketDirectory == nil, host.isEmpty { throw .invalidRequest("the database URL names no host") }
        if socketDirectory != nil, tls != .prefer, tls != .disable { throw .invalidRequest("TLS does not apply to a unix socket") }
    }

    /// The URL as shown to people: it never holds a secret.
    public var description: String {
        var text = "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
        if let socketDirectory { text += "?host=\(socketDirectory)" }
        return text
    }

    /// The URL with every parameter, as `serve --database` takes it (to start another
    /// coordinator on the same database); like `description`, it never holds the password.
    public var argument: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = user
        components.host = host.isEmpty ? nil : host
        components.port = port
        components.path = "/" + database
        var items: [URLQueryItem] = []
        if let passfile { items.append(URLQueryItem(name: "passfile", value: passfile)) }
        if let socketDirectory { items.append(URLQueryItem(name: "host", value: socketDirectory)) }
        if tls != .prefer { items.append(URLQueryItem(name: "sslmode", value: tls.rawValue)) }
        if let rootCertificate { items.append(URLQueryItem(name: "sslrootcert", value: rootCertificate)) }
        components.queryItems = items.isEmpty ? nil : items
        return components.string ?? description
    }

    /// The password: from `passwordFile` (its first line), else from the passfile's first entry
    /// matching host, port, database and user (`*` matches anything, libpq's format); nil when
    /// neither gives one (trust or peer authentication). A file readable by others is refused.
    public func password(passwordFile: String?) throws(CoordinatorError) -> String? {
        if let passwordFile {
            let text = try Self.readPrivate(passwordFile, what: "the database password file")
            return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        }
        guard let passfile else { return nil }
        let text = try Self.readPrivate(passfile, what: "the database passfile")
        let wanted = [socketDirectory == nil ? host : "localhost", String(port), database, user]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = Self.passfileFields(String(line))
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        throw .invalidRequest("the database passfile has no entry for \(description)")
    }

    /// A passfile line's fields: `:` separates them, `\` escapes `:` and `\`.
    static func passfileFields(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }

    private static func readPrivate(_ path: String, what: String) throws(CoordinatorError) -> String {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue
        else { throw .invalidRequest("\(what) \(path) cannot be read") }
        guard mode & 0o077 == 0 else { throw .invalidRequest("\(what) \(path) is readable by others: chmod 600 it") }
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch { throw .invalidRequest("\(what) \(path) cannot be read") }
    }
}
