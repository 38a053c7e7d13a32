/// Which wire API a provider speaks. The gateway forwards bodies unchanged, so a model is called
/// through the endpoint family of its provider's kind.
public enum ProviderKind: String, Codable, Sendable, CaseIterable {
    /// OpenAI's API: `POST {base_url}/chat/completions`, `/embeddings`, `Authorization: Bearer`.
    case openai
    /// Anthropic's Messages API: `POST {base_url}/messages`, `x-api-key`.
    case anthropic
}

/// A model name callers use and the upstream model id it is sent as.
public struct ModelRoute: Codable, Sendable, Equatable {
    /// What callers put in `model` (`fleet-default`).
    public var name: String
    /// What the provider is asked for (`gpt-4o-mini`).
    public var upstream: String

    public init(name: String, upstream: String) {
        self.name = name
        self.upstream = upstream
    }
}

/// One LLM provider of the fleet spec (`providers.NAME`). Its key lives in the coordinator's
/// vault (`flotilla secret set NAME`), never in the spec.
public struct ProviderSpec: Codable, Sendable, Equatable {
    public var name: String
    public var kind: ProviderKind
    /// The API root endpoint paths are appended to, version included
    /// (`https://api.openai.com/v1`, `https://api.anthropic.com/v1`).
    public var baseURL: String
    /// Models in the order written.
    public var models: [ModelRoute]

    public init(name: String, kind: ProviderKind, baseURL: String, models: [ModelRoute]) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL
        self.models = models
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, models
        case baseURL = "base_url"
    }
}

/// Prices of one upstream model in millionths of a USD per million tokens (so `0.15` USD per
/// million tokens is `150000`): integers keep costs exact.
public struct ModelPrice: Codable, Sendable, Equatable {
    public var inputMicros: Int64
    public var outputMicros: Int64
    /// The model's longest answer in tokens (budgets reserve it for calls without `max_tokens`);
    /// nil: `ModelPrice.defaultMaxOutputTokens`.
    public var maxOutputTokens: Int64? = nil
    /// What is reserved for a model whose `max_output` is not given.
    public static let defaultMaxOutputTokens: Int64 = 16_384
    /// Input tokens served from the provider's prompt cache; the input price when not given.
    public var cachedInputMicros: Int64
    /// Input tokens written to Anthropic's prompt cache; the input price when not given.
    public var cacheWriteMicros: Int64

    public init(inputMicros: Int64, outputMicros: Int64, cachedInputMicros: Int64? = nil, cacheWriteMicros: Int64? = nil,
                maxOutputTokens: Int64? = nil) {
        self.maxOutputTokens = maxOutputTokens
        self.inputMicros = inputMicros
        self.outputMicros = outputMicros
        self.cachedInputMicros = cachedInputMicros ?? inputMicros
        self.cacheWriteMicros = cacheWriteMicros ?? inputMicros
    }

    enum CodingKeys: String, CodingKey {
        case inputMicros = "input_micros"
        case outputMicros = "output_micros"
        case cachedInputMicros = "cached_input_micros"
        case cacheWriteMicros = "cache_write_micros"
        case maxOutputTokens = "max_output_tokens"
    }
}

/// `fleet/prices.yaml`: a versioned price table keyed by upstream model id. A version number
/// names one table forever: usage records keep the version they were charged at.
public struct PriceTable: Codable, Sendable, Equatable {
    public var version: Int64
    public var models: [String: ModelPrice]
    /// Price of upstream models the table does not list; without one such models are refused
    /// (`model_not_priced`).
    public var defaultPrice: ModelPrice?

    public init(version: Int64, models: [String: ModelPrice], defaultPrice: ModelPrice? = nil) {
        self.version = version
        self.models = models
        self.defaultPrice = defaultPrice
    }

    /// The price of `upstream`, falling back to the default.
    public func price(of upstream: String) -> ModelPrice? {
        models[upstream] ?? defaultPrice
    }

    enum CodingKeys: String, CodingKey {
        case version, models
        case defaultPrice = "default"
    }
}

/// The gateway part of a publish: providers, prices and which models each group may use. It
/// lives on the coordinator only; nodes learn the gateway URL and model names.
public struct GatewaySpec: Codable, Sendable, Equatable {
    public var providers: [ProviderSpec]
    /// Nil when the spec has no `prices.yaml` (every call is then refused `model_not_priced`).
    public var prices: PriceTable?
    /// Group name → model names it may use. A group that is not listed may use every model.
    public var groupModels: [String: [String]]
    /// Spending limits; nil: none.
    public var budgets: BudgetSpec?
    /// Rate limits; nil: none.
    public var limits: LimitSpec?
    /// Fleet models served by several provider models in order (`models:`); nil: none (a
    /// configuration stored before they existed decodes the same).
    public var models: [FleetModel]?

