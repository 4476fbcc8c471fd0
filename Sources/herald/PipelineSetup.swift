import Foundation
import HeraldConfig
import HeraldCore
import HeraldOutbox
import HeraldPipeline

/// The pipeline the daemon would build now, for `explain`, `templates preview` and
/// `send-test`: the configuration's settings, links signed with the daemon's key, over the
/// database's rows (or `rows`: send-test's own template, the built-in templates). Template
/// and location problems are printed to standard error, as the daemon logs them.
///
/// Without a database (`store` nil) the key is only `[http] link_key_file`'s: nothing is
/// read or stored; without it the links are left out, saying so. `links` false leaves them
/// out whatever the configuration (send-test: a one-click unsubscribe in a test email
/// would opt the operator's own address out).
func loadPipeline(_ config: Configuration, store: Stores?, rows: PipelineRows? = nil, now: Date, links: Bool = true) async throws -> Pipeline {
    var key: [UInt8]?
    if links, (config.http.enabled && config.http.publicURL != nil) || config.bounceAddress != nil {
        if let configured = config.http.linkKey {
            key = configured
        } else if let store {
            key = try await ListenerSetup.storedLinkKey(store)
        } else {
            FileHandle.standardError.write(Data("herald: links not shown: the link key is in the database (herald.secret) unless [http] link_key_file is set\n".utf8))
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
