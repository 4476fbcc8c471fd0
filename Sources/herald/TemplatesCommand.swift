import ArgumentParser
import Foundation
import HeraldConfig
import HeraldCore
import HeraldOutbox
import HeraldRender
import HeraldPipeline
import HeraldScheduling

/// `herald templates ...`: install, check and preview the messages clients read.
struct Templates: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Install, list, check and preview message templates.",
        subcommands: [InstallDefaults.self, List.self, Lint.self, Preview.self])

    struct InstallDefaults: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install-defaults",
            abstract: "Write the built-in templates (es, fr, en; SMS, email, webhook) and partials into the database.",
            discussion: "Rows that already exist are kept as the business edited them; --replace overwrites them with the built-in text.")

        @OptionGroup var options: GlobalOptions
        @Flag(help: "Overwrite existing templates and partials with the built-in text.") var replace = false

        func run() async throws {
            let config = try options.load()
            let connection = try await openConnection(config)
            let store = Stores(connection: connection)
            let templates = BuiltinTemplates.records
            let partials = BuiltinTemplates.partials
            let descriptions = Dictionary(uniqueKeysWithValues: (BuiltinTemplates.keys + BuiltinTemplates.replyKeys).map { ($0, BuiltinTemplates.description(key: $0)) })
            do {
                let report = try await store.catalog.installTemplates(templates, partials: partials, descriptions: descriptions, replace: replace)
                print("built-in templates: \(templates.count) templates and \(partials.count) partials in \(BuiltinTemplates.locales.joined(separator: ", ")); "
                      + "\(report.written) written, \(report.kept) kept as edited")
            } catch {
                throw fail("install-defaults failed: \(error)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the stored templates with their version.")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let config = try options.load()
            let connection = try await openConnection(config)
            do {
                for t in try await Stores(connection: connection).catalog.templateSummaries() {
                    print("\(t.key.padding(toLength: 26, withPad: " ", startingAt: 0)) \(t.channel.padding(toLength: 8, withPad: " ", startingAt: 0)) "
                          + "\(t.locale.padding(toLength: 6, withPad: " ", startingAt: 0)) v\(t.version)  \(t.updated)  \(t.description)")
                }
            } catch {
                throw fail("list failed: \(error)")
            }
        }
    }

    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every stored template: it compiles, uses only known partials, renders its sample data within the SMS limit.",
            discussion: "Prints one line per problem and exits 1 if there is any.")

        @OptionGroup var options: GlobalOptions
        @Flag(help: "Check the built-in templates instead of the database's.") var builtin = false

        func run() async throws {
            let config = try options.load()
            let (records, partials) = try await loadTemplates(config, builtin: builtin)
            let context = RenderContext(timeZone: config.scheduling.defaultTimeZone, now: Date(), smsMaxSegments: config.smsMaxSegments)
            let lint = TemplateLint(records: records, partials: partials, defaultLocale: config.defaultLocale, context: context)
            var problems = lint.run()
            if !builtin {
                let needs = try await loadRuleNeeds(config)
                problems += lint.checkRules(needs.rules, locales: Array(Set(needs.locales + [config.defaultLocale])).sorted())
            }
            for problem in problems { print(problem) }
            if problems.isEmpty {
                print("\(records.count) templates and \(partials.count) partials: no problems")
            } else {
                FileHandle.standardError.write(Data("herald: \(problems.count) problem\(problems.count == 1 ? "" : "s") in \(records.count) templates\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

/// The stored templates and partials, or the built-in ones.
private func loadTemplates(_ config: Configuration, builtin: Bool) async throws -> ([TemplateRecord], [PartialRecord]) {
    if builtin { return (BuiltinTemplates.records, BuiltinTemplates.partials) }
    let connection = try await openConnection(config)
    let store = Stores(connection: connection)
    do {
        return (try await store.catalog.templates(), try await store.catalog.partials())
    } catch {
        throw fail("cannot read templates: \(error)")
    }
}

/// What the enabled rules need from the templates (`herald templates lint`).
private func loadRuleNeeds(_ config: Configuration) async throws -> (rules: [(name: String, template: String, channels: [String])], locales: [String]) {
    let connection = try await openConnection(config)
    do {
        let needs = try await Stores(connection: connection).catalog.ruleNeeds()
        await connection.close()
        return needs
    } catch {
        await connection.close()
        throw fail("cannot read rules: \(error)")
    }
}
