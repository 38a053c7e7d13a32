import FlotillaProtocol
import Foundation
import Testing

extension EndToEnd {
/// `provisioning/install.sh` against a throwaway root: what a board gets, and that a second run
/// changes nothing it should not (no re-enrollment, same key, same node).
@Suite(.serialized) struct InstallScriptTests {
    @Test func installsIntoARootAndIsIdempotent() async throws {
        try await TestFleet.with { fleet in
            let bundle = try fleet.provision(group: "boards")
            let root = fleet.root + "/board-root"
            let install = bundle + "/install.sh"
            let arguments = [install, "--root", root, "--binary", Binaries.node, "--name", "board-1", "--agent-args", "--once"]

            let first = try ChildProcess.run("/bin/sh", arguments, logDirectory: fleet.root + "/logs")
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout.contains("enrolled"))

            // Files, modes, user, unit and its enablement link.
            let binary = root + "/usr/local/bin/flotilla-node"
            #expect(FileManager.default.isExecutableFile(atPath: binary))
            #expect(try permissions(root + "/etc/flotilla") == 0o700)
            #expect(try permissions(root + "/etc/flotilla/node.conf") == 0o600)
            #expect(try permissions(root + "/etc/flotilla/node.env") == 0o600)
            #expect(try String(contentsOfFile: root + "/etc/flotilla/node.env", encoding: .utf8) == "FLOTILLA_NODE_ARGS=--once\n")
            #expect(try permissions(root + "/var/lib/flotilla") == 0o700)
            #expect(try permissions(root + "/var/lib/flotilla/key.pem") == 0o600)
            let passwd = try String(contentsOfFile: root + "/etc/passwd", encoding: .utf8)
            #expect(passwd.split(separator: "\n").filter { $0.hasPrefix("flotilla:") }.count == 1)
            let unit = try String(contentsOfFile: root + "/etc/systemd/system/flotilla-node.service", encoding: .utf8)
            for directive in ["Restart=always", "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/flotilla",
                              "PrivateTmp=yes", "ProtectHome=yes", "User=flotilla"] {
                #expect(unit.contains(directive), "unit lacks \(directive)")
            }
            let wants = root + "/etc/systemd/system/multi-user.target.wants/flotilla-node.service"
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: wants) == "/etc/systemd/system/flotilla-node.service")

            let enrolled = try #require(try fleet.node("board-1"))
            #expect(enrolled.group == "boards")
            let key = try Data(contentsOf: URL(fileURLWithPath: root + "/var/lib/flotilla/key.pem"))

            // Second run: succeeds, keeps the enrollment (the single-use token would refuse a
            // second one), the key, and the operator's agent arguments.
            let second = try ChildProcess.run("/bin/sh", [install, "--root", root, "--binary", Binaries.node, "--name", "board-1"],
                                              logDirectory: fleet.root + "/logs")
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stdout.contains("already enrolled"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/var/lib/flotilla/key.pem")) == key)
            #expect(try String(contentsOfFile: root + "/etc/flotilla/node.env", encoding: .utf8) == "FLOTILLA_NODE_ARGS=--once\n")
            let passwdAgain = try String(contentsOfFile: root + "/etc/passwd", encoding: .utf8)
            #expect(passwdAgain == passwd)
            let nodes = try fleet.nodes()
            #expect(nodes.filter { $0.name == "board-1" }.map(\.id) == [enrolled.id])

            // The installed agent runs from the installed state and reports in.
            let once = try ChildProcess.run(binary, ["run", "--state-dir", root + "/var/lib/flotilla", "--once"], logDirectory: fleet.root + "/logs")
            #expect(once.status == 0, "\(once.stderr)")
            #expect(try fleet.node("board-1")?.status == .online)
        }
    }

    @Test func aPicoClawUnitTrustsTheFleetCAAndMayBeRestartedByTheAgent() async throws {
        try await TestFleet.with { fleet in
            let bundle = try fleet.provision(group: "boards")
            let root = fleet.root + "/board-root"
            let result = try ChildProcess.run("/bin/sh", [bundle + "/install.sh", "--root", root, "--binary", Binaries.node, "--name", "board-2",
                                                          "--picoclaw-unit", "picoclaw.service", "--picoclaw-home", "/srv/picoclaw/"],
                                              logDirectory: fleet.root + "/logs")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try String(contentsOfFile: root + "/etc/flotilla/node.env", encoding: .utf8) == """
                FLOTILLA_NODE_ARGS=--runtime picoclaw
                PICOCLAW_HOME=/srv/picoclaw
                FLOTILLA_PICOCLAW_RESTART=systemctl restart picoclaw.service

                """)
            let dropIn = try String(contentsOfFile: root + "/etc/systemd/system/picoclaw.service.d/flotilla.conf", encoding: .utf8)
            #expect(dropIn.contains("Environment=SSL_CERT_DIR=/etc/ssl/certs:/srv/picoclaw/flotilla-ca\n"), "system roots first, then the fleet CA")
            #expect(dropIn.contains("Environment=PICOCLAW_HOME=/srv/picoclaw\n"))
            let rule = try String(contentsOfFile: root + "/etc/polkit-1/rules.d/50-flotilla-picoclaw.rules", encoding: .utf8)
            #expect(rule.contains(#"action.lookup("unit") == "picoclaw.service" && action.lookup("verb") == "restart""#))
            #expect(rule.contains(#"subject.user == "flotilla""#))
            let agentDropIn = try String(contentsOfFile: root + "/etc/systemd/system/flotilla-node.service.d/picoclaw-home.conf", encoding: .utf8)
            #expect(agentDropIn == "[Service]\nReadWritePaths=-/srv/picoclaw\n")
            #expect(FileManager.default.fileExists(atPath: root + "/srv/picoclaw"))

            let bad = try ChildProcess.run("/bin/sh", [bundle + "/install.sh", "--root", root, "--binary", Binaries.node, "--no-enroll",
                                                       "--picoclaw-unit", "pico claw"], logDirectory: fleet.root + "/logs")
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("not a unit name"))
        }
    }

    @Test func refusesADirectoryThatIsNotABundle() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-install-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: Binaries.repositoryRoot + "/provisioning/install.sh", toPath: directory + "/install.sh")
        let result = try ChildProcess.run("/bin/sh", [directory + "/install.sh", "--root", directory + "/root"], logDirectory: directory)
        #expect(result.status != 0)
        #expect(result.stderr.contains("no node.conf"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/root"))
    }
}
}
