import FlotillaProtocol
import Foundation
import Testing

@testable import FlotillaCoordinator

@Suite struct NodeStatusRuleTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let interval: TimeInterval = 15

    func status(_ state: NodeAdminState = .active, age: TimeInterval?) -> NodeStatus {
        NodeStatusRule.status(
            adminState: state, lastSeen: age.map { now.addingTimeInterval(-$0) }, now: now, interval: interval
        )
    }

    @Test func onlineWithinTwoIntervals() {
        #expect(status(age: 0) == .online)
        #expect(status(age: 14) == .online)
        #expect(status(age: 30) == .online)  // boundary: exactly two intervals
        #expect(status(age: 30.001) == .stale)
    }

    @Test func staleWithinTenIntervals() {
        #expect(status(age: 31) == .stale)
        #expect(status(age: 150) == .stale)  // boundary: exactly ten intervals
        #expect(status(age: 150.001) == .offline)
    }

    @Test func offlineBeyondTenIntervalsOrNeverSeen() {
        #expect(status(age: 151) == .offline)
        #expect(status(age: 86_400 * 30) == .offline)
        #expect(status(age: nil) == .offline)
    }

    @Test func aHeartbeatFromTheFutureCountsAsOnline() {
        #expect(status(age: -5) == .online)
    }

    @Test(arguments: [NodeAdminState.pending, .revoked])
    func adminStateWinsRegardlessOfLastSeen(_ state: NodeAdminState) {
        let expected: NodeStatus = state == .pending ? .pending : .revoked
        for age: TimeInterval? in [nil, 0, 30, 100, 10_000] {
            #expect(status(state, age: age) == expected, "age \(String(describing: age))")
        }
    }

    @Test func scalesWithTheInterval() {
        let lastSeen = now.addingTimeInterval(-100)
        #expect(NodeStatusRule.status(adminState: .active, lastSeen: lastSeen, now: now, interval: 60) == .online)
        #expect(NodeStatusRule.status(adminState: .active, lastSeen: lastSeen, now: now, interval: 10) == .stale)
        #expect(NodeStatusRule.status(adminState: .active, lastSeen: lastSeen, now: now, interval: 5) == .offline)
    }
}
