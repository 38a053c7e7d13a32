import FlotillaProtocol
import Foundation
import Testing

@testable import FlotillaFleet

/// A group's `local_model:`: loaded into the publish request, or refused by `plan` with the line
/// to fix (nothing is published).
@Suite struct LocalModelSpecTests {
    static func spec(_ localModel: String, runtime: String = "picoclaw") -> String {
        "version: 1\ngroups:\n  demo:\n    runtime: \(runtime)\n    local_model: \(localModel)\n"
    }

    @Test func aLocalModelIsLoadedIntoTheGroupsRelease() throws {
        let fleet = try TemporaryFleet(spec: Self.spec("{url: http://127.0.0.1:8080/v1, model: qwen2.5-0.5b}"))
        let loaded = try FleetSpecLoader(directory: fleet.directory).load()
        let local = try #require(loaded.publishGroups.first?.localModel)
        #expect(local == LocalModel(url: "http://127.0.0.1:8080/v1", model: "qwen2.5-0.5b"))
        #expect(local.healthURL == "http://127.0.0.1:8080/health", "llama-server's health endpoint at the server's root")
    }

    @Test(arguments: [
        ("{url: ftp://127.0.0.1/v1, model: m}", "groups.demo.local_model.url: 'ftp://127.0.0.1/v1' must be an http:// or https:// URL"),
        ("{url: http://me:secret@127.0.0.1/v1, model: m}", "groups.demo.local_model.url: 'http://me:secret@127.0.0.1/v1' must not carry a user or password"),
        ("{url: http://127.0.0.1:8080/v1}", "groups.demo.local_model: needs 'url' (the server's OpenAI-compatible base, e.g. http://127.0.0.1:8080/v1) and 'model'"),
        ("{url: https://127.0.0.1:8443/v1, model: m}",
         "groups.demo.local_model: health https://127.0.0.1:8443/health must be an http:// URL: the node agent checks it over plain HTTP on the board"),
        ("{url: HTTP://127.0.0.1:8080/v1, model: m}",
         "groups.demo.local_model: health HTTP://127.0.0.1:8080/health must be an http:// URL: the node agent checks it over plain HTTP on the board"),
        ("{url: http://127.0.0.1:8080/v1, model: m, port: 1}", "groups.demo.local_model.port: unknown key 'port' (expected one of: url, model, health)"),
    ])
    func aBadLocalModelIsRefusedNamingTheKey(_ value: String, _ message: String) throws {
        let (_, problems) = try FleetSpecValidationTests.problems(Self.spec(value))
        #expect(problems.map(\.message).contains(message), "\(problems.map(\.message))")
    }

    @Test func onlyAPicoClawGroupHasALocalModel() throws {
        let (_, problems) = try FleetSpecValidationTests.problems(Self.spec("{url: http://127.0.0.1:8080/v1, model: m}", runtime: "command"))
        #expect(problems.map(\.message) == ["groups.demo.local_model: a local model is written into PicoClaw's config; this group's runtime is command"])
    }

    /// PicoClaw keeps one provider per provider/model: a local model named like a gateway model
    /// would be sent to the coordinator.
    @Test func aLocalModelMayNotShareAGatewayModelsName() {
        let local = LocalModel(url: "http://127.0.0.1:8080/v1", model: "Fleet-Default")
        #expect(local.problem(gatewayModels: ["fleet-default"]) == "model 'Fleet-Default' is also a gateway model's name; PicoClaw would not tell them apart")
        #expect(local.problem(gatewayModels: ["fleet-cheap"]) == nil)
    }
}