    public init(providers: [ProviderSpec] = [], prices: PriceTable? = nil, groupModels: [String: [String]] = [:],
                budgets: BudgetSpec? = nil, limits: LimitSpec? = nil, models: [FleetModel]? = nil) {
        self.models = models
        self.providers = providers
        self.prices = prices
        self.groupModels = groupModels
        self.budgets = budgets
        self.limits = limits
    }

    /// Every model name callers may use: each provider's models, then the fleet models.
    public var modelNames: [String] {
        providers.flatMap { $0.models.map(\.name) } + (models ?? []).map(\.name)
    }

    enum CodingKeys: String, CodingKey {
        case providers, prices, budgets, limits, models
        case groupModels = "group_models"
    }
}

/// What publishing would change in the gateway configuration.
public struct GatewayPlan: Codable, Sendable, Equatable {
    public var changed: Bool
    public var providersAdded: [String]
    public var providersChanged: [String]
    public var providersRemoved: [String]
    public var modelsAdded: [String]
    public var modelsChanged: [String]
    public var modelsRemoved: [String]
    /// Groups whose model allowlist changes.
    public var groupsChanged: [String]
    /// Budget scopes (`fleet`, `group demo`, `node demo-1`, `node default`, `soft_threshold`,
    /// `time_zone`) whose limits change.
    public var budgetsChanged: [String] = []
    /// Rate-limit scopes whose limits change.
    public var limitsChanged: [String] = []
    public var currentPriceVersion: Int64?
    public var priceVersion: Int64?
    /// Things that do not stop a publish but will refuse calls (unpriced models, keys not set).
    public var warnings: [String]

    public init(
        changed: Bool, providersAdded: [String] = [], providersChanged: [String] = [], providersRemoved: [String] = [],
        modelsAdded: [String] = [], modelsChanged: [String] = [], modelsRemoved: [String] = [], groupsChanged: [String] = [],
        currentPriceVersion: Int64? = nil, priceVersion: Int64? = nil, warnings: [String] = []
    ) {
        self.changed = changed
        self.providersAdded = providersAdded
        self.providersChanged = providersChanged
        self.providersRemoved = providersRemoved
        self.modelsAdded = modelsAdded
        self.modelsChanged = modelsChanged
        self.modelsRemoved = modelsRemoved
        self.groupsChanged = groupsChanged
        self.currentPriceVersion = currentPriceVersion
        self.priceVersion = priceVersion
        self.warnings = warnings
    }

    enum CodingKeys: String, CodingKey {
        case changed, warnings
        case providersAdded = "providers_added"
        case providersChanged = "providers_changed"
        case providersRemoved = "providers_removed"
        case modelsAdded = "models_added"
        case modelsChanged = "models_changed"
        case modelsRemoved = "models_removed"
        case groupsChanged = "groups_changed"
        case budgetsChanged = "budgets_changed"
        case limitsChanged = "limits_changed"
        case currentPriceVersion = "current_price_version"
        case priceVersion = "price_version"
    }
}

/// `GET /admin/v1/gateway`: the gateway configuration in force and which provider keys are set.
public struct GatewayView: Codable, Sendable, Equatable {
    public var spec: GatewaySpec
    /// Providers whose key is in the vault.
    public var keysSet: [String]

    public init(spec: GatewaySpec, keysSet: [String]) {
        self.spec = spec
        self.keysSet = keysSet
    }

    enum CodingKeys: String, CodingKey {
        case spec
        case keysSet = "keys_set"
    }
}

/// Daily and monthly spending limits of one scope, in billionths of a USD (so sums stay exact).
public struct BudgetLimit: Codable, Sendable, Equatable {
    public var dailyNanos: Int64?
    public var monthlyNanos: Int64?
    /// Past a share of the limit, calls go to a cheaper model (`downgrade:`); nil: never.
    public var downgrade: BudgetDowngrade?

    public init(dailyNanos: Int64? = nil, monthlyNanos: Int64? = nil, downgrade: BudgetDowngrade? = nil) {
        self.dailyNanos = dailyNanos
        self.monthlyNanos = monthlyNanos
        self.downgrade = downgrade
    }

    enum CodingKeys: String, CodingKey {
        case dailyNanos = "daily_nanos"
        case monthlyNanos = "monthly_nanos"
        case downgrade
    }
}

/// `downgrade: {at: 80%, to: fleet-cheap, models: [...]}` of a budget scope: once the scope has
/// spent `atPercent` of its daily or monthly limit, its calls to `models` (every other model
/// when not given) are served by the fleet model `to` instead. The limit itself still refuses
/// with `budget_exceeded`.
public struct BudgetDowngrade: Codable, Sendable, Equatable {
    public var atPercent: Double
    /// A fleet model name (a provider's model or a `models:` entry).
    public var to: String
    /// The models it applies to; nil: every model that is no downgrade's `to` (so cheap models
    /// of several scopes never send calls back and forth).
    public var models: [String]?

