import FlotillaProtocol
import Yams

/// The fleet spec (`fleet/fleet.yaml`) parsed and checked against the schema: which groups
/// exist, what runtime config and skills each gets, how releases roll out. Skills are only named
/// here; `FleetSpecLoader` reads and checks their files.
public struct FleetSpec: Sendable, Equatable {
    /// The schema version this library reads.
    public static let supportedVersion = 1
    /// Manifest validity when `release.expires_after` is not given: 30 days.
    public static let defaultExpiresAfterSeconds: Int64 = 30 * 86_400

    /// The schema version written in the file (always `supportedVersion` once parsed).
    public var version: Int
    /// How long signed manifests stay valid (`release.expires_after`).
    public var expiresAfterSeconds: Int64
    /// The fleet-wide rollout policy (`rollout:`), defaults filled in.
    public var rollout: RolloutPolicy
    /// LLM providers of the gateway (`providers:`), in the order written.
    public var providers: [ProviderSpec]
    /// Fleet models served by several provider models in order (`models:`).
    public var models: [FleetModel] = []
    /// Spending limits (`budgets:`); nil when not given.
    public var budgets: BudgetSpec?
    /// Rate limits (`limits:`); nil when not given.
    public var limits: LimitSpec?
    /// The groups in the order written.
    public var groups: [Group]

    /// What runs on a group's nodes and reads its config and skills.
    public enum Runtime: String, Sendable, CaseIterable {
        /// PicoClaw: config deep-merged into `config.json`, skills into its workspace.
        case picoclaw
        /// A plain command managed by the node agent.
        case command
    }

    /// One group of nodes and what they should run.
    public struct Group: Sendable, Equatable {
        /// Lowercase letters, digits and hyphens, 1–63 characters.
        public var name: String
        /// Nodes that belong to the group besides those enrolled into it.
        public var members: [String]
        public var runtime: Runtime
        /// Runtime config, keys in the order written; an empty object when not given.
        public var config: JSONDocument
        /// Skill names (directories of `skills/`), in the order written.
        public var skills: [String]
        /// The fleet-wide policy with this group's `rollout:` merged over it.
        public var rollout: RolloutPolicy
        /// Model names the group's nodes may call through the gateway; nil: every model.
        public var models: [String]?
        /// The model server on each board (`local_model:`), PicoClaw's last fallback.
        public var localModel: LocalModel?

        /// Line of the group's key in the file, for messages about the group as a whole.
        var line: Int?
        /// Line of each entry of `skills`, for "unknown skill" messages.
        var skillLines: [Int?]
        /// Line of each entry of `models`, for "unknown model" messages.
        var modelLines: [Int?] = []
        /// Line of `agents.defaults.model_name` in a PicoClaw config.
        var modelNameLine: Int?
        /// Line of `local_model:`.
        var localModelLine: Int?

        public init(name: String, members: [String] = [], runtime: Runtime = .picoclaw, config: JSONDocument = .object([]),
                    skills: [String] = [], rollout: RolloutPolicy = RolloutPolicy(), models: [String]? = nil) {
            self.name = name
            self.models = models
            self.members = members
            self.runtime = runtime
            self.config = config
            self.skills = skills
            self.rollout = rollout
            self.line = nil
            self.skillLines = Array(repeating: nil, count: skills.count)
        }
    }

    public init(version: Int = FleetSpec.supportedVersion, expiresAfterSeconds: Int64 = FleetSpec.defaultExpiresAfterSeconds,
                rollout: RolloutPolicy = RolloutPolicy(), providers: [ProviderSpec] = [], budgets: BudgetSpec? = nil,
                limits: LimitSpec? = nil, groups: [Group]) {
        self.providers = providers
        self.budgets = budgets
        self.limits = limits
        self.version = version
        self.expiresAfterSeconds = expiresAfterSeconds
        self.rollout = rollout
        self.groups = groups
    }

    /// Parses and checks `fleet.yaml`'s text; `file` is how messages name it. Collects every
    /// problem of the file and throws them together.
    public static func parse(yaml: String, file: String) throws(FleetSpecError) -> FleetSpec {
        let (spec, problems) = read(yaml: yaml, file: file)
        if let error = FleetSpecError.combining(problems) { throw error }
        guard let spec else { throw .invalid(file: file, line: 1, message: "not a fleet spec") }
        return spec
    }

    /// The spec as far as it can be read, and every problem found. The spec is nil only when the
    /// file is too broken to say which groups and skills it means (bad YAML, wrong version).
    static func read(yaml: String, file: String) -> (FleetSpec?, [FleetSpecError]) {
        let root: Node?
        do {
            root = try YAMLText.compose(yaml, file: file)
        } catch {
            return (nil, [error])
        }
        guard let root else {
            return (nil, [.invalid(file: file, line: 1, message: "the file is empty; it needs at least 'version: 1' and 'groups:'")])
        }
        var reader = SpecReader(file: file)
        let spec = reader.readSpec(root)
        return (spec, reader.problems)
    }

    /// Whether `name` is a valid group name: `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`.
    public static func isValidGroupName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...WireLimits.groupNameLength).contains(bytes.count) else { return false }
        func lowerAlnum(_ byte: UInt8) -> Bool { (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) }
        guard let first = bytes.first, let last = bytes.last, lowerAlnum(first), lowerAlnum(last) else { return false }
        return bytes.allSatisfy { lowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }
}

extension FleetSpec {
    /// The gateway models `group`'s runtime is configured to call: for PicoClaw, every model the
    /// group may use (its `models:`, else every declared model), in provider order, then the
    /// fleet models (called in the API of their first target's provider).
    public func gatewayModels(for group: Group) -> [GatewayModelEntry] {
        guard group.runtime == .picoclaw else { return [] }
        let allowed = { (name: String) in group.models?.contains(name) ?? true }
        let served = providers.flatMap { provider in
            provider.models.filter { allowed($0.name) }.map { GatewayModelEntry(name: $0.name, api: provider.kind) }
        }
        let kinds = Dictionary(providers.map { ($0.name, $0.kind) }, uniquingKeysWith: { first, _ in first })
        let routed = models.filter { allowed($0.name) }.compactMap { model in
            model.targets.first.flatMap { kinds[$0.provider] }.map { GatewayModelEntry(name: model.name, api: $0) }
        }
        return served + routed
    }
}
