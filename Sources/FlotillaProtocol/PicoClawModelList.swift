/// How the fleet gateway appears in PicoClaw's config: `model_list` entries per gateway model
/// the group may use, owned by Flotilla and merged by `model_name` so the user's own entries stay.
/// PicoClaw sends `model` unchanged when `provider` is set (pkg/providers/factory_provider.go,
/// ExtractProtocol), posts to `{api_base}/chat/completions` for `openai` and to
/// `{api_base}/messages` (after normalising the base to end in `/v1`) for `anthropic-messages`,
/// and resolves `file://NAME` keys relative to config.json's directory
/// (pkg/credential/credential.go). The node agent writes that file (0600) from the node's key.
///
/// With several coordinators, each gateway model gets one entry per coordinator: the first
/// (named as the model) calls the coordinator that published, the others are copies named
/// `MODEL@2`, `MODEL@3`… calling the others, and `agents.defaults.model_fallbacks` lists the
/// copies right after the model, so PicoClaw's own fallback chain moves to the next coordinator
/// on a connect error, a timeout, 429 or 5xx (pkg/providers/fallback.go, error_classifier.go).
/// A copy needs a `model` of its own: PicoClaw keeps one provider per `provider/model` key for
/// its fallbacks (pkg/agent/instance.go populateCandidateProvidersFromNames, pipeline_llm.go
/// providerForFallbackCandidate), so two entries sending the same model would share one
/// `api_base`. The gateway takes `MODEL@N` as `MODEL` (`fleetModel(requested:)`).
public enum PicoClawModelList {
    /// The key file beside config.json that gateway entries reference.
    public static let keyFile = "flotilla-gateway.key"
    /// Between a gateway model's name and its coordinator copy's number (never in a fleet
    /// model name: GatewayRules.isValidModelName).
    public static let copySeparator: Character = "@"

    /// PicoClaw's provider name for a gateway model of `kind`.
    public static func provider(for kind: ProviderKind) -> String {
        switch kind {
        case .openai: "openai"
        case .anthropic: "anthropic-messages"
        }
    }

    /// The name of `model`'s entry calling the `index`-th gateway URL (0: the model's own name).
    public static func copyName(_ model: String, index: Int) -> String {
        index == 0 ? model : model + String(copySeparator) + String(index + 1)
    }

    /// The fleet model a caller asked for: `requested` itself, or the model of a coordinator
    /// copy (`MODEL@N`, N from 2 to 99); nil for anything else with the separator in it.
    public static func fleetModel(requested: String) -> String? {
        guard let separator = requested.firstIndex(of: copySeparator) else { return requested }
        let number = requested[requested.index(after: separator)...]
        guard (1...2).contains(number.count), number.first != "0", number.allSatisfy({ $0.isASCII && $0.isNumber }),
              let copy = Int(number), (2...99).contains(copy) else { return nil }
        return String(requested[..<separator])
    }

    /// The entries for `models`, one per gateway URL each (the coordinator that published first).
    public static func entries(_ models: [GatewayModelEntry], gatewayURLs: [String]) -> [JSONDocument] {
        models.flatMap { model in
            gatewayURLs.prefix(99).enumerated().map { index, url in
                .object([
                    .init("model_name", .string(copyName(model.name, index: index))),
                    .init("provider", .string(provider(for: model.api))),
                    .init("model", .string(copyName(model.name, index: index))),
                    .init("api_base", .string(url)),
                    .init("api_keys", .array([.string("file://" + keyFile)])),
                ])
            }
        }
    }

    /// The URLs each of `models` calls in `config`, by model name, in fallback order: the
    /// `api_base` of the entries `adding` appended for it and its copies (the entries with the
    /// gateway key after the group's own, which may use the same names).
    public static func gatewayURLs(in config: JSONDocument, for models: [GatewayModelEntry]) -> [String: [String]] {
        guard case .array(let entries)? = config["model_list"] else { return [:] }
        let names = Set(models.map(\.name))
        var urls: [String: [String]] = [:]
        var owned: [JSONDocument] = []
        for entry in entries.reversed() {
            guard case .array(let keys)? = entry["api_keys"], keys.contains(.string("file://" + keyFile)),
                  case .string(let name)? = entry["model_name"], let model = fleetModel(requested: name), names.contains(model)
            else { break }
            owned.insert(entry, at: 0)
        }
        for entry in owned {
            guard case .string(let name)? = entry["model_name"], let model = fleetModel(requested: name),
                  case .string(let base)? = entry["api_base"] else { continue }
            urls[model, default: []].append(base)
        }
        return urls
    }

