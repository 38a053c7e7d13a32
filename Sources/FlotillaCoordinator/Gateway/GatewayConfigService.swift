import FlotillaProtocol
import Foundation
import Logging
import Synchronization

/// A validated gateway configuration waiting to be stored by a publish.
struct GatewayChange: Sendable {
    var version: Int64
    var spec: GatewaySpec
}

/// The gateway configuration: validates and plans what `flotilla plan/apply` sends, stores it
/// (in the publish's transaction when a release goes out too) and swaps the catalog the gateway
/// reads.
final class GatewayConfigService: Sendable {
    let store: any FleetStore
    private let bus: any ClusterBus
    private let current: Mutex<GatewayCatalog>

    private init(store: any FleetStore, bus: any ClusterBus, catalog: GatewayCatalog) {
        self.store = store
        self.bus = bus
        current = Mutex(catalog)
    }

    /// The service with the configuration stored last in force.
    static func open(store: any FleetStore, bus: any ClusterBus = LocalClusterBus()) async throws(CoordinatorError) -> GatewayConfigService {
        let latest = try await store.latestGatewayConfig()
        return GatewayConfigService(store: store, bus: bus, catalog: latest.map { GatewayCatalog(version: $0.version, spec: $0.spec) } ?? .empty)
    }

    /// Puts the configuration stored last in force (another coordinator published one).
    func reload() async throws(CoordinatorError) {
        guard let latest = try await store.latestGatewayConfig() else { return }
        current.withLock { catalog in
            if latest.version > catalog.version { catalog = GatewayCatalog(version: latest.version, spec: latest.spec) }
        }
    }

    /// The configuration in force.
    var catalog: GatewayCatalog { current.withLock { $0 } }

    /// Checks `spec` and compares it with the configuration in force. `keysSet` names providers
    /// whose key is in the vault (for warnings). Returns the plan and, when something changes,
    /// the change to store.
    func plan(_ spec: GatewaySpec, keysSet: Set<String>) async throws(CoordinatorError) -> (GatewayPlan, GatewayChange?) {
        try GatewayValidation.validate(spec)
        let old = catalog
        if let prices = spec.prices, let stored = try await store.priceTable(version: prices.version), stored != prices {
            throw CoordinatorError(.invalidSpec, "prices.yaml: version \(prices.version) was published with other prices; raise its version when prices change")
        }
        if let prices = spec.prices, let oldPrices = old.spec.prices, prices.version == oldPrices.version, prices != oldPrices {
            throw CoordinatorError(.invalidSpec, "prices.yaml: prices changed but version is still \(prices.version); raise it")
        }
        var plan = Self.diff(old: old.spec, new: spec)
        plan.warnings = Self.warnings(spec, keysSet: keysSet)
        let change = plan.changed ? GatewayChange(version: old.version + 1, spec: spec) : nil
        return (plan, change)
    }

    /// Stores `change` on its own (a publish that changes no release) and puts it in force.
    func commit(_ change: GatewayChange, now: Date = Date()) async throws(CoordinatorError) {
        try await store.storeGatewayConfig(change, now: now)
        await activate(change)
    }

    /// Puts a stored change in force, here and on the other coordinators.
    func activate(_ change: GatewayChange) async {
        current.withLock { $0 = GatewayCatalog(version: change.version, spec: change.spec) }
        await bus.publish(.gatewayConfig)
    }

