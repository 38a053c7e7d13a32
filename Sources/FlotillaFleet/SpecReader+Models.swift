import FlotillaProtocol
import Yams

extension SpecReader {
    /// Keys of one fleet model.
    static let fleetModelKeys = ["targets", "first_byte_timeout"]

    /// The `models:` mapping: fleet models served by several provider models in order. Each
    /// target names a provider of `providers:`; a name must not also be a provider's model.
    mutating func readFleetModels(_ node: Node, providers: [ProviderSpec]) -> [FleetModel] {
        if case .scalar(let scalar) = node, scalar.string.isEmpty, scalar.style == .plain { return [] }
        guard let entries = mapping(node, "models", what: "a mapping of fleet model names to their targets") else { return [] }
        let providerModels = Dictionary(providers.flatMap { provider in provider.models.map { ($0.name, provider.name) } },
                                        uniquingKeysWith: { first, _ in first })
        var models: [FleetModel] = []
        for entry in entries {
            let path = Self.join("models", entry.key)
            guard checkModelName(entry.key, entry.keyNode, path) else { continue }
            if let owner = providerModels[entry.key] {
                problem(entry.keyNode, path, "model '\(entry.key)' is already served by provider '\(owner)'")
                continue
            }
            guard let fields = mapping(entry.value, path, what: "a mapping with targets (and first_byte_timeout)") else { continue }
            rejectUnknownKeys(fields, path, allowed: Self.fleetModelKeys)
            var model = FleetModel(name: entry.key, targets: [])
            if let timeout = fields.first(where: { $0.key == "first_byte_timeout" }),
               let seconds = duration(timeout.value, Self.join(path, "first_byte_timeout")) {
                let ms = Int64((seconds * 1000).rounded())
                if FleetModel.firstByteTimeoutRangeMs.contains(ms) {
                    model.firstByteTimeoutMs = ms
                } else {
                    problem(timeout.value, Self.join(path, "first_byte_timeout"), "must be between 100ms and 10m")
                }
            }
            guard let targets = fields.first(where: { $0.key == "targets" }) else {
                problem(entry.keyNode, Self.join(path, "targets"), "required: the provider models to try in order, e.g. [openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest]")
                continue
            }
            model.targets = readTargets(targets.value, Self.join(path, "targets"), providers: providers)
            if !model.targets.isEmpty { models.append(model) }
        }
        return models
    }

    /// `[PROVIDER/UPSTREAM, …]`: each provider declared, no target twice, 1 to `FleetModel.maxTargets`.
    private mutating func readTargets(_ node: Node, _ path: String, providers: [ProviderSpec]) -> [ModelTarget] {
        guard let items = strings(node, path) else { return [] }
        guard (1...FleetModel.maxTargets).contains(items.count) else {
            problem(node, path, "list 1 to \(FleetModel.maxTargets) targets")
            return []
        }
        let names = providers.map(\.name)
        var targets: [ModelTarget] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let target = ModelTarget(item.value), GatewayRules.isValidModelName(target.upstream) else {
                problem(item.node, itemPath, "'\(item.value)' is not PROVIDER/MODEL (a provider of providers: and the model id it is asked for)")
                continue
            }
            guard names.contains(target.provider) else {
                let have = names.isEmpty ? "no provider is declared" : "declared: " + names.joined(separator: ", ")
                problem(item.node, itemPath, "unknown target '\(item.value)': there is no provider '\(target.provider)' (\(have))")
                continue
            }
            guard !targets.contains(target) else {
                problem(item.node, itemPath, "'\(item.value)' is listed twice")
                continue
            }
            targets.append(target)
        }
        return targets.count == items.count ? targets : []
    }
}
