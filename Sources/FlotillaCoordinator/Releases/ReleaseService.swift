import Crypto
import FlotillaProtocol
import Foundation
import Logging

/// Publishing releases: validates a fleet spec, plans what changes per group, signs one manifest
/// per changed group under a new fleet-wide version, and starts its rollout.
final class ReleaseService: Sendable {
    let store: any FleetStore
    let trust: TrustRoot
    let board: ReleaseBoard
    let logger: Logger
    /// Nodes seen within this many seconds count as online (2 heartbeat intervals).
    let onlineWindow: TimeInterval
    /// The gateway's URLs as nodes reach them (`<advertised URL>/v1` of every running
    /// coordinator, in a fixed order), for runtime model entries.
    let gatewayURLs: @Sendable () async -> [String]

    /// Tells the other coordinators which assignments changed, so their boards follow.
    let bus: any ClusterBus

    init(store: any FleetStore, trust: TrustRoot, board: ReleaseBoard, logger: Logger, onlineWindow: TimeInterval,
         bus: any ClusterBus = LocalClusterBus(), gatewayURLs: @escaping @Sendable () async -> [String]) {
        self.gatewayURLs = gatewayURLs
        self.bus = bus
        self.store = store
        self.trust = trust
        self.board = board
        self.logger = logger
        self.onlineWindow = onlineWindow
    }

    /// The gateway configuration a publish may carry, and the providers whose key is set.
    struct GatewayPublishing {
        var service: GatewayConfigService
        var keysSet: Set<String>
    }

    /// Plans and, unless a dry run, publishes: the changed groups' releases and the gateway
    /// configuration, in one transaction. Returns the plan and the new version if any.
    func publish(_ request: PublishRequest, now: Date = Date(), gateway: GatewayPublishing? = nil) async throws(CoordinatorError) -> PublishResponse {
        try Self.validate(request)
        var gatewayPlan: GatewayPlan?
        var gatewayChange: GatewayChange?
        if let spec = request.gateway, let gateway {
            (gatewayPlan, gatewayChange) = try await gateway.service.plan(spec, keysSet: gateway.keysSet)
        }
        let latest = try await store.latestReleases()
        let nodes = try await store.nodes().filter { $0.adminState != .revoked }
        var plans: [GroupPlan] = []
        var changedGroups: [PublishGroup] = []
        var claimed = Set<String>()
        var members: [String: [NodeRecord]] = [:]
        let gatewayURLs = await gatewayURLs()
        // A node belongs to the group it enrolled into, else to the first group listing it.
        for group in request.groups {
            members[group.name] = nodes.filter { $0.group == group.name }
            claimed.formUnion(members[group.name]!.map(\.id))
        }
        for group in request.groups {
            let extra = nodes.filter { group.members.contains($0.name) && !claimed.contains($0.id) }
            claimed.formUnion(extra.map(\.id))
            members[group.name]!.append(contentsOf: extra)
        }
        for group in request.groups {
            let plan = Self.plan(group, previous: latest[group.name], nodes: members[group.name]!.map(\.name).sorted(), gatewayURLs: gatewayURLs)
            plans.append(plan)
            if plan.changed { changedGroups.append(group) }
        }
        guard !request.dryRun, !changedGroups.isEmpty else {
            if !request.dryRun, let gatewayChange, let gateway {
                try await gateway.service.commit(gatewayChange, now: now)
                logger.info("gateway configuration published", metadata: ["version": "\(gatewayChange.version)"])
            }
            return PublishResponse(groups: plans, releaseVersion: nil, gateway: gatewayPlan)
        }

        let version = try await store.maxReleaseVersion() + 1
        let online = try await store.nodesSeen(since: now.addingTimeInterval(-onlineWindow))
        var releases: [Publication.GroupRelease] = []
        for group in changedGroups {
            // The release names its target inside the signature: the group, and the nodes of
            // other groups its `members` claimed (a node refuses a manifest not meant for it).
            let claimedIDs = members[group.name]!.filter { $0.group != group.name }.map(\.id)
            let (manifest, blobs) = try Self.manifest(for: group, version: version, now: now, expiresAfter: request.expiresAfterSeconds,
                                                      gatewayURLs: gatewayURLs, memberNodeIDs: claimedIDs)
            let envelope = try trust.sealRelease(manifest)
            let groupNodes = members[group.name]!.sorted { a, b in
                let (ao, bo) = (online.contains(a.id), online.contains(b.id))
                return ao != bo ? ao : a.name < b.name
            }
            releases.append(Publication.GroupRelease(
                group: group.name, spec: group, envelope: envelope, digest: Envelope.sha256Hex(envelope),
                expiresAt: now.addingTimeInterval(TimeInterval(request.expiresAfterSeconds)), blobs: blobs,
                policy: group.rollout, waves: Self.waves(groupNodes.map(\.id), policy: group.rollout)
            ))
        }
        let publication = Publication(version: version, groups: releases, now: now)
        let assigned = try await store.storePublication(publication, version: version, gateway: gateway == nil ? nil : gatewayChange)
        if let gatewayChange, let gateway {
            await gateway.service.activate(gatewayChange)
            logger.info("gateway configuration published", metadata: ["version": "\(gatewayChange.version)"])
        }
        var assignments: [String: DesiredRelease] = [:]
        for (node, group) in assigned {
            guard let release = releases.first(where: { $0.group == group }) else { continue }
            assignments[node] = DesiredRelease(version: version, group: group, envelope: release.envelope, digest: release.digest)
        }
        board.assign(assignments)
        for release in releases { await bus.publish(.releases(version: version, group: release.group)) }
        logger.info("release published", metadata: [
            "version": "\(version)", "groups": "\(changedGroups.map(\.name).joined(separator: ","))",
            "first_wave": "\(assigned.count)",
        ])
        return PublishResponse(groups: plans, releaseVersion: version, gateway: gatewayPlan)
    }

