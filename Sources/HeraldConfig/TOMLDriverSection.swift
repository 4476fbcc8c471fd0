import HeraldDrivers
import TOMLKit

/// A `[channels.<name>]` table handed to a driver: reads go through the loader's value
/// parsing (same errors as every other key), and every key read is remembered so that the
/// loader can reject the ones no driver knows.
final class TOMLDriverSection: DriverSection {
    let table: TOMLTable
    let path: String
    let file: String
    let loader: ConfigurationLoader
    var seen = Set<String>()

    init(table: TOMLTable, path: String, file: String, loader: ConfigurationLoader) {
        self.table = table
        self.path = path
        self.file = file
        self.loader = loader
    }

    private func raw(_ key: String) -> RawValue? {
        seen.insert(key)
        return table[key].map { .toml($0) }
    }

    private func name(_ key: String) -> String { "\(path).\(key)" }

    func string(_ key: String) throws -> String? {
        try raw(key).map { try loader.string($0, name(key), file) }
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        try raw(key).map { try loader.int($0, name(key), file, range) }
    }

    func number(_ key: String) throws -> Double? {
        guard let value = raw(key) else { return nil }
        switch value {
        case .env(let text):
            if let number = Double(text) { return number }
        case .toml(let v):
            if let number = v.double ?? v.int.map(Double.init) { return number }
        }
        throw invalid(key, "must be a number")
    }

    func bool(_ key: String) throws -> Bool? {
        try raw(key).map { try loader.bool($0, name(key), file) }
    }

    func duration(_ key: String, positive: Bool) throws -> Duration? {
        try raw(key).map { try loader.duration($0, name(key), file, positive: positive) }
    }

    func secret(_ key: String, credential: String) throws -> String? {
        if let secretPath = try string(key) { return try loader.secretFile(secretPath, key: name(key), file: file) }
        return loader.credential(credential)
    }

    func tables(_ key: String) throws -> [(name: String, section: any DriverSection)] {
        seen.insert(key)
        guard let value = table[key] else { return [] }
        guard let inner = value.table else { throw invalid(key, "must be a table of tables, one per sender") }
        return try inner.keys.sorted().map { name in
            guard let sub = inner[name]?.table else { throw invalid("\(key).\(name)", "must be a table") }
            return (name, TOMLDriverSection(table: sub, path: "\(path).\(key).\"\(name)\"", file: file, loader: loader))
        }
    }

    func rejectUnread() throws {
        if let key = table.keys.sorted().first(where: { !seen.contains($0) }) { throw invalid(key, "unknown key") }
    }

    func invalid(_ key: String, _ reason: String) -> any Error {
        ConfigError(file: file, key: name(key), reason: reason)
    }
}
