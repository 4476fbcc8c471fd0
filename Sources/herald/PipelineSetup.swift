import Foundation
import HeraldConfig
import HeraldCore
import HeraldOutbox
import HeraldPipeline

/// The pipeline the daemon would build now, for `explain`, `templates preview` and
/// `send-test`: the configuration's settings, links signed with the daemon's key, over the
/// database's rows (or `rows`: send-test's own template, the built-in templates). Template
/// and location problems are printed to standard error, as the daemon logs them.
func loadPipeline(_ config: Configuration, store: Stores?, rows: PipelineRows? = nil, now: Date) async throws -> Pipeline {
    var key: [UInt8]?
    if config.http.enabled, config.http.publicURL != nil {
        do {
            key = try await ListenerSetup.linkKey(config)
        } catch {
            guard store == nil else { throw error }
            // The built-in templates without a database: shown without Herald's links.
            FileHandle.standardError.write(Data("herald: links not shown (no link key without the database): \(error)\n".utf8))
        }
    }
    let source: PipelineRows
    if let rows {
        source = rows
    } else if let store {
        do { source = try await PipelineRows.read(from: store) } catch { throw fail("cannot read templates and locations: \(error)") }
    } else {
        source = PipelineRows(templates: [])
    }
    let loaded = Pipeline.load(source, settings: config.pipelineSettings(linkKey: key), now: now)
    for problem in loaded.templateProblems + loaded.invalidLocations.sorted(by: { $0.key < $1.key }).map(\.value) {
        FileHandle.standardError.write(Data("herald: \(problem)\n".utf8))
    }
    for check in loaded.renderChecks where check.outcome == .mismatch {
        FileHandle.standardError.write(Data("herald: \(check.template): Herald's renderer disagrees with swift-mustache; swift-mustache renders it (\(check.detail ?? ""))\n".utf8))
    }
    return loaded.pipeline
}