    /// Publishes, as a new higher version, the content each group had before its latest release.
    func rollback(group only: String?, now: Date = Date()) async throws(CoordinatorError) -> PublishResponse {
        let latest = try await store.latestReleases()
        var groups: [PublishGroup] = []
        for name in latest.keys.sorted() where only == nil || only == name {
            let history = try await store.releases(group: name)
            guard history.count >= 2 else {
                if only != nil { throw CoordinatorError(.conflict, "group \(name) has no earlier release to roll back to") }
                continue
            }
            groups.append(history[1].spec)
        }
        if let only, latest[only] == nil { throw CoordinatorError.notFound("group \(only) has no release") }
        guard !groups.isEmpty else { throw CoordinatorError(.conflict, "no group has an earlier release to roll back to") }
        return try await publish(PublishRequest(dryRun: false, groups: groups), now: now)
    }

    // MARK: Planning

    /// What publishing `group` changes against its `previous` release. A gateway model entry
    /// changes with the URLs it calls, so a coordinator that moved (`--advertise-url`, another
    /// port), joined or left republishes the groups whose PicoClaw entries call the old set.
    static func plan(_ group: PublishGroup, previous: StoredRelease?, nodes: [String], gatewayURLs: [String]) -> GroupPlan {
        let new = skillDigests(group.skills)
        let old = previous.map { skillDigests($0.spec.skills) } ?? [:]
        let newConfig = configPaths(group) { _ in gatewayURLs.joined(separator: ", ") }
        // Each gateway entry of the current release with the URL its signed manifest calls; one
        // the manifest does not show (unreadable, or written otherwise) counts as changed, so the
        // group is republished calling the current URL.
        let oldConfig: [String: JSONDocument] = previous.map { previous -> [String: JSONDocument] in
            let urls = previous.manifest().map { PicoClawModelList.gatewayURLs(in: $0.runtimeConfig, for: previous.spec.gatewayModels ?? []) } ?? [:]
            return configPaths(previous.spec) { urls[$0]?.joined(separator: ", ") ?? "(unknown)" }
        } ?? [:]
        let plan = GroupPlan(
            group: group.name, changed: false,
            skillsAdded: new.keys.filter { old[$0] == nil }.sorted(),
            skillsChanged: new.keys.filter { old[$0] != nil && old[$0] != new[$0] }.sorted(),
            skillsRemoved: old.keys.filter { new[$0] == nil }.sorted(),
            configAdded: newConfig.keys.filter { oldConfig[$0] == nil }.sorted(),
            configChanged: newConfig.keys.filter { oldConfig[$0] != nil && oldConfig[$0] != newConfig[$0] }.sorted(),
            configRemoved: oldConfig.keys.filter { newConfig[$0] == nil }.sorted(),
            nodes: nodes, currentVersion: previous?.version
        )
        var result = plan
        result.changed = previous == nil || !plan.skillsAdded.isEmpty || !plan.skillsChanged.isEmpty || !plan.skillsRemoved.isEmpty
            || !plan.configAdded.isEmpty || !plan.configChanged.isEmpty || !plan.configRemoved.isEmpty
            || previous?.spec.runtime != group.runtime
        return result
    }

