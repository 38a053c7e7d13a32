import FlotillaProtocol
import Yams

extension SpecReader {
    /// Top-level keys of `fleet.yaml`.
    static let topLevelKeys = ["version", "release", "rollout", "providers", "models", "budgets", "limits", "groups"]
    /// Keys of one group.
    static let groupKeys = ["members", "runtime", "config", "skills", "models", "rollout", "local_model"]
    /// Bounds of `release.expires_after`.
    static let expiresAfterRange: ClosedRange<Int64> = 60...(365 * 86_400)

    /// The whole spec from its root node; nil when it is too broken to read further (problems
    /// say why). Problems that leave the rest readable are recorded and reading goes on.
    mutating func readSpec(_ root: Node) -> FleetSpec? {
        guard let entries = mapping(root, "", what: "a mapping with version, release, rollout and groups") else { return nil }
        rejectUnknownKeys(entries, "", allowed: Self.topLevelKeys)
        func entry(_ key: String) -> Entry? { entries.first { $0.key == key } }

        guard let versionEntry = entry("version") else {
            problem(root, "version", "required: the schema version, 'version: \(FleetSpec.supportedVersion)'")
            return nil
        }
        guard let version = integer(versionEntry.value, "version") else { return nil }
        guard version == FleetSpec.supportedVersion else {
            problem(versionEntry.value, "version",
                    "unsupported schema version \(version) (this flotilla reads version \(FleetSpec.supportedVersion))")
            return nil
        }

        var expires = FleetSpec.defaultExpiresAfterSeconds
        if let release = entry("release"), let releaseEntries = mapping(release.value, "release") {
            rejectUnknownKeys(releaseEntries, "release", allowed: ["expires_after"])
            if let expiry = releaseEntries.first(where: { $0.key == "expires_after" }),
               let seconds = duration(expiry.value, "release.expires_after") {
                let whole = Int64(seconds.rounded(.up))
                if Self.expiresAfterRange.contains(whole) {
                    expires = whole
                } else {
                    problem(expiry.value, "release.expires_after", "must be between 1m and 365d")
                }
            }
        }

        var rollout = RolloutPolicy()
        if let rolloutEntry = entry("rollout") {
            rollout = self.rollout(rolloutEntry.value, "rollout", over: rollout)
        }

        let providers = entry("providers").map { readProviders($0.value) } ?? []
        let fleetModels = entry("models").map { readFleetModels($0.value, providers: providers) } ?? []
        let budgets = entry("budgets").flatMap { readBudgets($0.value) }
        let limits = entry("limits").flatMap { readLimits($0.value) }

        guard let groupsEntry = entry("groups") else {
            problem(root, "groups", "required: a mapping of group names to what their nodes run")
            return nil
        }
        var groups = readGroups(groupsEntry.value, defaultRollout: rollout)
        let declared = providers.flatMap { $0.models.map(\.name) } + fleetModels.map(\.name)
        for index in groups.indices {
            guard let models = groups[index].models else { continue }
            var kept: [String] = []
            for (position, model) in models.enumerated() {
                if declared.contains(model) {
                    kept.append(model)
                } else {
                    let have = declared.isEmpty ? "no provider declares any model" : "declared: " + declared.joined(separator: ", ")
                    problem(line: groups[index].modelLines[position],
                            "groups.\(groups[index].name).models[\(position)]: unknown model '\(model)' (\(have))")
                }
            }
            groups[index].models = kept
        }
        var spec = FleetSpec(version: Int(version), expiresAfterSeconds: expires, rollout: rollout, providers: providers,
                             budgets: budgets, limits: limits, groups: groups)
        spec.models = fleetModels
        if let budgets { checkDowngrades(budgets, declared: declared, groups: groups) }
        for group in groups where group.runtime == .picoclaw {
            checkModelNames(group, gateway: spec.gatewayModels(for: group).map(\.name))
            if let local = group.localModel, let problem = local.problem(gatewayModels: spec.gatewayModels(for: group).map(\.name)) {
                self.problem(line: group.localModelLine, "groups.\(group.name).local_model: \(problem)")
            }
        }
        return spec
    }

