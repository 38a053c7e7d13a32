import FlotillaProtocol
import Yams

/// A PicoClaw group's `config:` checked the way PicoClaw checks config.json on every node
/// (PicoClawSchema): a key PicoClaw does not know, a value its decoder refuses, or a model entry
/// it rejects would make the file unloadable on the whole group, so `plan` refuses it first.
extension SpecReader {
    /// Checks `node`, already read into `document`, against `schema`. `path` is the config's
    /// path in the spec (`groups.demo.config`).
    mutating func checkPicoClawConfig(_ node: Node, _ document: JSONDocument, _ path: String, schema: PicoClawSchema = .shipped) {
        checkPicoClaw(node, schema.rootType, path, inside: "", schema)
        checkModelList(node, document, path)
        checkChannels(node, document, path, schema)
        if case .int(let port)? = document["gateway"]?["port"], !(1...65_535).contains(port) {
            problem(node["gateway"]?["port"], Self.join(path, "gateway.port"),
                    "\(port) is not a port; PicoClaw refuses to start (port must be between 1 and 65535)")
        }
    }

    /// `node` checked as `type`; `inside` is the path within the config, for the keys Flotilla owns.
    private mutating func checkPicoClaw(_ node: Node, _ type: PicoClawSchema.FieldType, _ path: String, inside: String,
                                        _ schema: PicoClawSchema) {
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "null" || scalar.string == "~",
           scalar.style == .plain {
            return  // null: PicoClaw keeps its default
        }
        switch type {
        case .object(let name):
            guard case .mapping(let mapping) = node else {
                if !schema.hasCustomDecoder(name) { problem(node, path, "expected \(type.description), found \(kind(of: node))") }
                return
            }
            let fields = schema.fields(of: name)
            for (keyNode, value) in mapping {
                guard let key = keyNode.string else { continue }
                let childPath = Self.join(path, key)
                let childInside = inside.isEmpty ? key : inside + "." + key
                guard let notation = fields[key] else {
                    problem(keyNode, childPath, unknownKeyMessage(key, inside: inside, known: fields.keys, schema))
                    continue
                }
                if let reason = Self.ownedKeys[childInside] {
                    problem(keyNode, childPath, reason(schema))
                    continue
                }
                let fieldType = PicoClawSchema.FieldType(notation[...])
                if fieldType == .secret || fieldType == .array(.secret) {
                    if !Self.isSecretKey(key) {
                        problem(keyNode, childPath, "'\(key)' is a credential in PicoClaw; secrets must not be in the fleet spec "
                                + "(put it in the board's .security.yml; gateway models get the node's key from Flotilla)")
                    }
                    continue
                }
                checkPicoClaw(value, fieldType, childPath, inside: childInside, schema)
            }
        case .map(let element):
            guard case .mapping(let mapping) = node else {
                problem(node, path, "expected a mapping, found \(kind(of: node))")
                return
            }
            for (keyNode, value) in mapping {
                guard let key = keyNode.string else { continue }
                checkPicoClaw(value, element, Self.join(path, key), inside: inside + "." + key, schema)
            }
        case .array(let element):
            guard case .sequence(let sequence) = node else {
                problem(node, path, "expected a list, found \(kind(of: node))")
                return
            }
            for (index, item) in sequence.enumerated() {
                checkPicoClaw(item, element, "\(path)[\(index)]", inside: "\(inside)[\(index)]", schema)
            }
        case .custom(let wrapped):
            if Self.sameShape(node, wrapped) { checkPicoClaw(node, wrapped, path, inside: inside, schema) }
        case .any:
            refuseSecretNames(node, path, schema)
        case .string, .secret, .integer, .number, .bool:
            guard case .scalar(let scalar) = node, let value = try? YAMLText.scalarValue(scalar) else {
                problem(node, path, "expected \(type.description), found \(kind(of: node))")
                return
            }
            switch (type, value) {
            case (.string, .string), (.secret, .string), (.integer, .int), (.number, .int), (.number, .double), (.bool, .bool):
                return
            default:
                problem(node, path, "expected \(type.description), found \(describe(value)); PicoClaw cannot decode it")
            }
        }
    }

    /// Keys PicoClaw knows that a fleet spec must not set, with the reason.
    static let ownedKeys: [String: @Sendable (PicoClawSchema) -> String] = [
        "version": { schema in
            "Flotilla writes \"version\": \(schema.configVersion), the format PicoClaw \(schema.picoclawVersion) loads; leave it out"
        },
        "agents.defaults.workspace": { _ in
            "a path on each board; set it in the board's own config.json (Flotilla installs skills into the workspace it names)"
        },
    ]