    /// The config's leaf paths plus one `model_list[NAME]` per gateway model, the entries the
    /// node agent writes for it and its coordinator copies (calling `gatewayURLs(NAME)`).
    static func configPaths(_ group: PublishGroup, gatewayURLs: (String) -> String) -> [String: JSONDocument] {
        var paths = group.config.leafPaths()
        if let local = group.localModel {
            paths["model_list[\(LocalModel.entryName)]"] = .string("local model \(local.model) at \(local.url), the last fallback")
        }
        for model in group.gatewayModels ?? [] {
            paths["model_list[\(model.name)]"] = .string("gateway model (\(model.api.rawValue)) at \(gatewayURLs(model.name))")
        }
        return paths
    }

    /// A digest per skill over its files' paths, modes and contents.
    private static func skillDigests(_ skills: [PublishSkill]) -> [String: String] {
        var result: [String: String] = [:]
        for skill in skills {
            var hasher = SHA256()
            for file in skill.files.sorted(by: { $0.path < $1.path }) {
                hasher.update(data: Data("\(file.path)\u{0}\(file.mode)\u{0}\(file.content)\u{0}".utf8))
            }
            result[skill.name] = Secrets.hex(hasher.finalize())
        }
        return result
    }

    // MARK: Manifests

    /// The signed description of `group`'s release. A PicoClaw group's gateway models become
    /// `model_list` entries calling `gatewayURLs`, the first one and the others as fallbacks
    /// (PicoClawModelList).
    static func manifest(for group: PublishGroup, version: Int64, now: Date, expiresAfter: Int64, gatewayURLs: [String],
                         memberNodeIDs: [String] = [])
        throws(CoordinatorError) -> (ReleaseManifest, [(sha256: String, data: Data)])
    {
        var files: [ManifestFile] = []
        var blobs: [(sha256: String, data: Data)] = []
        for skill in group.skills {
            for file in skill.files {
                guard let data = Data(base64Encoded: file.content) else {
                    throw CoordinatorError(.invalidSpec, "skills/\(skill.name)/\(file.path): content is not base64")
                }
                let sha = Envelope.sha256Hex(data)
                files.append(ManifestFile(path: "skills/\(skill.name)/\(file.path)", size: Int64(data.count), sha256: sha, mode: file.mode))
                blobs.append((sha, data))
            }
        }
        files.sort { $0.path < $1.path }
        let manifest = ReleaseManifest(
            version: version, group: group.name, createdAt: Timestamps.rfc3339(now),
            expiresAt: Timestamps.rfc3339(now.addingTimeInterval(TimeInterval(expiresAfter))),
            runtimeConfig: group.runtime == "picoclaw"
                ? PicoClawModelList.adding(group.gatewayModels ?? [], gatewayURLs: gatewayURLs, localModel: group.localModel, to: group.config) : group.config,
            files: files, gatewayModels: group.gatewayModels, memberNodeIDs: memberNodeIDs.isEmpty ? nil : memberNodeIDs.sorted(),
            localModelHealthURL: group.localModel?.healthURL
        )
        return (manifest, blobs)
    }

