import FlotillaProtocol
import Foundation

/// Prints a rollout's progress until it completes, pauses or is aborted.
enum RolloutFollower {
    static func follow(version: Int64, client: AdminClient, interval: Duration = .milliseconds(500)) async throws -> RolloutView {
        var last = ""
        while true {
            let view = try await client.get("/admin/v1/rollouts/\(version)", as: RolloutView.self)
            let line = RolloutOutput.progress(view)
            if line != last {
                print(line)
                last = line
            }
            switch view.state {
            case .running:
                try await Task.sleep(for: interval)
            case .completed:
                let failed = (view.counts["failed"] ?? 0) + (view.counts["rolled_back"] ?? 0)
                print("Rollout \(version) completed\(view.offline > 0 ? "; \(view.offline) offline node(s) will update when they return" : "")\(failed > 0 ? "; \(failed) node(s) failed" : "").")
                return view
            case .paused, .aborted, .superseded:
                print("Rollout \(version) \(view.state.rawValue)\(view.reason.map { ": \($0)" } ?? "").")
                for node in view.nodes ?? [] where node.status == "failed" || node.status == "rolled_back" {
                    print("  \(node.name): \(node.status) \(node.errorCode ?? "") \(node.message ?? "")")
                }
                return view
            }
        }
    }
}

/// Formats rollouts.
enum RolloutOutput {
    static func progress(_ view: RolloutView) -> String {
        let order = ["applied", "downloading", "pending", "waiting", "failed", "rolled_back"]
        let parts = order.compactMap { key in view.counts[key].map { "\($0) \(key)" } }
        return "release \(view.version): \(view.state.rawValue), wave \(view.wavesStarted)/\(view.waves), " + parts.joined(separator: ", ")
            + (view.offline > 0 ? ", \(view.offline) offline" : "")
    }
}