    /// A PicoClaw group's `agents.defaults.model_name` must name a model_list entry (a gateway
    /// model or one of the group's own), and its own entries must not take a gateway model's name.
    private mutating func checkModelNames(_ group: FleetSpec.Group, gateway: [String]) {
        let path = "groups.\(group.name).config"
        var own: [String] = []
        if case .array(let entries)? = group.config["model_list"] {
            for (index, entry) in entries.enumerated() {
                guard case .string(let name)? = entry["model_name"] else { continue }
                if gateway.contains(name) {
                    problem(line: group.line, "\(path).model_list[\(index)]: '\(name)' is a gateway model of this group; "
                            + "Flotilla writes its model_list entry (pick another model_name)")
                }
                own.append(name)
            }
        }
        guard case .string(let name)? = group.config["agents"]?["defaults"]?["model_name"], !name.isEmpty,
              !gateway.contains(name), !own.contains(name) else { return }
        let available = gateway + own
        let hint = PicoClawSchema.suggestion(for: name, among: available).map { "; did you mean '\($0)'?" }
            ?? (available.isEmpty ? "; the group has no gateway models and no model_list" : " (have: \(available.joined(separator: ", ")))")
        problem(line: group.modelNameLine ?? group.line,
                "\(path).agents.defaults.model_name: '\(name)' is neither a gateway model of this group nor in its model_list; "
                + "PicoClaw would stop with \"model not found in model_list\"" + hint)
    }

    /// The `groups:` mapping. A node may be an extra member of one group only.
    private mutating func readGroups(_ node: Node, defaultRollout: RolloutPolicy) -> [FleetSpec.Group] {
        if case .scalar(let scalar) = node, scalar.string.isEmpty, scalar.style == .plain { return [] }
        guard let entries = mapping(node, "groups") else { return [] }
        var groups: [FleetSpec.Group] = []
        var memberOf: [String: String] = [:]
        for entry in entries {
            let path = Self.join("groups", entry.key)
            guard FleetSpec.isValidGroupName(entry.key) else {
                problem(entry.keyNode, path,
                        "invalid group name '\(entry.key)' (1-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen)")
                continue
            }
            guard let read = readGroup(entry, path, defaultRollout: defaultRollout) else { continue }
            var group = read.group
            let memberLines = read.memberLines
            var kept: [String] = []
            for (index, member) in group.members.enumerated() {
                if let other = memberOf[member] {
                    problem(line: memberLines[index],
                            "\(path).members: node '\(member)' is already a member of group '\(other)'")
                } else {
                    memberOf[member] = group.name
                    kept.append(member)
                }
            }
            group.members = kept
            groups.append(group)
        }
        return groups
    }

