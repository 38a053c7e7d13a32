import Foundation
import FlotillaProtocol

/// Reads a fleet spec directory (`fleet.yaml` and `skills/<name>/`), checks all of it and
/// resolves it into what `flotilla plan` and `flotilla apply` send to the coordinator. Every
/// problem is collected, so one run shows them all.
public struct FleetSpecLoader: Sendable {
    /// The spec directory as the operator named it (`fleet/`); messages name files under it.
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Reads and checks the spec and every skill. Skills a group uses must be valid; an invalid
    /// skill no group uses is a warning.
    public func load() throws(FleetSpecError) -> LoadedFleet {
        let specFile = path("fleet.yaml")
        let text = try readText(specFile)
        let (spec, specProblems) = FleetSpec.read(yaml: text, file: specFile)
        var problems = specProblems
        var warnings: [String] = []

        let skillsDirectory = path("skills")
        let (directories, listing) = skillDirectories(skillsDirectory)
        problems += listing.problems
        warnings += listing.warnings

        let used = Set(spec?.groups.flatMap(\.skills) ?? [])
        var skills: [String: SkillReader.Result] = [:]
        for name in directories {
            let skillDirectory = skillsDirectory + "/" + name
            let result = listing.symlinks.contains(name)
                ? SkillReader.Result(problems: [.invalid(file: skillDirectory, line: nil,
                                                         message: "symlinks are not allowed in skills (copy the skill instead)")])
                : SkillReader.read(directory: skillDirectory, name: name)
            skills[name] = result
            // Without a readable spec nobody can say which skills are used: report all.
            if spec == nil || used.contains(name) {
                problems += result.problems
            } else {
                warnings += result.problems.map { "\($0.description) (skill '\(name)' is not used by any group)" }
            }
        }

        let (prices, priceProblems) = readPrices()
        problems += priceProblems

        guard let spec else { throw FleetSpecError.combining(problems) ?? .invalid(file: specFile, line: 1, message: "not a fleet spec") }
        warnings += gatewayWarnings(spec, prices: prices)
        if spec.groups.isEmpty { warnings.append("\(specFile): no groups; nothing to publish") }
        var publishGroups: [PublishGroup] = []
        for group in spec.groups {
            var publishSkills: [PublishSkill] = []
            var totalBytes = 0
            for (index, name) in group.skills.enumerated() {
                guard let result = skills[name] else {
                    let have = directories.isEmpty ? "skills/ has none" : "have: " + directories.joined(separator: ", ")
                    problems.append(.invalid(file: specFile, line: group.skillLines[index],
                                             message: "groups.\(group.name).skills[\(index)]: unknown skill '\(name)' (\(have))"))
                    continue
                }
                totalBytes += result.totalBytes
                if let skill = result.skill { publishSkills.append(skill) }
            }
            problems += releaseLimitProblems(group, skills: publishSkills, totalBytes: totalBytes, file: specFile)
            var config = group.config
            if group.runtime == .picoclaw, case .object(let members) = config {
                // The format PicoClaw loads as is; without it PicoClaw migrates and rewrites the file.
                config = .object([JSONDocument.Member("version", .int(Int64(PicoClawSchema.shipped.configVersion)))] + members)
            }
            let models = spec.gatewayModels(for: group)
            publishGroups.append(PublishGroup(name: group.name, members: group.members, runtime: group.runtime.rawValue,
                                              config: config, skills: publishSkills, rollout: group.rollout,
                                              gatewayModels: models.isEmpty ? nil : models, localModel: group.localModel))
        }
        if let error = FleetSpecError.combining(problems) { throw error }
        var groupModels: [String: [String]] = [:]
        for group in spec.groups { if let models = group.models { groupModels[group.name] = models } }
        let gateway = GatewaySpec(providers: spec.providers, prices: prices, groupModels: groupModels,
                                  budgets: spec.budgets, limits: spec.limits, models: spec.models.isEmpty ? nil : spec.models)
        return LoadedFleet(spec: spec, publishGroups: publishGroups, expiresAfterSeconds: spec.expiresAfterSeconds,
                           gateway: gateway, warnings: warnings)
    }