    /// Splits nodes (canary candidates first) into waves.
    static func waves(_ nodes: [String], policy: RolloutPolicy) -> [[String]] {
        var remaining = nodes[...]
        var waves: [[String]] = []
        if policy.canary > 0, !remaining.isEmpty {
            waves.append(Array(remaining.prefix(policy.canary)))
            remaining = remaining.dropFirst(policy.canary)
        }
        let batch: Int
        if let size = policy.batchSize {
            batch = max(1, size)
        } else {
            batch = max(1, Int((Double(nodes.count) * (policy.batchPercent ?? 100) / 100).rounded(.up)))
        }
        while !remaining.isEmpty {
            waves.append(Array(remaining.prefix(batch)))
            remaining = remaining.dropFirst(batch)
        }
        return waves
    }

    // MARK: Validation

    /// Server-side checks of a publish request: the CLI validates too, but the API is a trust
    /// boundary of its own.
    static func validate(_ request: PublishRequest) throws(CoordinatorError) {
        guard !request.groups.isEmpty || request.gateway != nil else { throw CoordinatorError(.invalidSpec, "the spec has no groups") }
        guard request.expiresAfterSeconds >= 3600, request.expiresAfterSeconds <= 366 * 86_400 else {
            throw CoordinatorError(.invalidSpec, "release expiry must be between 1 hour and 366 days")
        }
        var seen = Set<String>()
        for group in request.groups {
            guard NameRules.isValidGroupName(group.name) else { throw CoordinatorError(.invalidSpec, "invalid group name '\(group.name)'") }
            guard seen.insert(group.name).inserted else { throw CoordinatorError(.invalidSpec, "group \(group.name) appears twice") }
            guard ["picoclaw", "command"].contains(group.runtime) else {
                throw CoordinatorError(.invalidSpec, "group \(group.name): unknown runtime '\(group.runtime)' (picoclaw, command)")
            }
            guard case .object = group.config else { throw CoordinatorError(.invalidSpec, "group \(group.name): config must be an object") }
            if let local = group.localModel {
                guard group.runtime == "picoclaw" else { throw CoordinatorError(.invalidSpec, "group \(group.name): local_model needs the picoclaw runtime") }
                if let problem = local.problem(gatewayModels: (group.gatewayModels ?? []).map(\.name)) {
                    throw CoordinatorError(.invalidSpec, "group \(group.name): local_model \(problem)")
                }
            }
            let policy = group.rollout
            guard policy.canary >= 0, (policy.batchSize ?? 1) >= 1, (policy.batchPercent ?? 1) > 0, (policy.batchPercent ?? 1) <= 100,
                policy.waitSeconds >= 0, (policy.failureThreshold ?? 1) >= 1, (policy.failurePercent ?? 1) > 0
            else { throw CoordinatorError(.invalidSpec, "group \(group.name): invalid rollout policy") }
            var files = 0
            var total = 0
            var skillNames = Set<String>()
            for skill in group.skills {
                guard NameRules.isValidSkillName(skill.name) else { throw CoordinatorError(.invalidSpec, "invalid skill name '\(skill.name)'") }
                guard skillNames.insert(skill.name).inserted else { throw CoordinatorError(.invalidSpec, "skill \(skill.name) listed twice in \(group.name)") }
                guard skill.files.contains(where: { $0.path == "SKILL.md" }) else {
                    throw CoordinatorError(.invalidSpec, "skill \(skill.name) has no SKILL.md")
                }
                for file in skill.files {
                    guard NameRules.isSafeRelativePath(file.path) else {
                        throw CoordinatorError(.invalidSpec, "skills/\(skill.name): unsafe path '\(file.path)'")
                    }
                    guard file.mode == 0o644 || file.mode == 0o755 else {
                        throw CoordinatorError(.invalidSpec, "skills/\(skill.name)/\(file.path): mode must be 0644 or 0755")
                    }
                    let size = file.content.utf8.count / 4 * 3
                    guard size <= WireLimits.maxReleaseFileBytes + 3 else {
                        throw CoordinatorError(.invalidSpec, "skills/\(skill.name)/\(file.path) is larger than 4 MiB")
                    }
                    files += 1
                    total += size
                }
            }
            guard files <= WireLimits.maxReleaseFiles, total <= WireLimits.maxReleaseBytes else {
                throw CoordinatorError(.invalidSpec, "group \(group.name): a release is limited to 1000 files and 16 MiB")
            }
        }
    }
}

