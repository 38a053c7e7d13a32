import CFlotillaSystem

/// Entry point of `flotilla-node`: parses the command line, runs the command, and maps errors to
/// messages on stderr and exit statuses (see `NodeError.exitStatus`).
public enum NodeCommand {
    /// Runs the command given by `arguments` (without argv[0]) and returns the exit status.
    static func run(_ arguments: [[UInt8]]) -> Int32 {
        let command: Command
        do {
            command = try Command.parse(arguments)
        } catch {
            Log.writeStderr(Text.join("flotilla-node: ", error.message, "\n", Command.usage))
            return error.exitStatus
        }
        switch command {
        case .help:
            Log.writeStdout(Command.usage)
            return 0
        case .version:
            Log.writeStdout(Text.join("flotilla-node ", AgentInfo.version, "\n"))
            return 0
        case .enroll(let configPath, let stateDirectory, let name):
            do {
                let response = try Enrollment.run(configPath: configPath, stateDirectory: stateDirectory, name: name)
                Log.writeStdout(Text.join(Text.join("enrolled as ", response.name, " (node ", response.nodeID),
                                          Text.join(", group ", response.group, ", status ", response.status, ")\n")))
                return 0
            } catch {
                if case .rejected(_, let code, let message) = error {
                    Log.writeStderr(Text.join("flotilla-node: enrollment refused: ", code, ": ", message, "\n"))
                } else {
                    Log.writeStderr(Text.join("flotilla-node: enrollment failed: ", error.code, ": ", error.message, "\n"))
                }
                return error.exitStatus
            }
        case .run(let options):
            do {
                let agent = try Agent(state: NodeState(directory: options.stateDirectory), runtime: options.runtime)
                return agent.run(once: options.once)
            } catch {
                Log.error("cannot start agent", error)
                return error.exitStatus
            }
        }
    }

    /// Reads this process's arguments, runs, and exits with the resulting status.
    public static func main() -> Never {
        exit(run(Command.processArguments()))
    }
}
