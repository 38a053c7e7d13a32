import Foundation

/// A model server on the board itself (an OpenAI-compatible one such as llama.cpp's
/// `llama-server`), declared per group as `local_model:`. The release writes it into PicoClaw's
/// config as its last fallback (PicoClawModelList), so a board whose coordinators are out of
/// reach, or answer `budget_exceeded`, goes on thinking with it. The gateway never sees those
/// calls: they cost nothing and are not metered.
public struct LocalModel: Codable, Sendable, Equatable {
    /// The server's OpenAI-compatible base URL (`http://127.0.0.1:8080/v1`).
    public var url: String
    /// The model id the server answers to.
    public var model: String
    /// Where the node agent checks that it answers (plain http; a 2xx answer is "up"); nil:
    /// `/health` at the server's root (llama-server's endpoint, 200 once the model is loaded).
    public var health: String?

    public init(url: String, model: String, health: String? = nil) {
        self.url = url
        self.model = model
        self.health = health
    }

    /// The `model_list` name PicoClaw reserves for a local model (pkg/config/defaults.go; its
    /// config migration treats an entry of this name as enabled, pkg/config/migration.go).
    public static let entryName = "local-model"

    /// The URL the health check calls.
    public var healthURL: String {
        if let health { return health }
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1") { base.removeLast(3) }
        return base + "/health"
    }

    /// Why `text` cannot be a local model server's URL (http or https, a host, no user info,
    /// query or fragment), or nil.
    public static func urlProblem(_ text: String) -> String? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme) else {
            return "must be an http:// or https:// URL"
        }
        guard let host = components.host, !host.isEmpty else { return "has no host" }
        if components.user != nil || components.password != nil { return "must not carry a user or password" }
        if components.query != nil || components.fragment != nil { return "must not have a query or fragment" }
        return nil
    }

    /// Why this cannot be written into a group's PicoClaw config next to `gatewayModels`, or nil.
    public func problem(gatewayModels: [String]) -> String? {
        if let problem = Self.urlProblem(url) { return "url \(problem)" }
        if let health, let problem = Self.urlProblem(health) { return "health \(problem)" }
        // The node agent's check is a plain HTTP GET on the board (no CA to verify a local
        // server's certificate against); the agent takes exactly `http://` (ReleaseManifest).
        if !healthURL.hasPrefix("http://") {
            return "health \(healthURL) must be an http:// URL: the node agent checks it over plain HTTP on the board"
        }
        guard !model.isEmpty, model.utf8.count <= GatewayRules.maxModelNameLength, !model.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { return "model must be 1-\(GatewayRules.maxModelNameLength) characters" }
        // PicoClaw keeps one provider per provider/model for its fallbacks: the same id as a
        // gateway entry would send local calls to the coordinator (pkg/agent/instance.go).
        if gatewayModels.contains(where: { PicoClawModelList.fleetModel(requested: model.lowercased())?.lowercased() == $0.lowercased() }) {
            return "model '\(model)' is also a gateway model's name; PicoClaw would not tell them apart"
        }
        return nil
    }
}
