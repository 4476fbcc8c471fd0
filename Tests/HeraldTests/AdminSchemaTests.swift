import Foundation
import HeraldOutbox
import Testing

/// schemathesis (pinned in deploy/test-requirements.txt) against `openapi.yaml` and the live
/// admin API on a throwaway database: generated requests, valid and not, with a token and
/// without. No answer may be a 5xx, every answer must match its schema, its status and its
/// content type, and every operation must refuse a request without the token.
@Suite struct AdminSchemaTests {
    static var schemathesis: String? {
        guard let python = ProcessInfo.processInfo.environment["HERALD_TEST_PYTHON"] else { return nil }
        let tool = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("schemathesis").path
        return FileManager.default.isExecutableFile(atPath: tool) ? tool : nil
    }

    static var spec: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("openapi.yaml").path
    }

    @Test(.enabled(if: schemathesis != nil, "schemathesis is installed by deploy/test into .build-venv"))
    func generatedRequestsGetNoServerErrorAndMatchTheSchema() async throws {
        let tool = try #require(Self.schemathesis)
        // The coverage phase's combinations of 16 optional query parameters take minutes: the
        // fuzzing phase (valid and invalid requests) is what runs here.
        try await CPUGate.run { try await TestDatabase.with { db in
            try await db.execute("""
                INSERT INTO herald.contact (id, name, phone, email) VALUES ('c-1', 'Ana', '+34600000001', 'ana@example.com');
                INSERT INTO herald.template (key, channel, locale, body) VALUES ('t', 'sms', 'es', 'Hola {{name}}');
                INSERT INTO herald.message (channel, recipient, template, locale, data, contact_id, subject_type, subject_id)
                     VALUES ('sms', '+34600000001', 't', 'es', '{"name":"Ana"}', 'c-1', 'appointment', 'A-1');
                INSERT INTO herald.message (channel, recipient, template, data, status, last_error)
                     VALUES ('sms', '+34600000002', 't', '{}', 'failed', 'provider outage');
                """)
            // Unauthenticated requests are part of the run: no address is slowed down here.
            try await withAdminAPI(db, configure: { $0.failuresBeforeSlowing = 1_000_000 }) { _, api, tokens in
                let checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
                    + "response_headers_conformance,ignored_auth"
                let command = [tool, "run", Self.spec, "--url", "http://127.0.0.1:\(api.port)", "-H", "Authorization: Bearer \(tokens.admin)",
                               "--checks", checks, "--max-examples", "25", "--seed", "24", "--no-color", "--workers", "1",
                               "--phases", "examples,fuzzing", "--mode", "all", "--suppress-health-check", "all", "--request-timeout", "20"]
                    .map { "'\($0)'" }.joined(separator: " ")
                let output = try await runShell(command + " 2>&1; echo \"exit=$?\"", timeout: .seconds(600))
                #expect(output.contains("exit=0"), "\(output.suffix(6000))")
                #expect(output.contains("Tested: 30"), "\(output.suffix(2000))")
                #expect(output.contains("No issues found"), "\(output.suffix(2000))")
            }
        } }
    }
}