    static func diff(old: GatewaySpec, new: GatewaySpec) -> GatewayPlan {
        let oldProviders = Dictionary(old.providers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newProviders = Dictionary(new.providers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func routes(_ spec: GatewaySpec) -> [String: String] {
            var result: [String: String] = [:]
            for provider in spec.providers {
                for model in provider.models { result[model.name] = "\(provider.name)/\(model.upstream)" }
            }
            for model in spec.models ?? [] {
                result[model.name] = model.targets.map(\.text).joined(separator: ",") + (model.firstByteTimeoutMs.map { " \($0)ms" } ?? "")
            }
            return result
        }
        let (oldRoutes, newRoutes) = (routes(old), routes(new))
        let groups = Set(old.groupModels.keys).union(new.groupModels.keys)
        var plan = GatewayPlan(
            changed: false,
            providersAdded: newProviders.keys.filter { oldProviders[$0] == nil }.sorted(),
            providersChanged: newProviders.keys.filter { oldProviders[$0] != nil && oldProviders[$0] != newProviders[$0] }.sorted(),
            providersRemoved: oldProviders.keys.filter { newProviders[$0] == nil }.sorted(),
            modelsAdded: newRoutes.keys.filter { oldRoutes[$0] == nil }.sorted(),
            modelsChanged: newRoutes.keys.filter { oldRoutes[$0] != nil && oldRoutes[$0] != newRoutes[$0] }.sorted(),
            modelsRemoved: oldRoutes.keys.filter { newRoutes[$0] == nil }.sorted(),
            groupsChanged: groups.filter { old.groupModels[$0] != new.groupModels[$0] }.sorted(),
            currentPriceVersion: old.prices?.version, priceVersion: new.prices?.version
        )
        plan.budgetsChanged = Self.budgetChanges(old.budgets, new.budgets)
        plan.limitsChanged = Self.limitChanges(old.limits, new.limits)
        plan.changed = !plan.providersAdded.isEmpty || !plan.providersChanged.isEmpty || !plan.providersRemoved.isEmpty
            || !plan.modelsAdded.isEmpty || !plan.modelsChanged.isEmpty || !plan.modelsRemoved.isEmpty
            || !plan.groupsChanged.isEmpty || old.prices != new.prices
            || old.providers.map(\.name) != new.providers.map(\.name)
            || !plan.budgetsChanged.isEmpty || !plan.limitsChanged.isEmpty
        return plan
    }

    /// The budget scopes whose limits differ (`fleet`, `group demo`, `node default`, …).
    static func budgetChanges(_ old: BudgetSpec?, _ new: BudgetSpec?) -> [String] {
        let (a, b) = (old ?? BudgetSpec(), new ?? BudgetSpec())
        var changed = scopeChanges(a.fleet, b.fleet, a.groups, b.groups, a.nodes, b.nodes)
        if a.softThresholdPercent != b.softThresholdPercent { changed.append("soft_threshold") }
        if a.timeZone != b.timeZone { changed.append("time_zone") }
        return changed
    }

    /// The rate-limit scopes whose limits differ.
    static func limitChanges(_ old: LimitSpec?, _ new: LimitSpec?) -> [String] {
        let (a, b) = (old ?? LimitSpec(), new ?? LimitSpec())
        return scopeChanges(a.fleet, b.fleet, a.groups, b.groups, a.nodes, b.nodes)
    }

    private static func scopeChanges<T: Equatable>(_ oldFleet: T?, _ newFleet: T?, _ oldGroups: [String: T], _ newGroups: [String: T],
                                                   _ oldNodes: [String: T], _ newNodes: [String: T]) -> [String] {
        var changed = oldFleet != newFleet ? ["fleet"] : []
        changed += Set(oldGroups.keys).union(newGroups.keys).filter { oldGroups[$0] != newGroups[$0] }.sorted().map { "group \($0)" }
        changed += Set(oldNodes.keys).union(newNodes.keys).filter { oldNodes[$0] != newNodes[$0] }.sorted().map { "node \($0)" }
        return changed
    }

    static func warnings(_ spec: GatewaySpec, keysSet: Set<String>) -> [String] {
        var warnings: [String] = []
        for provider in spec.providers {
            if !keysSet.contains(provider.name) {
                warnings.append("provider '\(provider.name)' has no key yet: run `flotilla secret set \(provider.name)` (calls are refused with provider_key_missing)")
            }
            for model in provider.models where spec.prices?.price(of: model.upstream) == nil {
                warnings.append("model '\(model.name)' (\(model.upstream)) has no price: calls are refused with model_not_priced")
            }
        }
        for model in spec.models ?? [] {
            for target in model.targets where spec.prices?.price(of: target.upstream) == nil {
                warnings.append("model '\(model.name)': target \(target.text) has no price: calls are refused with model_not_priced")
            }
        }
        return warnings
    }
}

/// Server-side checks of a gateway configuration.
enum GatewayValidation {
    static func validate(_ spec: GatewaySpec) throws(CoordinatorError) {
        var providerNames = Set<String>()
        var modelNames = Set<String>()
        for provider in spec.providers {
            guard NameRules.isValidGroupName(provider.name) else { throw CoordinatorError(.invalidSpec, "invalid provider name '\(provider.name)'") }
            guard providerNames.insert(provider.name).inserted else { throw CoordinatorError(.invalidSpec, "provider \(provider.name) appears twice") }
            if let problem = ProviderURL.problem(provider.baseURL) {
                throw CoordinatorError(.invalidSpec, "providers.\(provider.name).base_url: \(problem)")
            }
            guard !provider.models.isEmpty else { throw CoordinatorError(.invalidSpec, "provider \(provider.name) has no models") }
            for model in provider.models {
                guard GatewayRules.isValidModelName(model.name), GatewayRules.isValidModelName(model.upstream) else {
                    throw CoordinatorError(.invalidSpec, "provider \(provider.name): invalid model '\(model.name)' → '\(model.upstream)'")
                }
                guard modelNames.insert(model.name).inserted else {
                    throw CoordinatorError(.invalidSpec, "model \(model.name) is declared by two providers")
                }
            }
        }
        try validate(spec.models ?? [], providers: providerNames, taken: &modelNames)
        if let prices = spec.prices {
            guard prices.version >= 1 else { throw CoordinatorError(.invalidSpec, "prices: version must be at least 1") }
            for (model, price) in prices.models {
                guard GatewayRules.isValidModelName(model) else { throw CoordinatorError(.invalidSpec, "prices: invalid model id '\(model)'") }
                try check(price, model)
            }
            if let price = prices.defaultPrice { try check(price, "default") }
        }
        if let budgets = spec.budgets {
            try validate(budgets)
            try validate(downgrades: budgets, models: modelNames)
        }
        if let limits = spec.limits { try validate(limits) }
        for (group, models) in spec.groupModels {
            guard NameRules.isValidGroupName(group) else { throw CoordinatorError(.invalidSpec, "invalid group name '\(group)'") }
            for model in models where !modelNames.contains(model) {
                throw CoordinatorError(.invalidSpec, "groups.\(group).models: unknown model '\(model)'")
            }
        }
    }

    /// Fleet models: a fresh name each, 1 to `FleetModel.maxTargets` distinct targets at
    /// declared providers, a first-byte timeout in range.
    private static func validate(_ models: [FleetModel], providers: Set<String>, taken: inout Set<String>) throws(CoordinatorError) {
        for model in models {
            guard GatewayRules.isValidModelName(model.name) else { throw CoordinatorError(.invalidSpec, "models: invalid model name '\(model.name)'") }
            guard taken.insert(model.name).inserted else { throw CoordinatorError(.invalidSpec, "model \(model.name) is declared twice") }
            guard (1...FleetModel.maxTargets).contains(model.targets.count), Set(model.targets).count == model.targets.count else {
                throw CoordinatorError(.invalidSpec, "models.\(model.name).targets: list 1 to \(FleetModel.maxTargets) distinct targets")
            }
            for target in model.targets {
                guard providers.contains(target.provider), GatewayRules.isValidModelName(target.upstream) else {
                    throw CoordinatorError(.invalidSpec, "models.\(model.name).targets: unknown target '\(target.text)'")
                }
            }
            if let ms = model.firstByteTimeoutMs, !FleetModel.firstByteTimeoutRangeMs.contains(ms) {
                throw CoordinatorError(.invalidSpec, "models.\(model.name).first_byte_timeout must be between 100ms and 10m")
            }
        }
    }

    private static func validate(_ budgets: BudgetSpec) throws(CoordinatorError) {
        guard budgets.softThresholdPercent > 0, budgets.softThresholdPercent <= 100 else {
            throw CoordinatorError(.invalidSpec, "budgets.soft_threshold must be more than 0% and at most 100%")
        }
        guard TimeZone(identifier: budgets.timeZone) != nil else {
            throw CoordinatorError(.invalidSpec, "budgets.time_zone: unknown time zone '\(budgets.timeZone)'")
        }
        let limits = [("fleet", budgets.fleet)] + budgets.groups.map { ("group \($0.key)", $0.value) } + budgets.nodes.map { ("node \($0.key)", $0.value) }
        for (scope, limit) in limits {
            for value in [limit?.dailyNanos, limit?.monthlyNanos].compactMap({ $0 }) where !GatewayRules.budgetNanos.contains(value) {
                throw CoordinatorError(.invalidSpec, "budgets: the limit of \(scope) must be more than 0 and at most a billion USD")
            }
        }
        try names(budgets.groups.keys, budgets.nodes.keys, in: "budgets")
    }

    /// Each downgrade: a share below 100% of a limit its scope has, to a declared model, and no
    /// cycle among them.
    private static func validate(downgrades budgets: BudgetSpec, models: Set<String>) throws(CoordinatorError) {
        let limits = [("fleet", budgets.fleet)] + budgets.groups.map { ("groups." + $0.key, $0.value) } + budgets.nodes.map { ("nodes." + $0.key, $0.value) }
        for case (let path, let limit?) in limits {
            guard let downgrade = limit.downgrade else { continue }
            guard downgrade.atPercent > 0, downgrade.atPercent < 100, limit.dailyNanos != nil || limit.monthlyNanos != nil else {
                throw CoordinatorError(.invalidSpec, "budgets.\(path).downgrade: 'at' must be a share below 100% of the scope's daily or monthly limit")
            }
            for model in [downgrade.to] + (downgrade.models ?? []) where !models.contains(model) {
                throw CoordinatorError(.invalidSpec, "budgets.\(path).downgrade: unknown model '\(model)'")
            }
        }
        if let cycle = budgets.downgradeCycle(models: models.sorted()) {
            throw CoordinatorError(.invalidSpec, "budgets: the downgrades form a cycle: \(cycle.joined(separator: " -> "))")
        }
    }

    private static func validate(_ limits: LimitSpec) throws(CoordinatorError) {
        let scopes = [("fleet", limits.fleet)] + limits.groups.map { ("group \($0.key)", $0.value) }
        for (scope, limit) in scopes + limits.nodes.map({ ("node \($0.key)", $0.value) }) {
            for value in [limit?.requestsPerMinute, limit?.tokensPerMinute, limit?.maxInFlight].compactMap({ $0 })
            where !GatewayRules.rateLimit.contains(Int64(value)) {
                throw CoordinatorError(.invalidSpec, "limits of \(scope) must be 1 to 1000000000")
            }
        }
        for (scope, limit) in scopes where limit?.maxInFlight != nil {
            throw CoordinatorError(.invalidSpec, "limits: max_in_flight is per node, not for \(scope)")
        }
        try names(limits.groups.keys, limits.nodes.keys, in: "limits")
    }

    private static func names(_ groups: some Collection<String>, _ nodes: some Collection<String>, in section: String) throws(CoordinatorError) {
        for group in groups where !NameRules.isValidGroupName(group) {
            throw CoordinatorError(.invalidSpec, "\(section).groups: invalid group name '\(group)'")
        }
        for node in nodes where !NameRules.isValidNodeName(node) {
            throw CoordinatorError(.invalidSpec, "\(section).nodes: invalid node name '\(node)'")
        }
    }

    private static func check(_ price: ModelPrice, _ model: String) throws(CoordinatorError) {
        for value in [price.inputMicros, price.outputMicros, price.cachedInputMicros, price.cacheWriteMicros]
        where !GatewayRules.priceMicros.contains(value) {
            throw CoordinatorError(.invalidSpec, "prices.\(model): prices must be between 0 and 10000 USD per million tokens")
        }
        if let tokens = price.maxOutputTokens, !GatewayRules.maxOutputTokens.contains(tokens) {
            throw CoordinatorError(.invalidSpec, "prices.\(model): max_output must be 1 to 10000000 tokens")
        }
    }
}