    /// `config` with the gateway entries after the group's own `model_list` entries and, with
    /// more than one gateway URL, the copies in `agents.defaults.model_fallbacks`: after the
    /// default model when it is a gateway model, and after each gateway model the group's own
    /// fallbacks name. A `localModel` gets its entry (`local-model`, before the gateway's) and the
    /// last place among the fallbacks, so PicoClaw turns to it once every coordinator failed.
    public static func adding(_ models: [GatewayModelEntry], gatewayURLs: [String], localModel: LocalModel? = nil,
                              to config: JSONDocument) -> JSONDocument {
        guard case .object(var members) = config, !models.isEmpty && !gatewayURLs.isEmpty || localModel != nil else { return config }
        var added = localModel.map { [localEntry($0)] } ?? []
        if !gatewayURLs.isEmpty { added += entries(models, gatewayURLs: gatewayURLs) }
        if let index = members.firstIndex(where: { $0.key == "model_list" }), case .array(let own) = members[index].value {
            members[index].value = .array(own + added)
        } else {
            members.append(.init("model_list", .array(added)))
        }
        let withCopies = withCoordinatorFallbacks(.object(members), models: Set(models.map(\.name)), copies: min(gatewayURLs.count, 99))
        return localModel == nil ? withCopies : withLocalFallback(withCopies)
    }

    /// The `model_list` entry of a local model: PicoClaw's `openai` provider at the server's
    /// base URL, with no key (pkg/providers/factory_provider.go takes `api_base` alone).
    public static func localEntry(_ model: LocalModel) -> JSONDocument {
        .object([
            .init("model_name", .string(LocalModel.entryName)),
            .init("provider", .string("openai")),
            .init("model", .string(model.model)),
            .init("api_base", .string(model.url)),
            .init("enabled", .bool(true)),
        ])
    }

    /// `local-model` last in `agents.defaults.model_fallbacks` (the default model's fallbacks
    /// as the group wrote them or as `withCoordinatorFallbacks` made them).
    private static func withLocalFallback(_ config: JSONDocument) -> JSONDocument {
        let defaults = config["agents"]?["defaults"] ?? .object([])
        guard case .object = defaults else { return config }
        var fallbacks: [JSONDocument] = []
        if case .array(let listed)? = defaults["model_fallbacks"] { fallbacks = listed }
        guard !fallbacks.contains(.string(LocalModel.entryName)) else { return config }
        let agents = (config["agents"] ?? .object([]))
            .setting("defaults", to: defaults.setting("model_fallbacks", to: .array(fallbacks + [.string(LocalModel.entryName)])))
        return config.setting("agents", to: agents)
    }

    private static func withCoordinatorFallbacks(_ config: JSONDocument, models: Set<String>, copies: Int) -> JSONDocument {
        guard copies > 1, case .object = config["agents"] ?? .object([]), case .object = config["agents"]?["defaults"] ?? .object([]) else {
            return config
        }
        let defaults = config["agents"]?["defaults"] ?? .object([])
        func withCopies(_ name: String) -> [String] {
            models.contains(name) ? (0..<copies).map { copyName(name, index: $0) } : [name]
        }
        var fallbacks: [String] = []
        if case .string(let primary)? = defaults["model_name"], models.contains(primary) {
            fallbacks = Array(withCopies(primary).dropFirst())
        }
        var own: [String] = []
        if case .array(let listed)? = defaults["model_fallbacks"] {
            own = listed.compactMap { if case .string(let name) = $0 { name } else { nil } }
        }
        fallbacks += own.flatMap(withCopies)
        guard fallbacks.count > own.count else { return config }
        let agents = (config["agents"] ?? .object([]))
            .setting("defaults", to: defaults.setting("model_fallbacks", to: .array(fallbacks.map(JSONDocument.string))))
        return config.setting("agents", to: agents)
    }
}