extension ReleaseService {
    /// Publishes a started wave's assignments to the board (waking those nodes).
    func assignStarted(version: Int64, group: String, nodes: [String]) async throws(CoordinatorError) {
        guard !nodes.isEmpty, let release = try await store.release(version: version, group: group) else { return }
        let desired = DesiredRelease(version: version, group: group, envelope: release.envelope, digest: release.digest)
        board.assign(Dictionary(uniqueKeysWithValues: nodes.map { ($0, desired) }))
        await bus.publish(.releases(version: version, group: group))
    }

    /// Makes a completed release what new nodes of its group get, here and on the other coordinators.
    func makeGroupDefault(version: Int64, group: String) async throws(CoordinatorError) {
        try await loadGroupDefault(version: version, group: group)
        await bus.publish(.groupDefault(version: version, group: group))
    }

    private func loadGroupDefault(version: Int64, group: String) async throws(CoordinatorError) {
        guard let release = try await store.release(version: version, group: group) else { return }
        board.setGroupDefault(DesiredRelease(version: version, group: group, envelope: release.envelope, digest: release.digest), group: group)
    }

    /// Loads the board from the database (at start, and when the bus may have missed changes).
    func loadBoard() async throws(CoordinatorError) {
        board.assign(try await store.assignedReleases())
        for version in try await store.rolloutVersions(states: [.completed]) {
            for group in try await store.rolloutGroups(version: version) {
                try await loadGroupDefault(version: version, group: group.group)
            }
        }
    }

    /// Another coordinator changed `group`'s release `version` (a publish, a wave, a re-signing):
    /// the board takes what the database now assigns, and the group's default when it is that
    /// release (`groupDefault` is set only for completed rollouts).
    func followAssignments(version: Int64, group: String) async throws(CoordinatorError) {
        board.assign(try await store.assignedReleases(version: version, group: group))
        if board.desired(nodeID: "", group: group)?.version == version { try await loadGroupDefault(version: version, group: group) }
    }

    /// Another coordinator completed `group`'s release `version`.
    func followGroupDefault(version: Int64, group: String) async throws(CoordinatorError) {
        try await loadGroupDefault(version: version, group: group)
    }
}

extension ReleaseService {
    /// The admin view of a rollout.
    /// The views (without per-node rows) of the rollouts `versions` that exist, in that order.
    func rolloutViews(_ versions: [Int64]) async throws(CoordinatorError) -> [RolloutView] {
        var views: [RolloutView] = []
        for version in versions {
            if let view = try await rolloutView(version: version, withNodes: false) { views.append(view) }
        }
        return views
    }

    func rolloutView(version: Int64, withNodes: Bool, now: Date = Date()) async throws(CoordinatorError) -> RolloutView? {
        guard let state = try await store.rolloutState(version: version) else { return nil }
        let groups = try await store.rolloutGroups(version: version)
        let onlineSince = now.addingTimeInterval(-onlineWindow)
        let counts = try await store.targetCounts(version: version, onlineSince: onlineSince)
        var byStatus: [String: Int] = [:]
        var offline = 0
        for count in counts {
            byStatus[count.status, default: 0] += count.count
            if !count.online, count.status == ReleaseStatus.pending.rawValue || count.status == ReleaseStatus.downloading.rawValue {
                offline += count.count
            }
        }
        let total = counts.filter { $0.status != "superseded" }.reduce(0) { $0 + $1.count }
        let nodes = withNodes ? try await store.rolloutNodes(version: version, onlineSince: onlineSince) : nil
        return RolloutView(
            version: version, state: state.state, groups: groups.map(\.group), createdAt: Timestamps.rfc3339(state.createdAt),
            waves: groups.map(\.waves).max() ?? 0, wavesStarted: groups.map(\.wavesStarted).max() ?? 0, total: total,
            counts: byStatus, offline: offline, reason: state.reason,
            nodes: nodes
        )
    }
}
