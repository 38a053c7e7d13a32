import FlotillaProtocol
import Yams

/// `fleet/prices.yaml`: USD per million tokens for each upstream model id, under a version
/// number that usage records keep.
///
/// ```yaml
/// version: 3
/// models:
///   gpt-4o-mini: {input: 0.15, output: 0.60, cached_input: 0.075, max_output: 16384}
/// default: {input: 1.00, output: 4.00}     # optional: models not listed
/// ```
public enum PriceFile {
    static let topLevelKeys = ["version", "models", "default"]
    static let priceKeys = ["input", "output", "cached_input", "cache_write", "max_output"]

    /// Parses and checks the file's text (`file` is how messages name it): the table, if it
    /// could be read, and every problem found.
    static func read(yaml: String, file: String) -> (PriceTable?, [FleetSpecError]) {
        let root: Node?
        do {
            root = try YAMLText.compose(yaml, file: file)
        } catch {
            return (nil, [error])
        }
        guard let root else { return (nil, [.invalid(file: file, line: 1, message: "the file is empty; it needs 'version:' and 'models:'")]) }
        var reader = SpecReader(file: file)
        let table = reader.readPriceTable(root)
        return (table, reader.problems)
    }

    /// Parses a decimal USD amount (`0.15`, `3`, `0.075`) into millionths, exactly: at most six
    /// decimals, no exponent, not negative.
    public static func micros(_ text: String) -> Int64? {
        DecimalAmount.parse(text, decimals: 6)
    }
}

extension SpecReader {
    mutating func readPriceTable(_ root: Node) -> PriceTable? {
        guard let entries = mapping(root, "", what: "a mapping with version and models") else { return nil }
        rejectUnknownKeys(entries, "", allowed: PriceFile.topLevelKeys)
        func entry(_ key: String) -> Entry? { entries.first { $0.key == key } }
        guard let versionEntry = entry("version") else {
            problem(root, "version", "required: the price table's version, raised whenever a price changes")
            return nil
        }
        guard let version = integer(versionEntry.value, "version") else { return nil }
        guard version >= 1 else {
            problem(versionEntry.value, "version", "must be at least 1")
            return nil
        }
        var models: [String: ModelPrice] = [:]
        if let modelsEntry = entry("models") {
            if case .scalar(let scalar) = modelsEntry.value, scalar.string.isEmpty, scalar.style == .plain {
            } else if let modelEntries = mapping(modelsEntry.value, "models", what: "a mapping of upstream model ids to prices") {
                for model in modelEntries {
                    let path = Self.join("models", model.key)
                    guard GatewayRules.isValidModelName(model.key) else {
                        problem(model.keyNode, path, "invalid upstream model id '\(model.key)'")
                        continue
                    }
                    if let price = readPrice(model.value, path) { models[model.key] = price }
                }
            }
        } else {
            problem(root, "models", "required: a mapping of upstream model ids to {input, output} USD per million tokens")
        }
        let defaultPrice = entry("default").flatMap { readPrice($0.value, "default") }
        return PriceTable(version: version, models: models, defaultPrice: defaultPrice)
    }

    private mutating func readPrice(_ node: Node, _ path: String) -> ModelPrice? {
        guard let fields = mapping(node, path, what: "a mapping with input and output (USD per million tokens)") else { return nil }
        rejectUnknownKeys(fields, path, allowed: PriceFile.priceKeys)
        var values: [String: Int64] = [:]
        var maxOutput: Int64?
        for field in fields where PriceFile.priceKeys.contains(field.key) {
            let fieldPath = Self.join(path, field.key)
            if field.key == "max_output" {
                if let tokens = integer(field.value, fieldPath) {
                    if GatewayRules.maxOutputTokens.contains(tokens) { maxOutput = tokens } else { problem(field.value, fieldPath, "must be 1 to 10000000 tokens") }
                }
                continue
            }
            guard case .scalar(let scalar) = field.value, scalar.style == .plain,
                  let micros = PriceFile.micros(scalar.string) else {
                problem(field.value, fieldPath, "expected a price in USD per million tokens, like 0.15 (at most 6 decimals, not negative)")
                continue
            }
            guard GatewayRules.priceMicros.contains(micros) else {
                problem(field.value, fieldPath, "over 10000 USD per million tokens; prices are per million tokens, not per token")
                continue
            }
            values[field.key] = micros
        }
        for required in ["input", "output"] where fields.first(where: { $0.key == required }) == nil {
            problem(node, Self.join(path, required), "required (USD per million tokens)")
        }
        guard let input = values["input"], let output = values["output"] else { return nil }
        return ModelPrice(inputMicros: input, outputMicros: output, cachedInputMicros: values["cached_input"],
                          cacheWriteMicros: values["cache_write"], maxOutputTokens: maxOutput)
    }
}
