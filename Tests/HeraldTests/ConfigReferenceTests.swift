import Foundation
@testable import HeraldConfig
import HeraldDrivers
import Testing

/// Issue 23: `docs/configuration.md` is the one reference of every configuration key. A key
/// the loader (or a driver) accepts and the reference does not name fails this test, and so
/// does a key the reference names that nothing reads.
@Suite struct ConfigReferenceTests {
    static let reference: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)) ?? ""
    }()

    /// The first backticked cells of each row of the table under `heading`.
    static func rows(under heading: String) -> [[String]] {
        guard let start = reference.range(of: "\n" + heading + "\n") else { return [] }
        var rows: [[String]] = []
        for line in reference[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") { break }
            guard line.hasPrefix("| `") else { continue }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            rows.append(cells.prefix(2).compactMap { $0.hasPrefix("`") && $0.hasSuffix("`") ? String($0.dropFirst().dropLast()) : nil })
        }
        return rows
    }

    @Test func everySectionKeyIsInTheReferenceAndNoOther() {
        let documented = Self.rows(under: "### Sections").compactMap(\.first)
        let accepted = ConfigurationLoader.keys.flatMap { section, keys in keys.map { "\(section).\($0)" } }
        #expect(documented.count == Set(documented).count, "a key listed twice")
        #expect(Set(accepted).subtracting(documented).sorted() == [], "accepted but not in docs/configuration.md")
        #expect(Set(documented).subtracting(accepted).sorted() == [], "in docs/configuration.md but rejected")
    }

    /// Each driver's keys, as it reads them from a section holding a plausible value for
    /// every key (a driver reads all its keys whatever is set).
    @Test func everyDriverKeyIsInTheReferenceAndNoOther() throws {
        var documented = Set(Self.rows(under: "### Drivers").filter { $0.count == 2 }.map { "\($0[0]).\($0[1])" })
        #expect(documented.remove("*.driver") != nil, "the reference names `driver`")
        // `*` rows are keys every driver takes (the rate limits): one row each, for all.
        for key in documented.filter({ $0.hasPrefix("*.") }) {
            documented.remove(key)
            for driver in DriverRegistry.all { documented.insert(driver.kind + key.dropFirst()) }
        }
        var read = Set<String>()
        for driver in DriverRegistry.all {
            let section = RecordingSection(kind: driver.kind)
            _ = try driver.settings(from: section)
            _ = try section.senderLimits()  // what every channel's configuration reads beside its driver's keys
            read.formUnion(section.keys.map { "\(driver.kind).\($0)" })
        }
        #expect(read.subtracting(documented).sorted() == [], "read by a driver but not in docs/configuration.md")
        #expect(documented.subtracting(read).sorted() == [], "in docs/configuration.md but no driver reads it")
    }
}

/// A driver section that answers every read with a plausible value and remembers the keys.
final class RecordingSection: DriverSection, @unchecked Sendable {
    let kind: String
    private(set) var keys = Set<String>()
    var path: String { "channels.test" }

    init(kind: String) { self.kind = kind }

    func string(_ key: String) throws -> String? {
        keys.insert(key)
        switch key {
        case "url": return kind == "smtp" ? "smtp://mail.example:587" : "https://hook.example/h"
        case "base_url", "status_callback", "unsubscribe_url", "lookup_url": return "https://api.example"
        case "from": return kind == "twilio" ? "+34600000001" : "Sol <citas@sol.example>"
        case "tls": return "required"
        case "directory": return "/tmp/herald-outbox"
        case "envelope_from": return nil  // read, but not with bounce_address beside it
        default: return "x@example.com"
        }
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        keys.insert(key)
        return range.lowerBound
    }

    func number(_ key: String) throws -> Double? {
        keys.insert(key)
        return 1
    }

    func bool(_ key: String) throws -> Bool? {
        keys.insert(key)
        return false
    }

    func duration(_ key: String, positive: Bool) throws -> Duration? {
        keys.insert(key)
        return key == "lookup_max_age" ? .seconds(86_400) : .seconds(1)
    }

    func secret(_ key: String, credential: String) throws -> String? {
        keys.insert(key)
        return "s3cret-s3cret-s3cret-s3cret-s3cret"
    }

    func tables(_ key: String) throws -> [(name: String, section: any DriverSection)] {
        keys.insert(key)
        return []
    }

    func invalid(_ key: String, _ reason: String) -> any Error { ConfigError(file: "test", key: key, reason: reason) }
}
