import FlotillaProtocol
import NIOCore

/// The gateway configuration in force, indexed for the hot path: which provider serves a model
/// name, at what upstream id and price, and which groups may call it. Immutable; a publish swaps
/// in a new one.
struct GatewayCatalog: Sendable {
    /// Where one model name goes.
    struct Route: Sendable, Equatable {
        var model: String
        var upstream: String
        var provider: String
        var kind: ProviderKind
        var baseURL: String
        /// Nil when neither the table nor its default prices the upstream id.
        var price: ModelPrice?
        var priceVersion: Int64?
        /// A fleet model's `first_byte_timeout` (nil: the coordinator's).
        var firstByteTimeout: TimeAmount? = nil
    }

    /// The configuration's version in `gateway_configs` (0: none published yet).
    let version: Int64
    let spec: GatewaySpec
    /// Each model's targets in the order they are tried: one for a provider's model, a fleet
    /// model's `targets` for it.
    private let routes: [String: [Route]]
    private let allowed: [String: Set<String>]
    /// The budgets' downgrades, narrowest scope first, and every downgrade's `to`.
    let downgrades: [BudgetSpec.DowngradeScope]
    let downgradeTargets: Set<String>

    init(version: Int64, spec: GatewaySpec) {
        self.version = version
        self.spec = spec
        downgrades = spec.budgets?.downgradeScopes ?? []
        downgradeTargets = Set(downgrades.map(\.downgrade.to))
        var routes: [String: [Route]] = [:]
        let providers = Dictionary(spec.providers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        func route(_ name: String, _ upstream: String, _ provider: ProviderSpec) -> Route {
            Route(model: name, upstream: upstream, provider: provider.name, kind: provider.kind,
                  baseURL: provider.baseURL, price: spec.prices?.price(of: upstream), priceVersion: spec.prices?.version)
        }
        for provider in spec.providers {
            for model in provider.models { routes[model.name] = [route(model.name, model.upstream, provider)] }
        }
        for model in spec.models ?? [] where routes[model.name] == nil {
            let targets = model.targets.compactMap { target in
                providers[target.provider].map { provider in
                    var route = route(model.name, target.upstream, provider)
                    route.firstByteTimeout = model.firstByteTimeoutMs.map { .milliseconds($0) }
                    return route
                }
            }
            if !targets.isEmpty { routes[model.name] = targets }
        }
        self.routes = routes
        allowed = spec.groupModels.mapValues(Set.init)
    }

    static let empty = GatewayCatalog(version: 0, spec: GatewaySpec())

    /// The route of `model` for a caller in `group` calling the `api` endpoints, or the refusal:
    /// `model_not_found`, `model_not_allowed`, `model_wrong_api` (embeddings of an Anthropic-kind
    /// model), `model_not_priced`.
    /// A coordinator copy's name (`MODEL@2`, which PicoClaw's fallbacks need: PicoClawModelList)
    /// routes as its model, and is metered as it.
    /// `translatable`: the endpoint exists in both APIs (chat), so a model of the other kind is
    /// served through translation (APITranslation) rather than refused.
    /// Every target of a fleet model must serve the call: one that cannot (unpriced, no such
    /// endpoint) refuses it, rather than the fallback failing only when it is needed.
    func routes(model requested: String, group: String, api: ProviderKind, translatable: Bool = false) throws(CoordinatorError) -> [Route] {
        guard let model = PicoClawModelList.fleetModel(requested: requested), let targets = routes[model] else {
            throw CoordinatorError(.modelNotFound, "the model '\(requested)' does not exist (see GET /v1/models for the models you may use)")
        }
        if let allowed = allowed[group], !allowed.contains(model) {
            throw CoordinatorError(.modelNotAllowed, "the model '\(model)' is not allowed for group '\(group)'")
        }
        for route in targets {
            guard route.kind == api || translatable else {
                throw CoordinatorError(.modelWrongAPI, "the model '\(model)' is served by an \(route.kind.rawValue) provider, which has no such endpoint")
            }
            guard route.price != nil else {
                throw CoordinatorError(.modelNotPriced, "the model '\(model)' (\(route.provider)/\(route.upstream)) has no price in prices.yaml; the gateway refuses unpriced models")
            }
        }
        return targets
    }

    /// The first of `routes(model:group:api:translatable:)`: where a call goes while nothing fails.
    func route(model requested: String, group: String, api: ProviderKind, translatable: Bool = false) throws(CoordinatorError) -> Route {
        try routes(model: requested, group: group, api: api, translatable: translatable)[0]
    }

    /// Whether a caller in `group` may use `model`.
    func allows(_ model: String, group: String) -> Bool {
        routes[model] != nil && (allowed[group]?.contains(model) ?? true)
    }

    /// The models a caller in `group` may use, by name (each by its first target).
    func models(group: String) -> [Route] {
        let names = allowed[group].map { Array($0) } ?? Array(routes.keys)
        return names.compactMap { routes[$0]?.first }.sorted { $0.model < $1.model }
    }

    /// Provider names declared.
    var providerNames: Set<String> { Set(spec.providers.map(\.name)) }
}