    /// `prices.yaml`, when the directory has one.
    private func readPrices() -> (PriceTable?, [FleetSpecError]) {
        let file = path("prices.yaml")
        guard FileManager.default.fileExists(atPath: file) else { return (nil, []) }
        let text: String
        do {
            text = try readText(file)
        } catch {
            return (nil, [error])
        }
        return PriceFile.read(yaml: text, file: file)
    }

    /// Models the gateway would refuse for want of a price.
    private func gatewayWarnings(_ spec: FleetSpec, prices: PriceTable?) -> [String] {
        var warnings: [String] = []
        if !spec.providers.isEmpty, prices == nil {
            warnings.append("\(path("prices.yaml")): missing; every gateway call will be refused (model_not_priced)")
            return warnings
        }
        guard let prices else { return warnings }
        for provider in spec.providers {
            for route in provider.models where prices.price(of: route.upstream) == nil {
                warnings.append("\(path("prices.yaml")): no price for '\(route.upstream)' (model '\(route.name)' of provider '\(provider.name)') and no default; calls to it will be refused (model_not_priced)")
            }
        }
        for model in spec.models {
            for target in model.targets where prices.price(of: target.upstream) == nil {
                warnings.append("\(path("prices.yaml")): no price for '\(target.upstream)' (target \(target.text) of model '\(model.name)') and no default; calls to '\(model.name)' will be refused (model_not_priced)")
            }
        }
        return warnings
    }

    /// A group's release must fit the node's manifest limits, which count every skill together.
    private func releaseLimitProblems(_ group: FleetSpec.Group, skills: [PublishSkill], totalBytes: Int,
                                      file: String) -> [FleetSpecError] {
        var problems: [FleetSpecError] = []
        let files = skills.reduce(0) { $0 + $1.files.count }
        if files > SkillReader.maxFiles {
            problems.append(.invalid(file: file, line: group.line, message:
                "groups.\(group.name).skills: \(files) files in all; a release may have at most \(SkillReader.maxFiles)"))
        }
        if totalBytes > SkillReader.maxSkillBytes {
            problems.append(.invalid(file: file, line: group.line, message:
                "groups.\(group.name).skills: \(totalBytes) bytes in all; a release may be at most \(SkillReader.maxSkillBytes / 1024 / 1024) MiB"))
        }
        return problems
    }

    /// `name` under the spec directory, as shown in messages (`fleet/fleet.yaml`).
    private func path(_ name: String) -> String {
        if directory.isEmpty || directory == "." { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The whole of a UTF-8 text file.
    private func readText(_ file: String) throws(FleetSpecError) -> String {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: directory.isEmpty ? "." : directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
            throw .unreadable(path: directory, reason: "not a directory (expected a fleet spec directory with fleet.yaml)")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw .unreadable(path: file, reason: SkillReader.reason(error))
        }
        guard let text = String(data: data, encoding: .utf8) else { throw .unreadable(path: file, reason: "not valid UTF-8") }
        return text
    }

    /// The skill directories under `skills/` (sorted), and what else is there: entries that
    /// are not directories are skipped with a warning; symlinks are listed as skills (to be
    /// refused) and named in `symlinks`.
    private func skillDirectories(_ skillsDirectory: String)
        -> ([String], (problems: [FleetSpecError], warnings: [String], symlinks: Set<String>)) {
        var warnings: [String] = []
        var symlinks: Set<String> = []
        let manager = FileManager.default
        guard let attributes = try? manager.attributesOfItem(atPath: skillsDirectory) else { return ([], ([], [], [])) }
        guard attributes[.type] as? FileAttributeType == .typeDirectory else {
            return ([], ([.invalid(file: skillsDirectory, line: nil, message: "must be a directory (not a symlink or file)")], [], []))
        }
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: skillsDirectory)
        } catch {
            return ([], ([.unreadable(path: skillsDirectory, reason: SkillReader.reason(error))], [], []))
        }
        var directories: [String] = []
        for name in names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let entry = skillsDirectory + "/" + name
            let type = (try? manager.attributesOfItem(atPath: entry))?[.type] as? FileAttributeType
            if name.hasPrefix(".") {
                warnings.append("\(entry): hidden entry ignored")
            } else if type == .typeDirectory {
                directories.append(name)
            } else if type == .typeSymbolicLink {
                directories.append(name)
                symlinks.insert(name)
            } else {
                warnings.append("\(entry): not a skill directory; ignored")
            }
        }
        return (directories, ([], warnings, symlinks))
    }
}
