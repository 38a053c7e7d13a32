import CFlotillaSystem

/// The command line of `flotilla-node`, parsed from raw argument bytes (Embedded Swift has no
/// `CommandLine`; `main` reads /proc/self/cmdline).
enum Command {
    case enroll(configPath: String, stateDirectory: String, name: String?)
    case run(RunOptions)
    case version
    case help

    /// Usage text printed for `help` and after a usage error.
    static let usage = """
        usage: flotilla-node enroll --config FILE --state-dir DIR [--name NAME]
               flotilla-node run --state-dir DIR [--once]
                   [--runtime picoclaw [--picoclaw-home DIR] [--picoclaw-config FILE] [--workspace DIR]
                                       [--picoclaw-restart CMD]]
                   [--runtime command --workspace DIR [--reload-command CMD] [--health-command CMD]]
               flotilla-node version

        """

    /// Parses arguments (without argv[0]); throws `.usage` for anything unknown or missing.
    static func parse(_ arguments: [[UInt8]]) throws(NodeError) -> Command {
        guard let verb = arguments.first else { throw .usage("missing command") }
        var options = Options()
        try options.read(Array(arguments.dropFirst()))
        if SystemText.equals(verb[...], "enroll") {
            try options.allow([Options.config, Options.stateDir, Options.name], once: false)
            guard let config = options.string(Options.config) else { throw .usage("enroll needs --config FILE") }
            guard let stateDir = options.string(Options.stateDir) else { throw .usage("enroll needs --state-dir DIR") }
            return .enroll(configPath: config, stateDirectory: stateDir, name: options.string(Options.name))
        }
        if SystemText.equals(verb[...], "run") {
            try options.allow([Options.stateDir, Options.runtime, Options.workspace, Options.picoclawHome,
                               Options.reloadCommand, Options.healthCommand, Options.picoclawConfig, Options.picoclawRestart],
                              once: true)
            guard let stateDir = options.string(Options.stateDir) else { throw .usage("run needs --state-dir DIR") }
            return .run(RunOptions(stateDirectory: stateDir, once: options.once, runtime: try options.runtime()))
        }
        if SystemText.equals(verb[...], "version") || SystemText.equals(verb[...], "--version") {
            try options.allow([], once: false)
            return .version
        }
        if SystemText.equals(verb[...], "help") || SystemText.equals(verb[...], "--help")
            || SystemText.equals(verb[...], "-h") {
            return .help
        }
        throw .usage(Text.join("unknown command '", SystemText.string(verb), "'"))
    }

    /// Arguments of this process from /proc/self/cmdline (NUL-separated), without argv[0].
    static func processArguments() -> [[UInt8]] {
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

    /// Option values by flag; every flag but `--once` takes one value.
    private struct Options {
        static let flags = ["--config", "--state-dir", "--name", "--runtime", "--workspace", "--picoclaw-home",
                            "--reload-command", "--health-command", "--picoclaw-config", "--picoclaw-restart"]
        static let config = 0, stateDir = 1, name = 2, runtime = 3, workspace = 4, picoclawHome = 5
        static let reloadCommand = 6, healthCommand = 7, picoclawConfig = 8, picoclawRestart = 9

        var values: [[UInt8]?] = [nil, nil, nil, nil, nil, nil, nil, nil, nil, nil]
        var once = false

        mutating func read(_ arguments: [[UInt8]]) throws(NodeError) {
            var index = 0
            while index < arguments.count {
                let argument = arguments[index]
                index += 1
                if SystemText.equals(argument[...], "--once") {
                    once = true
                    continue
                }
                guard let slot = Options.flags.firstIndex(where: { argument.elementsEqual($0.utf8) }) else {
                    throw .usage(Text.join("unknown option '", SystemText.string(argument), "'"))
                }
                guard index < arguments.count, !arguments[index].isEmpty else {
                    throw .usage(Text.join("option ", Options.flags[slot], " needs a value"))
                }
                values[slot] = arguments[index]
                index += 1
            }
        }

        /// The value of flag `slot`; a path loses trailing slashes so its parent is well defined.
        func string(_ slot: Int) -> String? {
            guard var bytes = values[slot] else { return nil }
            if slot == Options.workspace || slot == Options.picoclawHome || slot == Options.picoclawConfig {
                while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
            }
            return SystemText.string(bytes)
        }

        func allow(_ allowed: [Int], once allowOnce: Bool) throws(NodeError) {
            for slot in values.indices where values[slot] != nil && !allowed.contains(slot) {
                throw .usage(Text.join(Options.flags[slot], " is not valid here"))
            }
            if once, !allowOnce { throw .usage("--once is not valid here") }
        }

        /// The runtime the flags describe; nil without `--runtime`. Runtime options without
        /// `--runtime`, or for the other runtime, are usage errors.
        func runtime() throws(NodeError) -> Runtime? {
            let picoclaw = [Options.picoclawHome, Options.picoclawConfig, Options.picoclawRestart].contains { values[$0] != nil }
            let command = values[Options.reloadCommand] != nil || values[Options.healthCommand] != nil
            guard let name = values[Options.runtime] else {
                guard values[Options.workspace] == nil, !picoclaw, !command else {
                    throw .usage("--workspace and the --picoclaw-*, --reload-command and --health-command options need --runtime")
                }
                return nil
            }
            let workspace = string(Options.workspace)
            if SystemText.equals(name[...], "picoclaw"), !command {
                return .picoclaw(PicoClawRuntime(home: string(Options.picoclawHome), config: string(Options.picoclawConfig),
                                                 workspace: workspace, restartCommand: string(Options.picoclawRestart)))
            }
            if SystemText.equals(name[...], "command"), !picoclaw {
                guard let workspace else { throw .usage("--runtime command needs --workspace DIR") }
                return .command(CommandRuntime(workspace: workspace, reloadCommand: string(Options.reloadCommand),
                                               healthCommand: string(Options.healthCommand)))
            }
            throw .usage(Text.join("--runtime ", SystemText.string(name),
                                   ": runtimes are picoclaw (with --picoclaw-*) and command (with --reload-command, --health-command)"))
        }
    }
}

/// What `flotilla-node run` was asked to do.
final class RunOptions {
    var stateDirectory: String
    /// One heartbeat and one non-waiting release check, then exit.
    var once: Bool
    /// Where releases are applied; nil disables releases.
    var runtime: Runtime?

    /// Creates run options.
    init(stateDirectory: String, once: Bool, runtime: Runtime? = nil) {
        self.stateDirectory = stateDirectory
        self.once = once
        self.runtime = runtime
    }
}
