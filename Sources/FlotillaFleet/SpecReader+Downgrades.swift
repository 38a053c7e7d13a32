import FlotillaProtocol

extension SpecReader {
    /// The budget scopes' `downgrade:` against the models: each names declared models, may be
    /// used by every group it applies to, and together they form no cycle (a call moved from A
    /// to B by one scope must not be moved back to A by another).
    mutating func checkDowngrades(_ budgets: BudgetSpec, declared: [String], groups: [FleetSpec.Group]) {
        let scopes = budgets.downgradeScopes
        let targets = Set(scopes.map(\.downgrade.to))
        for scope in scopes {
            let downgrade = scope.downgrade
            let path = "budgets." + scope.path
            let line = downgradeLines[path] ?? nil
            let have = declared.isEmpty ? "no model is declared" : "declared: " + declared.joined(separator: ", ")
            guard declared.contains(downgrade.to) else {
                problem(line: line, "\(path).downgrade.to: unknown model '\(downgrade.to)' (\(have))")
                continue
            }
            for model in downgrade.models ?? [] where !declared.contains(model) {
                problem(line: line, "\(path).downgrade.models: unknown model '\(model)' (\(have))")
            }
            if downgrade.models?.contains(downgrade.to) == true {
                problem(line: line, "\(path).downgrade: '\(downgrade.to)' cannot be downgraded to itself")
            }
            let sources = declared.filter { downgrade.applies(to: $0, targets: targets) }
            for group in groups where scope.group == nil || scope.group == group.name {
                guard let allowed = group.models, !allowed.contains(downgrade.to),
                      let moved = sources.first(where: { allowed.contains($0) }) else { continue }
                problem(line: line, "\(path).downgrade.to: group '\(group.name)' may not use '\(downgrade.to)' (groups.\(group.name).models), "
                        + "so its calls to '\(moved)' could not be downgraded; allow it or list the models to downgrade")
            }
        }
        if let cycle = budgets.downgradeCycle(models: declared) {
            problem(line: scopes.compactMap { downgradeLines["budgets." + $0.path] ?? nil }.first,
                    "budgets: the downgrades form a cycle: \(cycle.joined(separator: " -> ")); list each downgrade's models so none leads back")
        }
    }
}
