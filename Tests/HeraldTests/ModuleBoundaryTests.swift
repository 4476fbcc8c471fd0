import Foundation
import Testing

/// Issue 23: the pure modules (scheduling, rendering, the pipeline, the rows they plan
/// with) link no I/O module, directly or through another: neither libpq nor libcurl, nor
/// the stores, drivers, daemon or listener. Read from Package.swift and the sources.
@Suite struct ModuleBoundaryTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let pure = ["HeraldPipeline", "HeraldScheduling", "HeraldRender", "HeraldRows", "HeraldCore"]
    static let io: Set<String> = ["CLibPQ", "CCurl", "HeraldPostgres", "HeraldCurl", "HeraldOutbox", "HeraldDrivers", "HeraldWorker",
                                  "HeraldHTTP", "HeraldSystemd", "HeraldExecutors", "HeraldConfig"]

    /// Each local target's local dependencies, from its `.target(name: …, dependencies: [...])`.
    static func graph() throws -> [String: Set<String>] {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        var graph: [String: Set<String>] = [:]
        for match in manifest.matches(of: /\.(?:target|systemLibrary|executableTarget)\(name: "(\w+)"(?:, dependencies: \[([^\]]*)\])?/) {
            let deps = (match.2.map(String.init) ?? "").matches(of: /^\s*"(\w+)"|,\s*"(\w+)"/).compactMap { ($0.1 ?? $0.2).map(String.init) }
            graph[String(match.1)] = Set(deps)
        }
        return graph
    }

    @Test func pureModulesDependOnNoIOModule() throws {
        let graph = try Self.graph()
        #expect(graph["HeraldOutbox"]?.contains("HeraldPostgres") == true, "the manifest was read: \(graph)")
        for module in Self.pure {
            var seen = Set<String>(), stack = [module]
            while let next = stack.popLast() {
                for dep in graph[next] ?? [] where seen.insert(dep).inserted { stack.append(dep) }
            }
            #expect(seen.isDisjoint(with: Self.io), "\(module) reaches \(seen.intersection(Self.io).sorted())")
        }
    }

    @Test func pureSourcesImportNoIOModule() throws {
        for module in Self.pure {
            let dir = Self.root.appendingPathComponent("Sources/\(module)")
            let files = FileManager.default.enumerator(atPath: dir.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
            #expect(!files.isEmpty, "\(module)")
            for file in files {
                let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
                let imports = Set(text.matches(of: /(?m)^import (\w+)/).map { String($0.1) })
                #expect(imports.isDisjoint(with: Self.io), "\(module)/\(file) imports \(imports.intersection(Self.io).sorted())")
            }
        }
    }
}
