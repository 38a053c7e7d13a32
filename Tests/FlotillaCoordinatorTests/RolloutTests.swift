import FlotillaProtocol
import Foundation
import Synchronization
import Testing

@testable import FlotillaCoordinator

/// Publishing, planning, waves, the failure threshold, and the long-poll board.
@Suite struct RolloutTests {
    @Test(arguments: Backend.available)
    func planShowsAddedChangedAndRemovedSkillsAndConfigKeys(_ backend: Backend) async throws {
        try await ReleaseFixture.with(backend) { fixture in
            try await fixture.addNodes(["a", "b"])
            let first = try await fixture.releases.publish(PublishRequest(dryRun: true, groups: [sampleGroup()]))
            #expect(first.releaseVersion == nil)
            #expect(first.groups[0].changed)
            #expect(first.groups[0].skillsAdded == ["node-health"])
            #expect(first.groups[0].nodes == ["a", "b"])
            #expect(try await fixture.store.maxReleaseVersion() == 0, "a dry run publishes nothing")

            #expect(try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [sampleGroup()])).releaseVersion == 1)
            let same = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [sampleGroup()]))
            #expect(same.releaseVersion == nil, "no change, no release")
            #expect(same.groups[0].changed == false)

            let config = JSONDocument.object([.init("agents", .object([.init("defaults", .object([.init("model_name", .string("m2")), .init("max_tokens", .int(512))]))]))])
            let next = try await fixture.releases.publish(PublishRequest(dryRun: true, groups: [
                sampleGroup(skills: ["node-health": "Changed.", "greeter": "Greets."], config: config),
            ]))
            #expect(next.groups[0].skillsAdded == ["greeter"])
            #expect(next.groups[0].skillsChanged == ["node-health"])
            #expect(next.groups[0].configAdded == ["agents.defaults.max_tokens"])
            #expect(next.groups[0].configChanged == ["agents.defaults.model_name"])
            let removal = try await fixture.releases.publish(PublishRequest(dryRun: true, groups: [sampleGroup(skills: ["greeter": "G."], config: .object([]))]))
            #expect(removal.groups[0].skillsRemoved == ["node-health"])
            #expect(removal.groups[0].configRemoved == ["agents.defaults.model_name"])
        }
    }

    @Test func wavesFollowThePolicy() async {
        let nodes = (1...10).map { "n\($0)" }
        let byCount = ReleaseService.waves(nodes, policy: RolloutPolicy(canary: 1, batchSize: 4, batchPercent: nil))
        #expect(byCount.map(\.count) == [1, 4, 4, 1])
        let byPercent = ReleaseService.waves(nodes, policy: RolloutPolicy(canary: 2, batchSize: nil, batchPercent: 50))
        #expect(byPercent.map(\.count) == [2, 5, 3])
        #expect(ReleaseService.waves([], policy: RolloutPolicy()).isEmpty)
        #expect(ReleaseService.waves(nodes, policy: RolloutPolicy(canary: 0, batchSize: nil, batchPercent: 100)).map(\.count) == [10])
    }

    @Test(arguments: Backend.available)
    func manifestIsSignedAndListsEveryFileWithItsHash(_ backend: Backend) async throws {
        try await ReleaseFixture.with(backend) { fixture in
            let nodes = try await fixture.addNodes(["a"])
            _ = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [sampleGroup()]))
            let desired = try #require(fixture.releases.board.desired(nodeID: nodes[0].id, group: "edge"))
            #expect(desired.version == 1)
            #expect(desired.digest == Envelope.sha256Hex(desired.envelope))
            let envelope = try JSONDecoder().decode(SignedEnvelope.self, from: desired.envelope)
            let trust = try #require(try TrustRootTests.walk(fixture.trust.trustResponseBody(), pinned: fixture.trust.rootPublicKey))
            let signingKey = try #require(Data(base64Encoded: trust.signingKeys[0]))
            let payload = try #require(Envelope.verifiedPayload(envelope, publicKey: signingKey))
            let manifest = try JSONDecoder().decode(ReleaseManifest.self, from: payload)
            #expect(manifest.group == "edge")
            #expect(manifest.files.map(\.path) == ["skills/node-health/SKILL.md"])
            let blob = try #require(try await fixture.store.blob(sha256: manifest.files[0].sha256, group: "edge"))
            #expect(Envelope.sha256Hex(blob) == manifest.files[0].sha256)
            #expect(Int64(blob.count) == manifest.files[0].size)
            #expect(try await fixture.store.blob(sha256: manifest.files[0].sha256, group: "other") == nil, "blobs are served only to their group")
        }
    }

    @Test(arguments: Backend.available)
    func gatewayModelsBecomePicoClawModelEntriesCallingTheCoordinator(_ backend: Backend) async throws {
        try await ReleaseFixture.with(backend) { fixture in
            let nodes = try await fixture.addNodes(["a"])
            var group = sampleGroup(config: .object([.init("version", .int(3)), .init("model_list", .array([
                .object([.init("model_name", .string("local")), .init("model", .string("llama3"))]),
            ]))]))
            group.gatewayModels = [GatewayModelEntry(name: "fleet-default", api: .openai), GatewayModelEntry(name: "fleet-claude", api: .anthropic)]
            let plan = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [group]))
            #expect(plan.groups[0].configAdded.contains("model_list[fleet-default]"))
            let desired = try #require(fixture.releases.board.desired(nodeID: nodes[0].id, group: "edge"))
            let envelope = try JSONDecoder().decode(SignedEnvelope.self, from: desired.envelope)
            let manifest = try JSONDecoder().decode(ReleaseManifest.self, from: try #require(Data(base64Encoded: envelope.signed)))
            #expect(manifest.gatewayModels == group.gatewayModels)
            func entry(_ name: String, _ provider: String) -> JSONDocument {
                .object([.init("model_name", .string(name)), .init("provider", .string(provider)), .init("model", .string(name)),
                         .init("api_base", .string("https://coordinator.test:8443/v1")),
                         .init("api_keys", .array([.string("file://flotilla-gateway.key")]))])
            }
            // The group's own entry first, then one per gateway model; the key only by reference.
            // (Decoding sorts members, so compare sorted.)
            func sorted(_ value: JSONDocument) -> JSONDocument {
                switch value {
                case .object(let members): .object(members.map { .init($0.key, sorted($0.value)) }.sorted { $0.key < $1.key })
                case .array(let elements): .array(elements.map(sorted))
                default: value
                }
            }
            #expect(manifest.runtimeConfig["model_list"].map(sorted) == sorted(.array([
                .object([.init("model_name", .string("local")), .init("model", .string("llama3"))]),
                entry("fleet-default", "openai"), entry("fleet-claude", "anthropic-messages"),
            ])))
            // A command runtime's config is its own.
            var command = sampleGroup("lab")
            command.runtime = "command"
            command.gatewayModels = group.gatewayModels
            let (commandManifest, _) = try ReleaseService.manifest(for: command, version: 2, now: Date(), expiresAfter: 86_400, gatewayURLs: ["https://x/v1"])
            #expect(commandManifest.runtimeConfig == command.config)
        }
    }

    /// A coordinator that moved republishes the groups whose PicoClaw entries call it, and only those.
    @Test func aGatewayURLChangeRepublishesTheGroupsWithGatewayModels() async throws {
        let url = Mutex("https://coordinator.test:8443/v1")
        let fixture = try await ReleaseFixture(gatewayURLs: { [url.withLock { $0 }] })
        try await fixture.addNodes(["a"])
        // The group's own entry goes through a tunnel with the gateway's key file: not one of ours.
        // (Its members are in written order; the stored spec has them sorted.)
        var group = sampleGroup(config: .object([.init("version", .int(3)), .init("model_list", .array([
            .object([.init("model_name", .string("tunnel")), .init("api_base", .string("https://proxy.lan/v1")),
                     .init("api_keys", .array([.string("file://flotilla-gateway.key")]))]),
        ]))]))
        group.gatewayModels = [GatewayModelEntry(name: "fleet-default", api: .openai)]
        let plain = sampleGroup("lab")
        let request = PublishRequest(dryRun: false, groups: [group, plain])
        _ = try await fixture.releases.publish(request)
        var dryRun = request
        dryRun.dryRun = true
        let again = try await fixture.releases.publish(dryRun)
        #expect(again.groups.allSatisfy { !$0.changed }, "same address: nothing to publish \(again.groups)")

        url.withLock { $0 = "https://fleet.example:9443/v1" }
        let moved = try await fixture.releases.publish(request)
        #expect(moved.groups[0].changed && moved.groups[0].configChanged == ["model_list[fleet-default]"])
        #expect(!moved.groups[1].changed, "a group without gateway models calls nothing")
        let release = try #require(try await fixture.store.latestReleases()["edge"])
        #expect(release.version == 2)
        #expect(release.manifest().map { PicoClawModelList.gatewayURLs(in: $0.runtimeConfig, for: group.gatewayModels!) } == ["fleet-default": ["https://fleet.example:9443/v1"]])
        #expect(try await fixture.releases.publish(dryRun).groups.allSatisfy { !$0.changed })
    }

    /// With two coordinators each gateway model has an entry per coordinator, and PicoClaw's
    /// fallbacks list the copies after the model they copy, so its LLM calls survive either one.
    @Test func everyCoordinatorIsAPicoClawFallbackAndAJoiningOneRepublishes() async throws {
        let urls = Mutex(["https://a.fleet.lan:8443/v1"])
        let fixture = try await ReleaseFixture(gatewayURLs: { urls.withLock { $0 } })
        try await fixture.addNodes(["a"])
        var group = sampleGroup(config: .object([.init("version", .int(3)), .init("agents", .object([
            .init("defaults", .object([.init("model_name", .string("fleet-default")),
                                       .init("model_fallbacks", .array([.string("mine"), .string("fleet-claude")]))])),
        ]))]))
        group.gatewayModels = [GatewayModelEntry(name: "fleet-default", api: .openai), GatewayModelEntry(name: "fleet-claude", api: .anthropic)]
        let request = PublishRequest(dryRun: false, groups: [group])
        _ = try await fixture.releases.publish(request)
        let single = try #require(try await fixture.store.latestReleases()["edge"]?.manifest())
        #expect(single.runtimeConfig["agents"]?["defaults"]?["model_fallbacks"] == .array([.string("mine"), .string("fleet-claude")]),
                "one coordinator: the group's own fallbacks as written")

        urls.withLock { $0 = ["https://a.fleet.lan:8443/v1", "https://b.fleet.lan:8443/v1"] }
        let joined = try await fixture.releases.publish(request)
        #expect(joined.groups[0].configChanged == ["model_list[fleet-claude]", "model_list[fleet-default]"])
        let manifest = try #require(try await fixture.store.latestReleases()["edge"]?.manifest())
        guard case .array(let entries)? = manifest.runtimeConfig["model_list"] else { Issue.record("no model_list"); return }
        let calls = entries.map { entry -> [String] in
            ["model_name", "model", "api_base"].map { key in if case .string(let text)? = entry[key] { text } else { "-" } }
        }
        #expect(calls == [
            ["fleet-default", "fleet-default", "https://a.fleet.lan:8443/v1"],
            ["fleet-default@2", "fleet-default@2", "https://b.fleet.lan:8443/v1"],
            ["fleet-claude", "fleet-claude", "https://a.fleet.lan:8443/v1"],
            ["fleet-claude@2", "fleet-claude@2", "https://b.fleet.lan:8443/v1"],
        ])
        #expect(manifest.runtimeConfig["agents"]?["defaults"]?["model_fallbacks"]
            == .array(["fleet-default@2", "mine", "fleet-claude", "fleet-claude@2"].map(JSONDocument.string)))
        #expect(PicoClawModelList.gatewayURLs(in: manifest.runtimeConfig, for: group.gatewayModels!)
            == ["fleet-default": ["https://a.fleet.lan:8443/v1", "https://b.fleet.lan:8443/v1"],
                "fleet-claude": ["https://a.fleet.lan:8443/v1", "https://b.fleet.lan:8443/v1"]])
        var dryRun = request
        dryRun.dryRun = true
        #expect(try await fixture.releases.publish(dryRun).groups.allSatisfy { !$0.changed }, "the same coordinators: nothing to publish")
    }

    /// A group's local model is PicoClaw's last fallback, after every coordinator; one named like
    /// a gateway model, or on a command group, is refused and nothing is published.
    @Test func aLocalModelIsTheLastFallbackAfterEveryCoordinator() async throws {
        let fixture = try await ReleaseFixture(gatewayURLs: { ["https://a.fleet.lan:8443/v1", "https://b.fleet.lan:8443/v1"] })
        try await fixture.addNodes(["a"])
        var group = sampleGroup(config: .object([.init("version", .int(3)), .init("agents", .object([
            .init("defaults", .object([.init("model_name", .string("fleet-default"))])),
        ]))]))
        group.gatewayModels = [GatewayModelEntry(name: "fleet-default", api: .openai)]
        group.localModel = LocalModel(url: "http://127.0.0.1:8080/v1", model: "qwen2.5-0.5b")
        let published = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [group]))
        #expect(published.groups[0].configAdded.contains("model_list[local-model]"))
        let manifest = try #require(try await fixture.store.latestReleases()["edge"]?.manifest())
        guard case .array(let entries)? = manifest.runtimeConfig["model_list"] else { Issue.record("no model_list"); return }
        #expect(entries.compactMap { if case .string(let name)? = $0["model_name"] { name } else { nil } } == ["local-model", "fleet-default", "fleet-default@2"])
        #expect(entries.first == PicoClawModelList.localEntry(group.localModel!))
        #expect(manifest.runtimeConfig["agents"]?["defaults"]?["model_fallbacks"] == .array([.string("fleet-default@2"), .string("local-model")]))
        #expect(PicoClawModelList.gatewayURLs(in: manifest.runtimeConfig, for: group.gatewayModels!)["fleet-default"]?.count == 2)

        var clash = group
        clash.localModel = LocalModel(url: "http://127.0.0.1:8080/v1", model: "fleet-default")
        await expectCoordinatorError(.invalidSpec) { _ = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [clash])) }
        var command = group
        command.runtime = "command"
        await expectCoordinatorError(.invalidSpec) { _ = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [command])) }
        #expect(try await fixture.store.maxReleaseVersion() == 1)
    }

    @Test(arguments: Backend.available)
    func wavesAdvanceAsNodesReportAndPauseAtTheThreshold(_ backend: Backend) async throws {
        try await ReleaseFixture.with(backend) { fixture in
            let nodes = try await fixture.addNodes(["a", "b", "c", "d", "e"])
            let byName = Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, $0) })
            _ = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [sampleGroup()]))
            func statuses() async throws -> [String: String] {
                Dictionary(uniqueKeysWithValues: try await fixture.releases.rolloutView(version: 1, withNodes: true)!.nodes!.map { ($0.name, $0.status) })
            }
            // Canary: one node assigned, the rest waiting.
            #expect(try await statuses() == ["a": "pending", "b": "waiting", "c": "waiting", "d": "waiting", "e": "waiting"])
            try await fixture.engine.evaluate(now: Date())
            #expect(try await statuses()["b"] == "waiting", "the canary has not finished")

            try await fixture.report(byName["a"]!, 1, .applied)
            try await fixture.engine.evaluate(now: Date())
            #expect(try await statuses() == ["a": "applied", "b": "pending", "c": "pending", "d": "waiting", "e": "waiting"])
            #expect(fixture.releases.board.desired(nodeID: byName["b"]!.id, group: "edge")?.version == 1)
            #expect(fixture.releases.board.desired(nodeID: byName["d"]!.id, group: "edge") == nil)

            // One failure reaches the threshold (1): paused, no further wave.
            try await fixture.report(byName["b"]!, 1, .rolledBack, code: .healthCheckFailed)
            try await fixture.report(byName["c"]!, 1, .applied)
            try await fixture.engine.evaluate(now: Date())
            var view = try #require(try await fixture.releases.rolloutView(version: 1, withNodes: false))
            #expect(view.state == .paused)
            #expect(view.reason?.contains("threshold 1") == true)
            #expect(try await statuses()["d"] == "waiting")

            // Resume: the threshold counts new failures only; the rollout finishes.
            #expect(try await fixture.store.setRolloutState(version: 1, to: .running, reason: nil, from: [.paused]))
            try await fixture.engine.evaluate(now: Date())
            #expect(try await statuses()["d"] == "pending")
            try await fixture.report(byName["d"]!, 1, .applied)
            try await fixture.report(byName["e"]!, 1, .applied)
            try await fixture.engine.evaluate(now: Date())
            view = try #require(try await fixture.releases.rolloutView(version: 1, withNodes: false))
            #expect(view.state == .completed)
            #expect(view.counts["applied"] == 4)
            #expect(view.counts["rolled_back"] == 1)

            // The fleet view carries each node's release.
            let views = try await fixture.store.nodeViews(group: "edge", now: Date(), interval: 15)
            #expect(views.first { $0.name == "b" }?.releaseStatus == "rolled_back")
            #expect(views.first { $0.name == "b" }?.releaseError == "health_check_failed")
            #expect(views.first { $0.name == "e" }?.releaseVersion == 1)
        }
    }

    @Test(arguments: Backend.available)
    func offlineNodesDoNotHoldUpWavesAndKeepTheirAssignment(_ backend: Backend) async throws {
        try await ReleaseFixture.with(backend) { fixture in
            let online = try await fixture.addNodes(["a", "b"])
            let offline = try await fixture.addNodes(["z"], seen: nil)
            _ = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [
                sampleGroup(policy: RolloutPolicy(canary: 1, batchSize: 1, batchPercent: nil, waitSeconds: 0, failureThreshold: 1)),
            ]))
            try await fixture.report(online[0], 1, .applied)
            try await fixture.engine.evaluate(now: Date())
            try await fixture.report(online[1], 1, .applied)
            try await fixture.engine.evaluate(now: Date())
            try await fixture.engine.evaluate(now: Date())
            let view = try #require(try await fixture.releases.rolloutView(version: 1, withNodes: false))
            #expect(view.state == .completed)
            #expect(view.offline == 1)
            #expect(fixture.releases.board.desired(nodeID: offline[0].id, group: "edge")?.version == 1, "updated when it returns")
        }
    }

    @Test(arguments: Backend.available)
    func aNewReleaseSupersedesUnreachedWavesAndRollbackRepublishesOldContent(_ backend: Backend) async throws {
        try await ReleaseFixture.with(backend) { fixture in
            let nodes = try await fixture.addNodes(["a", "b", "c"])
            _ = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [sampleGroup()]))
            let second = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [sampleGroup(skills: ["node-health": "v2"])]))
            #expect(second.releaseVersion == 2)
            let old = try #require(try await fixture.releases.rolloutView(version: 1, withNodes: true))
            #expect(old.nodes?.filter { $0.status == "superseded" }.count == 2)

            let rolledBack = try await fixture.releases.rollback(group: "edge")
            #expect(rolledBack.releaseVersion == 3)
            #expect(rolledBack.groups[0].skillsChanged == ["node-health"])
            let release = try #require(try await fixture.store.release(version: 3, group: "edge"))
            #expect(release.spec.skills == sampleGroup().skills, "version 3 carries version 1's content")
            #expect(fixture.releases.board.desired(nodeID: nodes[0].id, group: "edge")?.version == 3)
        }
    }

    @Test(arguments: Backend.available)
    func invalidSpecsAreRefusedWithNothingPublished(_ backend: Backend) async throws {
        try await ReleaseFixture.with(backend) { fixture throws in
            var unsafe = sampleGroup()
            unsafe.skills[0].files.append(PublishFile(path: "../escape", mode: 0o644, content: ""))
            var badMode = sampleGroup()
            badMode.skills[0].files[0].mode = 0o4755
            var badName = sampleGroup()
            badName.skills[0].name = "Bad_Name"
            var noSkillFile = sampleGroup()
            noSkillFile.skills[0].files = [PublishFile(path: "README.md", mode: 0o644, content: "")]
            var badRuntime = sampleGroup()
            badRuntime.runtime = "docker"
            for group in [unsafe, badMode, badName, noSkillFile, badRuntime] {
                await expectCoordinatorError(.invalidSpec) { _ = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [group])) }
            }
            await expectCoordinatorError(.invalidSpec) { _ = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [sampleGroup(), sampleGroup()])) }
            #expect(try await fixture.store.maxReleaseVersion() == 0)
        }
    }

    @Test func longPollWakesOnAssignmentAndTimesOutOtherwise() async throws {
        let board = ReleaseBoard()
        let release = DesiredRelease(version: 1, group: "g", envelope: Data("{}".utf8), digest: String(repeating: "a", count: 64))
        let start = ContinuousClock.now
        let none = await board.wait(nodeID: "n", group: "g", seen: "", timeout: .milliseconds(100))
        #expect(none == nil)
        #expect(ContinuousClock.now - start >= .milliseconds(100))

        async let woken = board.wait(nodeID: "n", group: "g", seen: "", timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(50))
        board.assign(["n": release])
        #expect(await woken == release)
        // Already seen: waits again; a group default does not override an assignment.
        #expect(await board.wait(nodeID: "n", group: "g", seen: release.digest, timeout: .milliseconds(10)) == nil)
        board.setGroupDefault(DesiredRelease(version: 2, group: "g", envelope: Data(), digest: String(repeating: "b", count: 64)), group: "g")
        #expect(board.desired(nodeID: "n", group: "g")?.version == 1)
        #expect(board.desired(nodeID: "new", group: "g")?.version == 2)
    }
}