    /// Why `key` is refused, with the key probably meant.
    private func unknownKeyMessage(_ key: String, inside: String, known: some Collection<String>,
                                   _ schema: PicoClawSchema) -> String {
        let base = "unknown key '\(key)': PicoClaw \(schema.picoclawVersion) refuses a config.json with keys it does not know"
        if inside.isEmpty, key == "providers" {
            return base + "; LLM providers go in the fleet spec's top-level providers: (the gateway), "
                + "which adds its models to PicoClaw's model_list"
        }
        if inside == "agents.defaults", key == "model" {
            return base + "; did you mean 'model_name'? (it names a model_list entry, such as a gateway model)"
        }
        if let suggestion = PicoClawSchema.suggestion(for: key, among: known) {
            return base + "; did you mean '\(suggestion)'?"
        }
        return known.count <= 16 ? base + " (known here: \(known.sorted().joined(separator: ", ")))" : base
    }

    /// Keys naming PicoClaw credentials inside free-form values (channel settings, extra_body).
    private mutating func refuseSecretNames(_ node: Node, _ path: String, _ schema: PicoClawSchema) {
        switch node {
        case .mapping(let mapping):
            for (keyNode, value) in mapping {
                guard let key = keyNode.string else { continue }
                if schema.secretNames.contains(key), !Self.isSecretKey(key) {
                    problem(keyNode, Self.join(path, key), "'\(key)' is a credential in PicoClaw; secrets must not be in the fleet spec "
                            + "(put it in the board's .security.yml)")
                    continue
                }
                refuseSecretNames(value, Self.join(path, key), schema)
            }
        case .sequence(let sequence):
            for (index, item) in sequence.enumerated() { refuseSecretNames(item, "\(path)[\(index)]", schema) }
        case .scalar, .alias:
            return
        }
    }

    /// `model_list` entries as PicoClaw's ModelConfig.Validate (pkg/config/config.go) checks them.
    private mutating func checkModelList(_ node: Node, _ document: JSONDocument, _ path: String) {
        guard case .array(let entries)? = document["model_list"] else { return }
        for (index, entry) in entries.enumerated() {
            let entryPath = "\(path).model_list[\(index)]"
            let entryNode = node["model_list"]?[index]
            guard case .object = entry else { continue }
            guard case .string(let name)? = entry["model_name"], !name.isEmpty else {
                problem(entryNode, entryPath, "model_name is required (PicoClaw refuses the entry)")
                continue
            }
            guard case .string(let model)? = entry["model"], !model.isEmpty else {
                problem(entryNode, entryPath, "model is required (PicoClaw refuses the entry)")
                continue
            }
            if model.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }) {
                problem(entryNode, entryPath + ".model", "model identifier contains whitespace (PicoClaw refuses it)")
            } else if model.hasPrefix("/") || model.contains("//") {
                problem(entryNode, entryPath + ".model", "model identifier must not start with / or contain // (PicoClaw refuses it)")
            }
        }
    }

    /// `channel_list` types and singletons as InitChannelList (pkg/config/config_channel.go) checks them.
    private mutating func checkChannels(_ node: Node, _ document: JSONDocument, _ path: String, _ schema: PicoClawSchema) {
        guard case .object(let channels)? = document["channel_list"] else { return }
        var enabledSingletons: [String: [String]] = [:]
        for channel in channels {
            guard case .object = channel.value else { continue }
            var type = channel.key
            if case .string(let named)? = channel.value["type"], !named.isEmpty { type = named }
            guard schema.channelTypes.contains(type) else {
                let hint = PicoClawSchema.suggestion(for: type, among: schema.channelTypes).map { "; did you mean '\($0)'?" }
                    ?? " (known: \(schema.channelTypes.sorted().joined(separator: ", ")))"
                problem(node["channel_list"]?[channel.key], "\(path).channel_list.\(channel.key)",
                        "unknown channel type '\(type)' (PicoClaw refuses the config)" + hint)
                continue
            }
            if schema.singletonChannelTypes.contains(type), case .bool(true)? = channel.value["enabled"] {
                enabledSingletons[type, default: []].append(channel.key)
            }
        }
        for (type, names) in enabledSingletons.sorted(by: { $0.key < $1.key }) where names.count > 1 {
            problem(node["channel_list"], "\(path).channel_list",
                    "channel type '\(type)' allows one enabled instance, found \(names.count): \(names.joined(separator: ", "))")
        }
    }

    /// Whether `node` has the JSON shape of `type` (an object, a list or a scalar).
    private static func sameShape(_ node: Node, _ type: PicoClawSchema.FieldType) -> Bool {
        switch (node, type) {
        case (.mapping, .object), (.mapping, .map), (.sequence, .array): true
        case (.scalar, .string), (.scalar, .integer), (.scalar, .number), (.scalar, .bool), (.scalar, .secret): true
        default: false
        }
    }

}
