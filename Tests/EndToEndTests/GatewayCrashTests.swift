import AsyncHTTPClient
import Foundation
import GRDB
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import Synchronization
import FlotillaProtocol
import Testing

extension EndToEnd {
/// kill -9 of the coordinator while gateway calls are in flight: every call whose caller got its
/// complete answer has its usage record after the restart.
@Suite struct GatewayCrashTests {
    /// Calls started, and the request ids of calls answered completely.
    final class Tally: Sendable {
        let started = Mutex(0)
        let answered = Mutex<[String]>([])
    }

    @Test func killMinus9WhileCallsAreInFlightLosesNoAnsweredCall() async throws {
        try await TestFleet.with { fleet in
            let gateway = try GatewaySetup.prepare(fleet)
            let tally = try await Self.hammer(fleet, gateway, killAfterAnswered: 100) { response, body, stream in
                let id = response.headers.first(name: "x-request-id")
                let complete = response.status == .ok
                    && (stream ? body.hasSuffix("data: [DONE]\n\n")
                        : (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["usage"] != nil)
                return complete ? id : nil
            }
            let ids = tally.answered.withLock { $0 }
            #expect(ids.count >= 100, "only \(ids.count) calls answered before the kill")
            #expect(tally.started.withLock { $0 } > ids.count)

            try fleet.killAndRestartCoordinator()
            let database = try DatabaseQueue(path: fleet.dataDirectory + "/flotilla.sqlite", configuration: {
                var configuration = Configuration()
                configuration.readonly = true
                return configuration
            }())
            let stored = try await database.read { db in
                try Set(String.fetchAll(db, sql: "SELECT request_id FROM usage WHERE outcome = 'ok'"))
            }
            let missing = ids.filter { !stored.contains($0) }
            #expect(missing.isEmpty, "\(missing.count) of \(ids.count) answered calls have no usage record")
            // And the restarted coordinator serves the same node at once.
            #expect(try gateway.sdk("chat").steps["openai"]?["error"] is NSNull)
        }
    }

    /// 200 calls against a node budget that affords about 50, and kill -9 in the middle: after the
    /// restart no limit is exceeded, the reservations in flight are charged and listed as
    /// unsettled, and calls proceed (here after the budget is raised).
    @Test func killMinus9DuringABudgetedRunExceedsNoLimitAndChargesWhatWasInFlight() async throws {
        // A call costs 10 × 0.15 + 3 × 0.60 = 3.3 micro-USD; 50 of them 165. The slow call below
        // holds up to 300 more (its worst case at 1 USD per million tokens).
        let budget = "budgets:\n  nodes:\n    default: {daily: 0.000465}\n"
        try await TestFleet.with { fleet in
            let gateway = try GatewaySetup.prepare(fleet, extraSpec: budget)
            // One call is certainly in flight at the kill: the slow model takes 100 ms a word, and
            // this one asks for 240 words (24 s, longer than the run before the kill on a busy machine). It runs in a process of its own, so it starts however
            // busy this test process is; its reservation is durable once the budget shows it.
            let slow = try Self.slowCall(fleet, gateway)
            defer { slow.kill9() }
            #expect(try fleet.eventually(timeout: 30) {
                let held = try JSONDecoder().decode(BudgetsReport.self, from: Data(try fleet.cli(["budgets", "--json"]).stdout.utf8))
                return held.scopes.contains { $0.scope == "node node-1" && $0.reservedUSD > 0 }
            })
            _ = try await Self.hammer(fleet, gateway, maxCalls: 200, killAfterAnswered: 10) { response, _, _ in
                response.status == .ok ? "ok" : nil
            }

            try fleet.killAndRestartCoordinator()
            let report = try JSONDecoder().decode(BudgetsReport.self, from: Data(try fleet.cli(["budgets", "--json"]).stdout.utf8))
            let node = try #require(report.scopes.first { $0.scope == "node node-1" })
            #expect(node.spentUSD <= node.limitUSD + 1e-12, "spent \(node.spentUSD) of \(node.limitUSD)")
            #expect(node.reservedUSD == 0)
            #expect(!report.unsettled.isEmpty, "16 workers were calling when the coordinator died")
            #expect(report.unsettled.allSatisfy { $0.node == "node-1" && $0.chargedUSD > 0 })
            let charged = report.unsettled.reduce(0) { $0 + $1.chargedUSD }
            let usage = try GatewayEndToEndTests.usage(fleet, by: "node").total.costUSD
            #expect(abs(node.spentUSD - (usage + charged)) < 1e-9, "spend = usage records + unsettled charges")

            // Raising the budget lets calls through again; nothing is left blocking.
            try GatewaySetup.writeSpec(fleet, providerURL: gateway.providerURL, extraSpec: "budgets:\n  nodes:\n    default: {daily: 1}\n")
            #expect(try fleet.cli(["apply", fleet.root + "/spec", "--yes"]).status == 0)
            #expect(try gateway.sdk("chat").steps["openai"]?["error"] is NSNull)
        }
    }

    /// A slow call (240 words, about 24 s) with the node's key, from a Python process.
    static func slowCall(_ fleet: TestFleet, _ gateway: GatewaySetup) throws -> ChildProcess {
        let caFile = fleet.root + "/slow-ca.pem"
        try fleet.caPEM.write(toFile: caFile, atomically: true, encoding: .utf8)
        let script = """
            import ssl, sys, urllib.request
            url, key_file, ca_file = sys.argv[1:4]
            body = b'{"model":"slow","max_tokens":240,"messages":[{"role":"user","content":"slow"}]}'
            request = urllib.request.Request(url, data=body, headers={"Authorization": "Bearer " + open(key_file).read().strip(),
                                                                      "Content-Type": "application/json"})
            urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca_file), timeout=60).read()
            """
        return try ChildProcess("/usr/bin/python3", ["-c", script, fleet.serverURL + "/v1/chat/completions", gateway.state + "/gateway.key", caFile],
                                logDirectory: fleet.root + "/logs", label: "slow-call")
    }

    /// 16 workers call chat completions (alternately streaming) until `maxCalls` were started or
    /// the coordinator dies; once `killAfterAnswered` calls were answered (however busy the
    /// machine) the coordinator is killed with SIGKILL. `answered` names a call that counts.
    static func hammer(_ fleet: TestFleet, _ gateway: GatewaySetup, maxCalls: Int = .max, killAfterAnswered: Int,
                       answered: @escaping @Sendable (HTTPClientResponse, String, Bool) -> String?) async throws -> Tally {
        let key = try String(contentsOfFile: gateway.state + "/gateway.key", encoding: .utf8)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(fleet.caPEM.utf8)))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        let tally = Tally()
        let url = fleet.serverURL + "/v1/chat/completions"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    var call = 0
                    while tally.started.withLock({ started in started < maxCalls ? { started += 1; return true }() : false }) {
                        call += 1
                        let stream = (call + worker) % 2 == 0
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "authorization", value: "Bearer " + key)
                        request.headers.add(name: "content-type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string:
                            #"{"model":"fleet-default","max_tokens":3,"stream":\#(stream),"messages":[{"role":"user","content":"crash?"}]}"#))
                        do {
                            let response = try await client.execute(request, timeout: .seconds(10))
                            let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                            if let id = answered(response, body, stream) { tally.answered.withLock { $0.append(id) } }
                        } catch {
                            return
                        }
                    }
                }
            }
            let deadline = ContinuousClock.now + .seconds(120)
            while tally.answered.withLock({ $0.count }) < killAfterAnswered, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            fleet.killCoordinator()
            try await group.waitForAll()
        }
        try await client.shutdown()
        return tally
    }
}
}
