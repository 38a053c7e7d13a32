/// How the fleet gateway appears in PicoClaw's config: one `model_list` entry per gateway model
/// the group may use, owned by Flotilla and merged by `model_name` so the user's own entries stay.
/// PicoClaw sends `model` unchanged when `provider` is set (pkg/providers/factory_provider.go,
/// ExtractProtocol), posts to `{api_base}/chat/completions` for `openai` and to
/// `{api_base}/messages` (after normalising the base to end in `/v1`) for `anthropic-messages`,
/// and resolves `file://NAME` keys relative to config.json's directory
/// (pkg/credential/credential.go). The node agent writes that file (0600) from the node's key.
public enum PicoClawModelList {
    /// The key file beside config.json that gateway entries reference.
    public static let keyFile = "flotilla-gateway.key"

    /// PicoClaw's provider name for a gateway model of `kind`.
    public static func provider(for kind: ProviderKind) -> String {
        switch kind {
        case .openai: "openai"
        case .anthropic: "anthropic-messages"
        }
    }

    /// The entries for `models`, calling the gateway at `gatewayURL` (the coordinator's `/v1`).
    public static func entries(_ models: [GatewayModelEntry], gatewayURL: String) -> [JSONDocument] {
        models.map { model in
            .object([
                .init("model_name", .string(model.name)),
                .init("provider", .string(provider(for: model.api))),
                .init("model", .string(model.name)),
                .init("api_base", .string(gatewayURL)),
                .init("api_keys", .array([.string("file://" + keyFile)])),
            ])
        }
    }

    /// The URL each of `models` calls in `config`, by model name: the `api_base` of the entries
    /// `adding` appended for them (the last entry of each name, since the group's own entries
    /// come first and may use the same names or key file).
    public static func gatewayURLs(in config: JSONDocument, for models: [GatewayModelEntry]) -> [String: String] {
        guard case .array(let entries)? = config["model_list"] else { return [:] }
        let names = Set(models.map(\.name))
        var urls: [String: String] = [:]
        for entry in entries.suffix(models.count) {
            guard case .string(let name)? = entry["model_name"], names.contains(name),
                  case .array(let keys)? = entry["api_keys"], keys.contains(.string("file://" + keyFile)),
                  case .string(let base)? = entry["api_base"] else { continue }
            urls[name] = base
        }
        return urls
    }

    /// `config` with the gateway entries after the group's own `model_list` entries.
    public static func adding(_ models: [GatewayModelEntry], gatewayURL: String, to config: JSONDocument) -> JSONDocument {
        guard !models.isEmpty, case .object(var members) = config else { return config }
        let added = entries(models, gatewayURL: gatewayURL)
        if let index = members.firstIndex(where: { $0.key == "model_list" }), case .array(let own) = members[index].value {
            members[index].value = .array(own + added)
        } else {
            members.append(.init("model_list", .array(added)))
        }
        return .object(members)
    }
}
