import ArgumentParser
import HeraldConfig
import HeraldOutbox
import HeraldPostgres

struct Rules: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Notification rules (herald.rule): install the default set, list them.",
        subcommands: [InstallDefaults.self, List.self])

    struct InstallDefaults: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install-defaults",
            abstract: "Write the default rules (confirmation, reminders, rescheduled, cancelled, feedback, work orders, leads); keep existing ones.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let config = try options.load()
            let connection = try await openConnection(config)
            let written: Int
            do {
                written = try await OutboxStore(connection: connection, workerID: "cli").installDefaultRules()
            } catch {
                await connection.close()
                throw fail("installing the default rules failed: \(error)")
            }
            await connection.close()
            let total = OutboxStore.defaultRules.count
            print("default rules: \(written) written, \(total - written) kept as they were")
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
                rows = try await OutboxStore(connection: connection, workerID: "cli").ruleListing()
            } catch {
                await connection.close()
                throw fail("listing rules failed: \(error)")
            }
            await connection.close()
            if rows.isEmpty { print("no rules (herald rules install-defaults writes a default set)") }
            for row in rows {
                let trigger = (row["on_event"] ?? "") + (row["to_status"] == "-" ? "" : " → \(row["to_status"] ?? "")")
                print([row["name"], row["state"], row["subject_type"], trigger, row["channels"], row["template"], row["timing"], row["recipient"]]
                    .map { $0 ?? "" }.joined(separator: "  "))
            }
        }
    }
}