@Suite struct ReleaseRenewalTests {
    @Test(arguments: Backend.available)
    func currentReleasesAreReSignedBeforeTheyExpire(_ backend: Backend) async throws {
        try await ReleaseFixture.with(backend) { fixture in
            let nodes = try await fixture.addNodes(["a"])
            let published = Date()
            _ = try await fixture.releases.publish(PublishRequest(dryRun: false, expiresAfterSeconds: 3 * 86_400, groups: [sampleGroup()]), now: published)
            let before = try #require(fixture.releases.board.desired(nodeID: nodes[0].id, group: "edge"))
            #expect(try await fixture.releases.renewExpiring(now: published.addingTimeInterval(86_400)) == 0, "a third in: still fresh")

            let later = published.addingTimeInterval(2.5 * 86_400)
            #expect(try await fixture.releases.renewExpiring(now: later) == 1)
            let after = try #require(fixture.releases.board.desired(nodeID: nodes[0].id, group: "edge"))
            #expect(after.version == before.version)
            #expect(after.digest != before.digest, "nodes see a new envelope")
            let payload = try #require(Data(base64Encoded: try JSONDecoder().decode(SignedEnvelope.self, from: after.envelope).signed))
            let manifest = try JSONDecoder().decode(ReleaseManifest.self, from: payload)
            #expect(Timestamps.parse(manifest.expiresAt).map { $0 > later.addingTimeInterval(2.9 * 86_400) } == true)
            #expect(try await fixture.store.release(version: 1, group: "edge")?.digest == after.digest)
        }
    }

