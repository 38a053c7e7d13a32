import Foundation
import FlotillaProtocol
import Testing

extension EndToEnd {
/// The dashboard in a real browser (Debian's Chromium driven by Selenium) against a real
/// coordinator with an enrolled agent's heartbeats, gateway traffic from the official SDKs and a
/// rollout in progress. Screenshots of every page are written to `.build/dashboard-screenshots/`.
@Suite struct DashboardEndToEndTests {
    static var screenshots: String { Binaries.repositoryRoot + "/.build/dashboard-screenshots" }

    @Test func anOperatorSignsInSeesTheFleetAndPausesARolloutFromThePage() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: scripts/install-deps.sh installs Debian's chromium and chromium-driver")
        }
        try await TestFleet.with { fleet in
            let gateway = try GatewaySetup.prepare(fleet, extraSpec: """
                budgets:
                  fleet: {daily: 100, monthly: 1000}
                """)
            let second = try fleet.enroll(bundle: try fleet.provision(group: "demo"), name: "node-2")
            try #require(second.status == 0, "\(second.stderr)")
            let agent = try fleet.startAgent(stateDirectory: gateway.state, label: "node-1")
            #expect(try fleet.eventually { try fleet.node("node-1")?.status == .online })
            let calls = try gateway.sdk("chat").steps
            #expect(calls["openai"]?["error"] is NSNull && calls["anthropic"]?["error"] is NSNull)
            // A few heartbeats for the charts, then the agent stops, so the rollout below stays
            // in progress (nobody applies it) until the page pauses it.
            try await Task.sleep(for: .seconds(4))
            _ = agent.stop()
            try GatewaySetup.writeSpec(fleet, providerURL: gateway.providerURL, extraSpec: "budgets:\n  fleet: {daily: 100, monthly: 1000}\n", groups: """
                rollout: {canary: 1, batch_size: 50%, wait: 1h, failure_threshold: 1}
                groups:
                  demo:
                    runtime: picoclaw
                    config:
                      agents:
                        defaults:
                          temperature: 0.3
                """)
            let apply = try fleet.cli(["apply", fleet.root + "/spec", "--yes", "--detach"])
            try #require(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
            let version = try #require(apply.stdout.firstMatch(of: /Published release (\d+)/).map { String($0.1) }, "\(apply.stdout)")

            try? FileManager.default.removeItem(atPath: Self.screenshots)
            try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)
            let run = try ChildProcess.run(
                try GatewaySetup.python,
                [Binaries.repositoryRoot + "/Tests/Python/dashboard_browser.py", fleet.serverURL, try HardeningTests.adminToken(fleet), "node-1", version,
                 Self.screenshots],
                logDirectory: fleet.root + "/logs", timeout: 180
            )
            let seen = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)\(run.stderr)")
            #expect(seen["error"] == nil, "\(seen["error"] ?? "") \(seen["page"] ?? "")")
            print("dashboard screenshots: \(Self.screenshots)")

            // Sign-in: a wrong token is refused; the session cookie is HttpOnly, Secure, Strict.
            #expect(seen["redirected_to_sign_in"] as? Bool == true)
            #expect((seen["wrong_token_message"] as? String)?.contains("not valid") == true)
            #expect(seen["wrong_token_still_signed_out"] as? Bool == true)
            #expect((seen["after_sign_in_url"] as? String)?.hasSuffix("/ui/nodes") == true)
            let cookie = seen["session_cookie"] as? [String: Any]
            #expect(cookie?["httpOnly"] as? Bool == true && cookie?["secure"] as? Bool == true && cookie?["sameSite"] as? String == "Strict")

            // The overview's counts and spend are the fleet's.
            let nodes = try fleet.nodes()
            let overview = seen["overview"] as? [String: String]
            #expect(overview?["total"] == "2")
            #expect(overview?["pending"] == "0")
            let counts = ["online", "stale", "offline"].compactMap { Int(overview?[$0] ?? "") }
            #expect(counts.count == 3 && counts.reduce(0, +) == 2)
            let usage = try JSONDecoder().decode(UsageReport.self, from: Data(try fleet.cli(["usage", "--json"]).stdout.utf8))
            #expect(usage.total.costUSD > 0)
            let shownSpend = Double((seen["spend_today"] as? String ?? "").dropFirst()) ?? -1
            #expect(abs(shownSpend - usage.total.costUSD) <= 1e-9, "\(seen["spend_today"] ?? "") vs \(usage.total.costUSD)")
            #expect((seen["budget_rows"] as? [String])?.contains { $0.hasPrefix("fleet daily") } == true)
            #expect(seen["live_updates"] as? Bool == true)
            #expect(seen["nodes_rows"] as? Int == nodes.count)

            // The node page charts points from real heartbeats, and its spend per model.
            let points = seen["node_chart_points"] as? [String: Int]
            #expect((points?["chart-cpu"] ?? 0) >= 1)
            #expect((points?["chart-memory"] ?? 0) >= 1)
            #expect(points?["chart-spend"] == 30)
            #expect((seen["node_cpu_polyline"] as? Int ?? 0) >= 1)
            let models = seen["node_model_rows"] as? [String] ?? []
            #expect(models.contains { $0.hasPrefix("fleet-default") } && models.contains { $0.hasPrefix("claude") })

            // The rollout was paused from its page, after a forged form was refused.
            #expect(seen["rollout_state_before"] as? String == "running")
            #expect((seen["missing_csrf_message"] as? String)?.hasPrefix("csrf_invalid") == true)
            #expect(seen["rollout_state_after_forged"] as? String == "running")
            #expect(seen["rollout_state_after"] as? String == "paused")
            #expect(seen["resume_offered"] as? Bool == true)
            let rollout = try JSONDecoder().decode(RolloutView.self, from: Data(try fleet.cli(["rollout", "status", version, "--json"]).stdout.utf8))
            #expect(rollout.state == .paused)

            // The audit log names the dashboard session as the actor.
            #expect((seen["audit_status"] as? String)?.hasPrefix("Hash chain intact") == true)
            let actions = seen["audit_actions"] as? [String] ?? []
            let actors = seen["audit_actors"] as? [String] ?? []
            #expect(actions.first == "rollout.pause" && actors.first?.hasPrefix("dashboard:session/") == true)
            #expect(actions.contains("dashboard.sign_in") && actions.contains("dashboard.sign_in_failed"))

            // No Content-Security-Policy violation; nothing overflows at phone width; sign-out works.
            #expect((seen["csp_violations"] as? [String])?.isEmpty == true, "\(seen["csp_violations"] ?? "")")
            let overflow = seen["phone_overflow"] as? [String: Int] ?? [:]
            #expect(overflow.count == 3)
            for (page, pixels) in overflow { #expect(pixels <= 0, "\(page) scrolls sideways by \(pixels) px") }
            #expect(seen["sign_out_reached_by_tab"] as? Bool == true)
            #expect(seen["signed_out"] as? Bool == true)
            for page in ["sign-in-refused", "overview", "nodes", "node", "rollout", "rollouts", "budgets", "usage", "audit", "nodes-phone"] {
                #expect(FileManager.default.fileExists(atPath: Self.screenshots + "/\(page).png"), "no screenshot of \(page)")
            }
        }
    }

    @Test func nodeCredentialsAndBearerTokensDoNotOpenTheDashboard() async throws {
        try await TestFleet.with { fleet in
            let token = try HardeningTests.adminToken(fleet)
            // A bearer admin token is for the API; the dashboard wants a signed-in session.
            let bearer = try await fleet.get("/ui/nodes", headers: [("Authorization", "Bearer \(token)")])
            #expect(bearer.status == 303 && bearer.location?.hasPrefix("/ui/sign-in") == true)
            let forgedCookie = try await fleet.get("/ui/", headers: [("Cookie", "flotilla_session=flt_session_guess")])
            #expect(forgedCookie.status == 303)
            // Sign-in without the form's double-submit cookie is refused as CSRF.
            let noNonce = try await fleet.post("/ui/sign-in", body: Data("token=\(token)&csrf=abc".utf8),
                                               headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(noNonce.status == 403 && String(decoding: noNonce.body, as: UTF8.self).contains("csrf_invalid"))

            // A session ends when the admin token it was opened with is rotated.
            let form = try await fleet.get("/ui/sign-in")
            let nonce = try #require(form.cookies["flotilla_sign_in"])
            let signedIn = try await fleet.post("/ui/sign-in", body: Data("token=\(token)&csrf=\(nonce)&next=%2Fui%2Fnodes".utf8),
                                                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "flotilla_sign_in=\(nonce)")])
            #expect(signedIn.status == 303 && signedIn.location == "/ui/nodes")
            let session = try #require(signedIn.cookies["flotilla_session"])
            #expect(try await fleet.get("/ui/nodes", headers: [("Cookie", "flotilla_session=\(session)")]).status == 200)

            // A pending node is approved from its page; the form needs the page's CSRF token.
            let enrolled = try fleet.enroll(bundle: try fleet.provision(group: "edge", extra: ["--require-approval"]), name: "waiting-1")
            #expect(enrolled.status == 0)
            #expect(try fleet.node("waiting-1")?.status == .pending)
            let cookie = ("Cookie", "flotilla_session=\(session)")
            let page = String(decoding: try await fleet.get("/ui/nodes/waiting-1", headers: [cookie]).body, as: UTF8.self)
            #expect(page.contains("id=\"approve\""))
            let csrf = try #require(page.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/).map { String($0.1) })
            let formType = ("Content-Type", "application/x-www-form-urlencoded")
            let forged = try await fleet.post("/ui/nodes/waiting-1/approve", body: Data("csrf=\(String(repeating: "0", count: 64))".utf8), headers: [formType, cookie])
            #expect(forged.status == 403)
            #expect(try fleet.node("waiting-1")?.status == .pending)
            let approved = try await fleet.post("/ui/nodes/waiting-1/approve", body: Data("csrf=\(csrf)".utf8), headers: [formType, cookie])
            #expect(approved.status == 303 && approved.location == "/ui/nodes/waiting-1?done=approved")
            #expect(try fleet.node("waiting-1")?.status != .pending)
            let audit = try JSONDecoder().decode([AuditEntryView].self, from: Data(try fleet.cli(["audit", "--json"]).stdout.utf8))
            #expect(audit.last?.action == "node.approve" && audit.last?.target == "waiting-1" && audit.last?.actor.hasPrefix("dashboard:session/") == true)
            #expect(try fleet.cli(["admin-token", "rotate"]).status == 0)
            let afterRotation = try await fleet.get("/ui/nodes", headers: [("Cookie", "flotilla_session=\(session)")])
            #expect(afterRotation.status == 303 && afterRotation.location?.hasPrefix("/ui/sign-in") == true)
        }
    }
}
}
