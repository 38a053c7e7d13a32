import FlotillaProtocol
import Foundation
import Yams

extension SpecReader {
    /// Keys of one provider.
    static let providerKeys = ["kind", "base_url", "models"]

    /// The `providers:` mapping, in the order written. Model names must be unique across
    /// providers: a caller's `model` picks exactly one provider.
    mutating func readProviders(_ node: Node) -> [ProviderSpec] {
        if case .scalar(let scalar) = node, scalar.string.isEmpty, scalar.style == .plain { return [] }
        guard let entries = mapping(node, "providers", what: "a mapping of provider names to their kind, base_url and models") else {
            return []
        }
        var providers: [ProviderSpec] = []
        var modelOwner: [String: String] = [:]
        for entry in entries {
            let path = Self.join("providers", entry.key)
            guard FleetSpec.isValidGroupName(entry.key) else {
                problem(entry.keyNode, path,
                        "invalid provider name '\(entry.key)' (1-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen)")
                continue
            }
            guard var provider = readProvider(entry, path) else { continue }
            var kept: [ModelRoute] = []
            for route in provider.models {
                if let other = modelOwner[route.name] {
                    problem(entry.keyNode, "\(path).models.\(route.name)", "model '\(route.name)' is already served by provider '\(other)'")
                } else {
                    modelOwner[route.name] = provider.name
                    kept.append(route)
                }
            }
            provider.models = kept
            providers.append(provider)
        }
        return providers
    }

    private mutating func readProvider(_ entry: Entry, _ path: String) -> ProviderSpec? {
        guard let fields = mapping(entry.value, path, what: "a mapping with kind, base_url and models") else { return nil }
        rejectUnknownKeys(fields, path, allowed: Self.providerKeys)
        func field(_ key: String) -> Entry? { fields.first { $0.key == key } }
        var kind: ProviderKind?
        if let node = field("kind") {
            if let text = string(node.value, "\(path).kind") {
                kind = ProviderKind(rawValue: text)
                if kind == nil {
                    problem(node.value, "\(path).kind",
                            "unknown kind '\(text)' (expected one of: \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
            }
        } else {
            problem(entry.keyNode, "\(path).kind", "required: openai or anthropic")
        }
        var baseURL: String?
        if let node = field("base_url") {
            if let text = string(node.value, "\(path).base_url") {
                if let message = ProviderURL.problem(text) {
                    problem(node.value, "\(path).base_url", message)
                } else {
                    baseURL = ProviderURL.normalized(text)
                }
            }
        } else {
            problem(entry.keyNode, "\(path).base_url", "required: the API root, e.g. https://api.openai.com/v1")
        }
        var models: [ModelRoute] = []
        if let node = field("models") {
            models = readModels(node.value, "\(path).models")
        } else {
            problem(entry.keyNode, "\(path).models", "required: a mapping of the model names callers use to upstream model ids")
        }
        guard let kind, let baseURL else { return nil }
        return ProviderSpec(name: entry.key, kind: kind, baseURL: baseURL, models: models)
    }

    private mutating func readModels(_ node: Node, _ path: String) -> [ModelRoute] {
        guard let entries = mapping(node, path, what: "a mapping of model names to upstream model ids") else { return [] }
        if entries.isEmpty { problem(node, path, "a provider needs at least one model") }
        var routes: [ModelRoute] = []
        for entry in entries {
            let modelPath = Self.join(path, entry.key)
            guard checkModelName(entry.key, entry.keyNode, modelPath) else { continue }
            guard let upstream = string(entry.value, modelPath) else { continue }
            guard GatewayRules.isValidModelName(upstream) else {
                problem(entry.value, modelPath, "invalid upstream model id '\(upstream)'")
                continue
            }
            routes.append(ModelRoute(name: entry.key, upstream: upstream))
        }
        return routes
    }

    /// Whether `name` may name a model callers ask for; reports the problem at `node` if not.
    /// Shared by `providers.P.models` and the top-level `models:` so both say the same thing.
    mutating func checkModelName(_ name: String, _ node: Node, _ path: String) -> Bool {
        guard GatewayRules.isValidModelName(name) else {
            problem(node, path,
                    "invalid model name '\(name)' (1-\(GatewayRules.maxModelNameLength) of letters, digits, '.', '_', ':', '/', '-')")
            return false
        }
        return true
    }

    /// Reads `groups.G.models` against the declared model names.
    mutating func readGroupModels(_ node: Node, _ path: String) -> [(value: String, node: Node)] {
        var result: [(value: String, node: Node)] = []
        for (index, model) in (strings(node, path) ?? []).enumerated() {
            if result.contains(where: { $0.value == model.value }) {
                problem(model.node, "\(path)[\(index)]", "'\(model.value)' is listed twice")
            } else {
                result.append(model)
            }
        }
        return result
    }
}