    /// One group and the lines of its members.
    private mutating func readGroup(_ entry: Entry, _ path: String,
                                    defaultRollout: RolloutPolicy) -> (group: FleetSpec.Group, memberLines: [Int?])? {
        var group = FleetSpec.Group(name: entry.key, rollout: defaultRollout)
        group.line = line(of: entry.keyNode)
        var memberLines: [Int?] = []
        if case .scalar(let scalar) = entry.value, scalar.string.isEmpty, scalar.style == .plain {
            return (group, memberLines)
        }
        guard let fields = mapping(entry.value, path) else { return nil }
        for field in fields where ["budget", "budgets", "limits"].contains(field.key) {
            let scope = field.key == "limits" ? "limits" : "budgets"
            problem(field.keyNode, Self.join(path, field.key), "a group's \(scope) go under the top-level '\(scope):', as \(scope).groups.\(entry.key)")
        }
        rejectUnknownKeys(fields.filter { !["budget", "budgets", "limits"].contains($0.key) }, path, allowed: Self.groupKeys)
        var configNode: Node?
        var localModelLine: Int?
        for field in fields {
            let fieldPath = Self.join(path, field.key)
            switch field.key {
            case "members":
                for (index, member) in (strings(field.value, fieldPath) ?? []).enumerated() {
                    let memberPath = "\(fieldPath)[\(index)]"
                    if !NameRules.isValidNodeName(member.value) {
                        problem(member.node, memberPath,
                                "invalid node name '\(member.value)' (1-63 letters, digits, '.', '_' or '-', starting with a letter or digit)")
                    } else if group.members.contains(member.value) {
                        problem(member.node, memberPath, "'\(member.value)' is listed twice")
                    } else {
                        group.members.append(member.value)
                        memberLines.append(line(of: member.node))
                    }
                }
            case "runtime":
                if let text = string(field.value, fieldPath) {
                    if let runtime = FleetSpec.Runtime(rawValue: text) {
                        group.runtime = runtime
                    } else {
                        let known = FleetSpec.Runtime.allCases.map(\.rawValue).joined(separator: ", ")
                        problem(field.value, fieldPath, "unknown runtime '\(text)' (expected one of: \(known))")
                    }
                }
            case "config":
                if case .scalar(let scalar) = field.value, scalar.string.isEmpty, scalar.style == .plain { break }
                if let config = config(field.value, fieldPath) {
                    group.config = config
                    configNode = field.value
                }
            case "skills":
                for (index, skill) in (strings(field.value, fieldPath) ?? []).enumerated() {
                    let skillPath = "\(fieldPath)[\(index)]"
                    if !SkillReader.isValidSkillName(skill.value) {
                        problem(skill.node, skillPath,
                                "invalid skill name '\(skill.value)' (letters and digits in hyphen-separated words, at most 64)")
                    } else if group.skills.contains(skill.value) {
                        problem(skill.node, skillPath, "'\(skill.value)' is listed twice")
                    } else {
                        group.skills.append(skill.value)
                        group.skillLines.append(line(of: skill.node))
                    }
                }
            case "models":
                let models = readGroupModels(field.value, fieldPath)
                group.models = models.map(\.value)
                group.modelLines = models.map { line(of: $0.node) }
            case "rollout":
                group.rollout = rollout(field.value, fieldPath, over: defaultRollout)
            case "local_model":
                group.localModel = localModel(field.value, fieldPath)
                localModelLine = line(of: field.keyNode)
            default:
                break
            }
        }
        if group.localModel != nil, group.runtime != .picoclaw {
            problem(line: localModelLine, "\(Self.join(path, "local_model")): a local model is written into PicoClaw's config; this group's runtime is \(group.runtime.rawValue)")
        }
        group.localModelLine = localModelLine
        if group.runtime == .picoclaw, let configNode {
            checkPicoClawConfig(configNode, group.config, Self.join(path, "config"))
            group.modelNameLine = line(of: configNode["agents"]?["defaults"]?["model_name"])
        }
        return (group, memberLines)
    }

    /// `local_model: {url, model, health}`: the URL and health URL checked here, the model
    /// against the group's gateway models once those are known.
    mutating func localModel(_ node: Node, _ path: String) -> LocalModel? {
        guard let fields = mapping(node, path) else { return nil }
        rejectUnknownKeys(fields, path, allowed: ["url", "model", "health"])
        var url: String?
        var model: String?
        var health: String?
        for field in fields {
            let fieldPath = Self.join(path, field.key)
            guard let text = string(field.value, fieldPath) else { continue }
            if field.key != "model", let problem = LocalModel.urlProblem(text) {
                self.problem(field.value, fieldPath, "'\(text)' \(problem)")
                continue
            }
            switch field.key {
            case "url": url = text
            case "model": model = text
            default: health = text
            }
        }
        guard let url, let model, !model.isEmpty else {
            problem(node, path, "needs 'url' (the server's OpenAI-compatible base, e.g. http://127.0.0.1:8080/v1) and 'model'")
            return nil
        }
        return LocalModel(url: url, model: model, health: health)
    }
}
