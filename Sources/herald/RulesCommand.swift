import ArgumentParser
import HeraldConfig
import HeraldOutbox
import HeraldPipeline
import HeraldPostgres
import HeraldScheduling
import Foundation

struct Rules: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Notification rules (herald.rule): install the default set, list them, preview an edit.",
        subcommands: [InstallDefaults.self, List.self, Preview.self])

    struct InstallDefaults: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install-defaults",
            abstract: "Write the default rules; upgrade those still as an older Herald shipped them; list the edited ones left alone.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let config = try options.load()
            let connection = try await openConnection(config)
            let report: CatalogStore.DefaultRulesReport
            do {
                report = try await Stores(connection: connection).catalog.installDefaultRules()
            } catch {
                await connection.close()
                throw fail("installing the default rules failed: \(error)")
            }
            await connection.close()
            print("default rules: \(report.added.count) added, \(report.upgraded.count) upgraded, \(report.current.count) already current, "
                + "\(report.edited.count) edited and left alone")
            for (label, names) in [("added", report.added), ("upgraded to the current version", report.upgraded),
                                   ("edited by you, left alone (compare with herald rules list)", report.edited)] where !names.isEmpty {
                print("  \(label): \(names.joined(separator: ", "))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the rules: state, trigger, channels, template, timing.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let config = try options.load()
            let connection = try await openConnection(config)
            let rows: [NamedRow]
            do {
                rows = try await Stores(connection: connection).catalog.ruleListing()
            } catch {
                await connection.close()
                throw fail("listing rules failed: \(error)")
            }
            await connection.close()
            if rows.isEmpty { print("no rules (herald rules install-defaults writes a default set)") }
            for row in rows {
                let trigger = (row["on_event"] ?? "") + (row["to_status"] == "-" ? "" : " → \(row["to_status"] ?? "")")
                print([row["name"], row["state"], row["subject_type"], trigger, row["channels"], row["template"], row["timing"], row["recipient"],
                       "priority " + (row["priority"] ?? "")]
                    .map { $0 ?? "" }.joined(separator: "  "))
            }
        }
    }
}

extension Rules {
    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What an edit of rule NAME would re-plan, without making it.",
            discussion: """
                Changes the rule as --set says inside a transaction, plans its pending messages again exactly as the daemon \
                does after a real edit (moved, updated, cancelled, created), prints that, and rolls everything back. \
                Values are SQL text: --set send_before='2 hours' --set channels={sms} --set enabled=false --set sms_from=NULL.
                """)
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The rule's name.") var name: String
        @Option(name: .customLong("set"), help: "column=value (repeatable).") var assignments: [String] = []

        func run() async throws {
            let config = try options.load()
            var set: [(column: String, value: String)] = []
            for assignment in assignments {
                guard let eq = assignment.firstIndex(of: "=") else { throw fail("--set \(assignment): expected column=value", code: 64) }
                set.append((String(assignment[..<eq]).trimmingCharacters(in: .whitespaces), String(assignment[assignment.index(after: eq)...])))
            }
            let connection = try await openConnection(config)
            let store = Stores(connection: connection)
            let actions: [RuleReplan.Action]
            do {
                let planner = SchedulePlanner(policy: config.scheduling, records: try await store.catalog.locations())
                let context = RuleReplan.Context(planner: planner, defaultZone: config.scheduling.defaultTimeZone, now: Date())
                actions = try await store.events.withRuleEdited(name, set: set) {
                    try await RuleReplan.plan(rule: name, in: store, context: context, lock: false)
                }
            } catch let error as EventStore.RuleEditError {
                await connection.close()
                throw fail(error.description, code: 64)
            } catch {
                await connection.close()
                throw fail("preview failed: \(error)")
            }
            await connection.close()
            if actions.isEmpty { print("rule \(name): no pending message to re-plan") }
            for action in actions {
                let message = action.messageID.map { "message \($0)" } ?? "new message"
                let detail = RuleReplan.describe(action).map { ": \($0)" } ?? ""
                print("\(action.kind.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(message) (\(action.channel))\(detail)")
            }
            let counts = RuleReplan.Action.Kind.allCases.map { kind in "\(actions.filter { $0.kind == kind }.count) \(kind.rawValue)" }
            print("would re-plan: " + counts.joined(separator: ", ") + " (nothing was changed)")
        }
    }
}
