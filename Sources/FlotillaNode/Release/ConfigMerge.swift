/// How a release's `runtime_config` lands in PicoClaw's config.json (docs/releases.md): objects
/// merge key by key, anything else replaces; keys the previous release set and the new one does
/// not are removed; keys Flotilla never set stay. Existing members keep their order, new ones are
/// appended, so a hand-edited file changes only where the release says. `model_list` is merged
/// entry by entry on `model_name`, so the user's own models stay beside the release's.
enum ConfigMerge {
    /// The new config document: `existing` minus what only `previous` owned, merged with `next`.
    static func merged(existing: JSONValue, previous: JSONValue, next: JSONValue) -> JSONValue {
        deepMerge(removingStale(existing, previous: previous, next: next), next)
    }

    /// `target` without the keys `previous` set that `next` (nil: nothing) no longer sets. An
    /// object that held only such keys disappears; user keys inside it keep it alive.
    static func removingStale(_ target: JSONValue, previous: JSONValue, next: JSONValue?) -> JSONValue {
        guard case .object(var members) = target, case .object(let owned) = previous else { return target }
        for member in owned {
            guard let index = indexOf(member.key, in: members) else { continue }
            let current = members[index].value
            let replacement = next?[member.key]
            if SystemText.same(member.key, "model_list"), case .array(let entries) = current, case .array(let owned) = member.value {
                // Entries the next release names again are replaced by `deepMerge` anyway.
                let left = models(entries, dropping: owned)
                if left.isEmpty, replacement == nil { members.remove(at: index) } else { members[index].value = .array(left) }
            } else if case .object = member.value, case .object = current {
                if let replacement, !isObject(replacement) { continue }
                let cleaned = removingStale(current, previous: member.value, next: replacement)
                if replacement == nil, case .object(let left) = cleaned, left.isEmpty {
                    members.remove(at: index)
                } else {
                    members[index].value = cleaned
                }
            } else if replacement == nil {
                members.remove(at: index)
            }
        }
        return .object(members)
    }

    /// `source` merged into `target`: both objects → member-wise, otherwise `source` wins.
    static func deepMerge(_ target: JSONValue, _ source: JSONValue) -> JSONValue {
        guard case .object(var members) = target, case .object(let additions) = source else { return source }
        for member in additions {
            if let index = indexOf(member.key, in: members), SystemText.same(member.key, "model_list"),
               case .array(let entries) = members[index].value, case .array(let added) = member.value {
                members[index].value = .array(models(entries, dropping: added) + added)
            } else if let index = indexOf(member.key, in: members) {
                members[index].value = deepMerge(members[index].value, member.value)
            } else {
                members.append(member)
            }
        }
        return .object(members)
    }

    static func indexOf(_ key: String, in members: [JSONMember]) -> Int? {
        members.firstIndex { SystemText.same($0.key, key) }
    }

    /// The model_list `entries` without those named in `dropping`.
    static func models(_ entries: [JSONValue], dropping: [JSONValue]) -> [JSONValue] {
        var result: [JSONValue] = []
        for entry in entries {
            let name = entry["model_name"]?.stringValue ?? ""
            if name.utf8.isEmpty || !hasModel(name, in: dropping) { result.append(entry) }
        }
        return result
    }

    /// Whether `entries` (a model_list) has an entry named `name`.
    static func hasModel(_ name: String, in entries: [JSONValue]) -> Bool {
        for entry in entries where SystemText.same(entry["model_name"]?.stringValue ?? "", name) { return true }
        return false
    }

    static func isObject(_ value: JSONValue) -> Bool {
        if case .object = value { return true }
        return false
    }
}
