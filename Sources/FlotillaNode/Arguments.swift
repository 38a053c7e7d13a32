import CFlotillaSystem

/// The command line of `flotilla-node`, parsed from raw argument bytes (Embedded Swift has no
/// `CommandLine`; `main` reads /proc/self/cmdline).
public enum Command {
    case enroll(configPath: String, stateDirectory: String, name: String?)
    case run(stateDirectory: String, once: Bool)
    case version
    case help

    /// Usage text printed for `help` and after a usage error.
    public static let usage = """
        usage: flotilla-node enroll --config FILE --state-dir DIR [--name NAME]
               flotilla-node run --state-dir DIR [--once]
               flotilla-node version

        """

    /// Parses arguments (without argv[0]); throws `.usage` for anything unknown or missing.
    public static func parse(_ arguments: [[UInt8]]) throws(NodeError) -> Command {
        guard let verb = arguments.first else { throw .usage("missing command") }
        var options = Options()
        try options.read(Array(arguments.dropFirst()))
        if SystemText.equals(verb[...], "enroll") {
            try options.allow(config: true, stateDir: true, name: true, once: false)
            guard let config = options.config else { throw .usage("enroll needs --config FILE") }
            guard let stateDir = options.stateDir else { throw .usage("enroll needs --state-dir DIR") }
            return .enroll(configPath: config, stateDirectory: stateDir, name: options.name)
        }
        if SystemText.equals(verb[...], "run") {
            try options.allow(config: false, stateDir: true, name: false, once: true)
            guard let stateDir = options.stateDir else { throw .usage("run needs --state-dir DIR") }
            return .run(stateDirectory: stateDir, once: options.once)
        }
        if SystemText.equals(verb[...], "version") || SystemText.equals(verb[...], "--version") {
            try options.allow(config: false, stateDir: false, name: false, once: false)
            return .version
        }
        if SystemText.equals(verb[...], "help") || SystemText.equals(verb[...], "--help")
            || SystemText.equals(verb[...], "-h") {
            return .help
        }
        throw .usage("unknown command '\(SystemText.string(verb))'")
    }

    /// Arguments of this process from /proc/self/cmdline (NUL-separated), without argv[0].
    public static func processArguments() -> [[UInt8]] {
        guard let bytes = try? FileIO.read("/proc/self/cmdline", maxBytes: 1 << 20) else { return [] }
        var arguments: [[UInt8]] = []
        var current: [UInt8] = []
        for byte in bytes {
            if byte == 0 {
                arguments.append(current)
                current = []
            } else {
                current.append(byte)
            }
        }
        if !current.isEmpty { arguments.append(current) }
        return Array(arguments.dropFirst())
    }

    private struct Options {
        var config: String?
        var stateDir: String?
        var name: String?
        var once = false

        mutating func read(_ arguments: [[UInt8]]) throws(NodeError) {
            var index = 0
            while index < arguments.count {
                let argument = arguments[index][...]
                index += 1
                if SystemText.equals(argument, "--once") {
                    once = true
                    continue
                }
                let flag = SystemText.string(argument)
                guard SystemText.equals(argument, "--config") || SystemText.equals(argument, "--state-dir")
                        || SystemText.equals(argument, "--name") else {
                    throw .usage("unknown option '\(flag)'")
                }
                guard index < arguments.count, !arguments[index].isEmpty else {
                    throw .usage("option \(flag) needs a value")
                }
                let value = SystemText.string(arguments[index])
                index += 1
                if SystemText.equals(argument, "--config") { config = value }
                if SystemText.equals(argument, "--state-dir") { stateDir = value }
                if SystemText.equals(argument, "--name") { name = value }
            }
        }

        func allow(config allowConfig: Bool, stateDir allowStateDir: Bool, name allowName: Bool,
                   once allowOnce: Bool) throws(NodeError) {
            if config != nil, !allowConfig { throw .usage("--config is not valid here") }
            if stateDir != nil, !allowStateDir { throw .usage("--state-dir is not valid here") }
            if name != nil, !allowName { throw .usage("--name is not valid here") }
            if once, !allowOnce { throw .usage("--once is not valid here") }
        }
    }
}
