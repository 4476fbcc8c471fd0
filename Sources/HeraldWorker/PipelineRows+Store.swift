import HeraldOutbox
import HeraldPipeline

extension PipelineRows {
    /// Reads them (three statements; call them in one transaction for one snapshot).
    public static func read(from store: Stores) async throws -> PipelineRows {
        PipelineRows(templates: try await store.catalog.templates(), partials: try await store.catalog.partials(), locations: try await store.catalog.locations())
    }
}