    public init(atPercent: Double, to: String, models: [String]? = nil) {
        self.atPercent = atPercent
        self.to = to
        self.models = models
    }

    /// Whether a call to `model` is moved to `to`; `targets`: every downgrade's `to` in the spec.
    public func applies(to model: String, targets: Set<String>) -> Bool {
        model != to && (models?.contains(model) ?? !targets.contains(model))
    }

    enum CodingKeys: String, CodingKey {
        case to, models
        case atPercent = "at_percent"
    }
}

/// `budgets:` of the fleet spec: USD limits per calendar day and month for the fleet, groups and
/// nodes (`nodes.default` applies to every node without an entry of its own).
public struct BudgetSpec: Codable, Sendable, Equatable {
    public var fleet: BudgetLimit?
    public var groups: [String: BudgetLimit]
    /// By node name; `default` for every other node.
    public var nodes: [String: BudgetLimit]
    /// Share of a limit at which a `budget_soft_threshold` event is raised once per period.
    public var softThresholdPercent: Double
    /// IANA time zone of the calendar periods (`UTC`, `Europe/Berlin`).
    public var timeZone: String

    public init(fleet: BudgetLimit? = nil, groups: [String: BudgetLimit] = [:], nodes: [String: BudgetLimit] = [:],
                softThresholdPercent: Double = 80, timeZone: String = "UTC") {
        self.fleet = fleet
        self.groups = groups
        self.nodes = nodes
        self.softThresholdPercent = softThresholdPercent
        self.timeZone = timeZone
    }

    /// One scope's downgrade: where it is written (`fleet`, `groups.demo`, `nodes.default`), the
    /// group it is limited to (nil: any), and the downgrade.
    public struct DowngradeScope: Sendable, Equatable {
        public var path: String
        public var group: String?
        public var downgrade: BudgetDowngrade
    }

    /// A cycle the downgrades form among `models` (a call moved from A to B by one scope and
    /// back to A by another), as the models along it with the first repeated last; nil if none.
    public func downgradeCycle(models: [String]) -> [String]? {
        let scopes = downgradeScopes
        let targets = Set(scopes.map(\.downgrade.to))
        var edges: [String: Set<String>] = [:]
        for scope in scopes {
            for model in models where scope.downgrade.applies(to: model, targets: targets) {
                edges[model, default: []].insert(scope.downgrade.to)
            }
        }
        var done = Set<String>()
        func visit(_ model: String, _ path: [String]) -> [String]? {
            if let start = path.firstIndex(of: model) { return Array(path[start...]) + [model] }
            guard !done.contains(model) else { return nil }
            for next in (edges[model] ?? []).sorted() {
                if let cycle = visit(next, path + [model]) { return cycle }
            }
            done.insert(model)
            return nil
        }
        for model in edges.keys.sorted() {
            if let cycle = visit(model, []) { return cycle }
        }
        return nil
    }

    /// Every scope's downgrade, narrowest first: nodes (by name), groups, the fleet.
    public var downgradeScopes: [DowngradeScope] {
        var scopes: [DowngradeScope] = []
        for (name, limit) in nodes.sorted(by: { $0.key < $1.key }) {
            if let downgrade = limit.downgrade { scopes.append(DowngradeScope(path: "nodes." + name, group: nil, downgrade: downgrade)) }
        }
        for (name, limit) in groups.sorted(by: { $0.key < $1.key }) {
            if let downgrade = limit.downgrade { scopes.append(DowngradeScope(path: "groups." + name, group: name, downgrade: downgrade)) }
        }
        if let downgrade = fleet?.downgrade { scopes.append(DowngradeScope(path: "fleet", group: nil, downgrade: downgrade)) }
        return scopes
    }

    enum CodingKeys: String, CodingKey {
        case fleet, groups, nodes
        case softThresholdPercent = "soft_threshold_percent"
        case timeZone = "time_zone"
    }
}

/// Per-minute limits of one scope; `maxInFlight` applies to nodes only.
public struct RateLimit: Codable, Sendable, Equatable {
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    public var maxInFlight: Int?

    public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil, maxInFlight: Int? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.maxInFlight = maxInFlight
    }

    enum CodingKeys: String, CodingKey {
        case requestsPerMinute = "requests_per_minute"
        case tokensPerMinute = "tokens_per_minute"
        case maxInFlight = "max_in_flight"
    }
}

/// `limits:` of the fleet spec: request and token rates for the fleet, groups and nodes.
public struct LimitSpec: Codable, Sendable, Equatable {
    public var fleet: RateLimit?
    public var groups: [String: RateLimit]
    /// By node name; `default` for every other node.
    public var nodes: [String: RateLimit]

    public init(fleet: RateLimit? = nil, groups: [String: RateLimit] = [:], nodes: [String: RateLimit] = [:]) {
        self.fleet = fleet
        self.groups = groups
        self.nodes = nodes
    }
}
