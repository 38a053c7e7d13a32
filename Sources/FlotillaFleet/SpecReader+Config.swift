import Foundation
import FlotillaProtocol
import Yams

extension SpecReader {
    /// Key names refused anywhere in a runtime config, compared lowercased with `_` and `-`
    /// removed (`API_KEY`, `api-key`, `apiKey` all match): these names and any name ending in one
    /// of `secretKeySuffixes` (`bot_token`, `app_secret`, `elevenlabs_api_key`, `webhook_url`).
    /// Provider keys and other credentials live on the coordinator or the board; a fleet spec is
    /// meant to be committed and is not a place for them. PicoClaw groups are also checked
    /// against the fields PicoClaw itself stores as credentials (PicoClawSchema.secretNames).
    static let secretKeyNames: Set<String> = ["authorization", "credentials", "privatekey"]
    static let secretKeySuffixes = ["apikey", "apikeys", "secret", "password", "token", "webhookurl"]

    /// Most YAML nodes a config may expand to (aliases can multiply a small file).
    static let maxConfigNodes = 100_000

    /// Largest config as JSON: it travels inside the signed manifest, which nodes cap at 1 MiB.
    static let maxConfigBytes = 256 * 1024

    /// Whether `key` names a secret.
    static func isSecretKey(_ key: String) -> Bool {
        let folded = String(key.lowercased().filter { $0 != "_" && $0 != "-" })
        return secretKeyNames.contains(folded) || secretKeySuffixes.contains { folded.hasSuffix($0) }
    }

    /// A group's runtime config as JSON, keys in the order written. It must be a mapping, must
    /// not name a secret at any depth, and must fit the manifest.
    mutating func config(_ node: Node, _ path: String) -> JSONDocument? {
        guard case .mapping = node else {
            problem(node, path, "expected a mapping of runtime config keys, found \(kind(of: node))")
            return nil
        }
        var budget = Self.maxConfigNodes
        let before = problems.count
        let document = jsonValue(node, path, budget: &budget)
        guard problems.count == before, let document else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        if let data = try? encoder.encode(document), data.count > Self.maxConfigBytes {
            problem(node, path, "\(data.count / 1024) KiB as JSON; a config may be at most \(Self.maxConfigBytes / 1024) KiB")
            return nil
        }
        return document
    }

    /// Any YAML node as JSON, recording secrets and unreadable values as problems.
    private mutating func jsonValue(_ node: Node, _ path: String, budget: inout Int) -> JSONDocument? {
        budget -= 1
        guard budget >= 0 else {
            if budget == -1 { problem(node, path, "more than \(Self.maxConfigNodes) values (aliases expanded); too large") }
            return nil
        }
        switch node {
        case .scalar:
            return scalar(node, path)
        case .sequence(let sequence):
            var elements: [JSONDocument] = []
            for (index, element) in sequence.enumerated() {
                if let value = jsonValue(element, "\(path)[\(index)]", budget: &budget) { elements.append(value) }
            }
            return .array(elements)
        case .mapping:
            guard let entries = mapping(node, path) else { return nil }
            var members: [JSONDocument.Member] = []
            for entry in entries {
                let childPath = Self.join(path, entry.key)
                if Self.isSecretKey(entry.key) {
                    problem(entry.keyNode, childPath,
                            "secrets must not be in the fleet spec ('\(entry.key)'); provider keys live on the coordinator")
                    continue
                }
                if let value = jsonValue(entry.value, childPath, budget: &budget) {
                    members.append(JSONDocument.Member(entry.key, value))
                }
            }
            return .object(members)
        case .alias:
            problem(node, path, "unresolved alias")
            return nil
        }
    }
}
