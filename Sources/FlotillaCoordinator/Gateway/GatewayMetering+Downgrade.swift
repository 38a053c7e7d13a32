import FlotillaProtocol
import Foundation

/// A call moved to a cheaper model by a budget's `downgrade:`.
struct ModelDowngrade: Sendable, Equatable {
    var from: String
    var to: String
    /// The scope whose share moved it first (`node board-01`) and that share, in percent.
    var scope: String
    var period: String
    var percent: Double

    /// The `x-flotilla-downgrade` header.
    var header: String {
        "\(from) -> \(to) (\(scope) at \(Int(percent.rounded(.down)))% of its \(period) budget)"
    }
}

extension GatewayMetering {
    /// Where `model` goes for `node` under the budgets' downgrades: each scope of the node
    /// (its own or the default node budget, its group, the fleet; narrowest first, each once)
    /// that has spent at least its `at` share of its daily or monthly limit moves a call to a
    /// model it applies to on to its `to`, when the node's group may use that. Nil: no move.
    /// Spend is what is settled (calls in flight are not counted: the hard limit still holds
    /// their reservations). Raises a `budget_downgrade` event once per scope and period; the
    /// metric counts the call once admitted (`GatewayAPI`). Reads the counters of `budgets`
    /// only when some scope's downgrade could move `model`.
    func downgrade(node: AuthenticatedNode, model: String, catalog: GatewayCatalog, budgets: BudgetChecks) async -> ModelDowngrade? {
        guard !catalog.downgrades.isEmpty, let spec = catalog.spec.budgets else { return nil }
        let ownBudget = spec.nodes[node.record.name] != nil
        let scopes = catalog.downgrades.filter { scope in
            switch scope.path {
            case "fleet": true
            case "groups." + node.group: true
            case "nodes." + node.record.name: true
            case "nodes.default": !ownBudget
            default: false
            }
        }
        guard scopes.contains(where: { $0.downgrade.applies(to: model, targets: catalog.downgradeTargets) }) else { return nil }
        let checks = budgets.checks
        let figures = await ledger.counters(checks.map(\.key))
        var current = model
        var first: ModelDowngrade?
        for scope in scopes {
            let downgrade = scope.downgrade
            guard downgrade.applies(to: current, targets: catalog.downgradeTargets), catalog.allows(downgrade.to, group: node.group) else { continue }
            let key = scope.path == "fleet" ? "fleet" : scope.path.hasPrefix("groups.") ? "group:\(node.group)" : "node:\(node.id)"
            let shares = checks.filter { $0.key.scope == key }.map { check in
                (check, Double(figures[check.key]?.spentNanos ?? 0) / Double(check.limitNanos) * 100)
            }
            guard let (check, percent) = shares.max(by: { $0.1 < $1.1 }), percent >= downgrade.atPercent else { continue }
            if first == nil {
                first = ModelDowngrade(from: model, to: downgrade.to, scope: check.label, period: check.key.period, percent: percent)
            }
            await raise(.budgetDowngrade, scope: check.label, onceAs: "downgrade|\(check.key.scope)|\(check.key.period)|\(check.key.periodKey)", message:
                "\(check.label) spent \(Int(percent.rounded(.down)))% of its \(check.key.period) budget of \(BudgetPolicy.dollars(check.limitNanos)): its calls to \(current) go to \(downgrade.to)")
            current = downgrade.to
        }
        guard var result = first else { return nil }
        result.to = current
        return result
    }
}
