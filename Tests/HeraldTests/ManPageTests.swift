import Foundation
import Testing

/// Issue 23: the committed man page (`docs/man/herald.1`, from `deploy/gen-man`) is the
/// binary's: the help it was generated from equals what the binary prints now, and the
/// page names every command with its abstract and every option.
@Suite struct ManPageTests {
    static let man = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/man")

    @Test func theManPageIsGeneratedFromTheCurrentCommands() async throws {
        let (status, current, err) = try await HeraldProcess.run(["--experimental-dump-help"])
        #expect(status == 0, "\(err)")
        let recorded = try String(contentsOf: Self.man.appendingPathComponent("herald.help.json"), encoding: .utf8)
        #expect(current.trimmingCharacters(in: .whitespacesAndNewlines) == recorded.trimmingCharacters(in: .whitespacesAndNewlines),
                "docs/man is stale: run deploy/gen-man and commit docs/man")

        let page = try String(contentsOf: Self.man.appendingPathComponent("herald.1"), encoding: .utf8)
        // mdoc drops some characters (an ellipsis): abstracts are compared by letters and digits.
        func letters(_ text: String) -> String { String(text.lowercased().unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) }.map(Character.init)) }
        let pageLetters = letters(page)
        let dump = try #require(try JSONSerialization.jsonObject(with: Data(current.utf8)) as? [String: Any])
        var missing: [String] = []
        func walk(_ command: [String: Any]) {
            if let name = command["commandName"] as? String, !page.contains(".It Em \(name)") && !page.contains(".Nm \(name)") { missing.append(name) }
            if let abstract = command["abstract"] as? String, !abstract.isEmpty, !pageLetters.contains(letters(abstract)) { missing.append(abstract) }
            for argument in command["arguments"] as? [[String: Any]] ?? [] {
                for name in (argument["names"] as? [[String: Any]] ?? []).compactMap({ $0["name"] as? String }) where !page.contains(name) {
                    missing.append(name)
                }
            }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] { walk(sub) }
        }
        walk(try #require(dump["command"] as? [String: Any]))
        #expect(missing.isEmpty, "not in docs/man/herald.1: \(missing.prefix(10))")
    }
}
