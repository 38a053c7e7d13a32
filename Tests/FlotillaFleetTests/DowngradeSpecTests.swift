import FlotillaProtocol
import Foundation
import Testing

@testable import FlotillaFleet

/// A budget scope's `downgrade:`: loaded into the gateway spec, or refused by `plan` naming the
/// line to fix (nothing is published).
@Suite struct DowngradeSpecTests {
    static func spec(_ budgets: String, groupModels: String = "") -> String {
        "version: 1\n" + FleetModelSpecTests.providers
            + "  cheap: {kind: openai, base_url: https://api.openai.com/v1, models: {fleet-cheap: gpt-4.1-nano}}\n"
            + "budgets:\n" + budgets + "groups:\n  demo:\n    runtime: picoclaw\n" + groupModels
    }

    @Test func aDowngradeIsLoaded() throws {
        let fleet = try TemporaryFleet(spec: Self.spec("  nodes:\n    default: {daily: 1, downgrade: {at: 80%, to: fleet-cheap}}\n"))
        let loaded = try FleetSpecLoader(directory: fleet.directory).load()
        #expect(loaded.gateway.budgets?.nodes["default"] == BudgetLimit(dailyNanos: 1_000_000_000,
                                                                        downgrade: BudgetDowngrade(atPercent: 80, to: "fleet-cheap")))
    }

    @Test(arguments: [
        ("  fleet: {daily: 5, downgrade: {at: 80%, to: fleet-nope}}\n",
         "budgets.fleet.downgrade.to: unknown model 'fleet-nope' (declared: fleet-default, claude, fleet-cheap)"),
        ("  fleet: {daily: 5, downgrade: {at: 100%, to: fleet-cheap}}\n",
         "budgets.fleet.downgrade.at: expected a percentage below 100% like 80% (at 100% the budget refuses calls), found '100%'"),
        ("  fleet: {downgrade: {at: 80%, to: fleet-cheap}}\n", "budgets.fleet.downgrade: needs a daily or monthly limit in the same scope to be a share of"),
        ("  fleet: {daily: 5, downgrade: {to: fleet-cheap}}\n",
         "budgets.fleet.downgrade: needs 'at' (a share of the budget, e.g. 80%) and 'to' (the cheaper model)"),
        ("""
          fleet: {daily: 5, downgrade: {at: 80%, to: fleet-cheap, models: [fleet-default]}}
          groups:
            demo: {daily: 2, downgrade: {at: 50%, to: fleet-default, models: [fleet-cheap]}}

        """, "budgets: the downgrades form a cycle: fleet-cheap -> fleet-default -> fleet-cheap; list each downgrade's models so none leads back"),
    ])
    func aBadDowngradeIsRefused(_ budgets: String, _ message: String) throws {
        let (_, problems) = try FleetSpecValidationTests.problems(Self.spec(budgets))
        #expect(problems.map(\.message).contains(message), "\(problems.map(\.message))")
    }

    @Test func aDowngradeToAModelTheGroupMayNotUseIsRefused() throws {
        let (_, problems) = try FleetSpecValidationTests.problems(Self.spec("  fleet: {daily: 5, downgrade: {at: 80%, to: fleet-cheap}}\n",
                                                                           groupModels: "    models: [fleet-default]\n"))
        #expect(problems.map(\.message) == [
            "budgets.fleet.downgrade.to: group 'demo' may not use 'fleet-cheap' (groups.demo.models), so its calls to 'fleet-default' could not be downgraded; allow it or list the models to downgrade",
        ])
    }
}
