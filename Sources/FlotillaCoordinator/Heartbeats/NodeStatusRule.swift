import FlotillaProtocol
import Foundation

/// How a node's displayed status follows from its admin state and when it was last seen.
public enum NodeStatusRule {
    /// How recently a node must have been seen to count as online.
    public static func onlineWindow(interval: TimeInterval) -> TimeInterval { 2 * interval }

    /// `online` if seen within 2 intervals, `stale` within 10, else `offline`; admin states win.
    public static func status(adminState: NodeAdminState, lastSeen: Date?, now: Date, interval: TimeInterval) -> NodeStatus {
        switch adminState {
        case .revoked: return .revoked
        case .pending: return .pending
        case .active: break
        }
        guard let lastSeen else { return .offline }
        let age = now.timeIntervalSince(lastSeen)
        if age <= 2 * interval { return .online }
        if age <= 10 * interval { return .stale }
        return .offline
    }
}
