import FlotillaProtocol

/// A fleet spec directory read and checked in full: every group resolved to what the coordinator
/// publishes (config, skill files, rollout policy), plus warnings that do not stop a publish.
public struct LoadedFleet: Sendable, Equatable {
    /// The parsed `fleet.yaml`.
    public var spec: FleetSpec
    /// One entry per group, in the order of `fleet.yaml`, skills in the order listed, files
    /// sorted by path.
    public var publishGroups: [PublishGroup]
    /// How long signed manifests stay valid.
    public var expiresAfterSeconds: Int64
    /// Providers, prices and group model lists for the coordinator's gateway.
    public var gateway: GatewaySpec
    /// Problems that do not block a publish, as `file:line: message` lines (an invalid skill no
    /// group uses, an entry of `skills/` that is not a skill).
    public var warnings: [String]

    public init(spec: FleetSpec, publishGroups: [PublishGroup], expiresAfterSeconds: Int64, gateway: GatewaySpec = GatewaySpec(),
                warnings: [String]) {
        self.gateway = gateway
        self.spec = spec
        self.publishGroups = publishGroups
        self.expiresAfterSeconds = expiresAfterSeconds
        self.warnings = warnings
    }

    /// The body of `POST /admin/v1/releases`: with `dryRun` the coordinator only plans.
    public func publishRequest(dryRun: Bool) -> PublishRequest {
        PublishRequest(dryRun: dryRun, expiresAfterSeconds: expiresAfterSeconds, groups: publishGroups, gateway: gateway)
    }
}