    /// After `keys rotate-signing`, nodes judge envelopes by the new root document first, so the
    /// current releases are signed again by the new key at once (same version and content).
    @Test(arguments: Backend.available)
    func aSigningKeyRotationReSignsTheCurrentReleasesAndCanResetFloors(_ backend: Backend) async throws {
        try await ReleaseFixture.with(backend) { fixture in
            let nodes = try await fixture.addNodes(["a"])
            _ = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [sampleGroup()]))
            let before = try #require(fixture.releases.board.desired(nodeID: nodes[0].id, group: "edge"))
            // Through the service the admin endpoint calls: the re-signing is part of the rotation.
            let view = try await fixture.releases.rotateSigningKey(offlineRoot: nil, resetReleaseFloor: true)
            let after = try #require(fixture.releases.board.desired(nodeID: nodes[0].id, group: "edge"))
            #expect(after.version == before.version && after.digest != before.digest)
            let signed = try JSONDecoder().decode(SignedEnvelope.self, from: after.envelope)
            #expect(signed.signatures.map(\.keyID) == view.signingKeyIDs)
            let roots = try JSONDecoder().decode(TrustResponse.self, from: fixture.trust.trustResponseBody()).roots
            let last = try #require(roots.last)
            let newest = try JSONDecoder().decode(RootDocument.self, from: try #require(Data(base64Encoded: last.signed)))
            #expect(newest.version == 2 && newest.releaseFloorReset == true)
        }
    }

    /// A release names its target inside the signature: the group, and the nodes of other groups
    /// its `members` claimed.
    @Test(arguments: Backend.available)
    func aManifestNamesTheNodesItsMembersClaimed(_ backend: Backend) async throws {
        try await ReleaseFixture.with(backend) { fixture in
            try await fixture.addNodes(["own"], group: "edge")
            let stray = try await fixture.addNodes(["stray"], group: "unlisted")
            var group = sampleGroup()
            group.members = ["stray"]
            _ = try await fixture.releases.publish(PublishRequest(dryRun: false, groups: [group]))
            let stored = try #require(try await fixture.store.release(version: 1, group: "edge"))
            let payload = try #require(Data(base64Encoded: try JSONDecoder().decode(SignedEnvelope.self, from: stored.envelope).signed))
            let manifest = try JSONDecoder().decode(ReleaseManifest.self, from: payload)
            #expect(manifest.group == "edge" && manifest.memberNodeIDs == [stray[0].id])
        }
    }
}
