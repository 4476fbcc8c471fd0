import Foundation
import HeraldHTTP
import HeraldInbound
import Logging
import Prometheus

/// Requests to a running listener over TCP, signed by Twilio's own package
/// (`Peers/twilio_client.py`).
struct TwilioPeer: Sendable {
    let port: Int
    var publicURL = "https://herald.example.com/hooks"
    var token = "12345"

    struct Request: Encodable, Sendable {
        var method = "POST"
        var path = ListenerSettings.Path.twilioInbound
        var params: [String: String] = [:]
        /// `twilio`, `none`, `wrong-token`, `url:<other public url>`, `tamper`.
        var sign = "twilio"
        var raw_body: String?
        var headers: [String: String]?
        /// Sent as is over a socket (a request whose headers lie about its body).
        var raw_request: String?
    }

    struct Reply: Decodable, Sendable {
        let status: Int
        let body: String
        /// How long the request took, measured by the client around it (its interpreter's
        /// start-up excluded).
        let seconds: Double
    }

    static func sms(_ sid: String, from: String, _ body: String) -> Request {
        Request(params: ["MessageSid": sid, "AccountSid": "AC00000000000000000000000000000000", "From": from,
                         "To": "+34911000000", "Body": body, "NumMedia": "0"])
    }

    static func status(_ sid: String, _ status: String, errorCode: String? = nil) -> Request {
        var params = ["MessageSid": sid, "MessageStatus": status, "AccountSid": "AC00000000000000000000000000000000"]
        if let errorCode { params["ErrorCode"] = errorCode }
        return Request(path: ListenerSettings.Path.twilioStatus, params: params)
    }

    func send(_ requests: [Request], concurrency: Int = 1, timeout: Int = 20) async throws -> [Reply] {
        struct Job: Encodable {
            let base: String, public_url: String, token: String, concurrency: Int, timeout: Int, requests: [Request]
        }
        let job = Job(base: "http://127.0.0.1:\(port)", public_url: publicURL, token: token, concurrency: concurrency,
                      timeout: timeout, requests: requests)
        let output = try await runPeerScriptInBackground("twilio_client.py", input: try JSONEncoder().encode(job))
        return try JSONDecoder().decode([Reply].self, from: output)
    }

    func send(_ request: Request) async throws -> Reply {
        guard let reply = try await send([request]).first else { throw TestSetupError("no reply") }
        return reply
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> Reply {
        try await send(Request(method: "GET", path: path, sign: "none", headers: headers))
    }
}

/// Runs an HTTP listener (port 0) against `db` while `body` runs.
func withListener(_ db: TestDatabase, token: String? = "12345", key: [UInt8] = Array("k".utf8) + Array(repeating: 7, count: 31),
                  registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), maxBody: Int = 64 * 1024,
                  databaseURL: String? = nil, configure: (inout ListenerSettings) -> Void = { _ in },
                  _ body: (HTTPListener, TwilioPeer) async throws -> Void) async throws {
    var settings = ListenerSettings(host: "127.0.0.1", port: 0, publicURL: "https://herald.example.com/hooks/",
                                    twilioAuthToken: token, maxBodyBytes: maxBody)
    // Tests read what they just changed: no reading is shared across requests unless a test asks.
    settings.metricsRefresh = .zero
    settings.healthRefresh = .zero
    configure(&settings)
    let listener = HTTPListener(settings: settings, databaseURL: databaseURL ?? db.daemonURL, registry: registry, unsubscribeKey: key,
                                logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
    try await runAlone(listener) { () async throws -> Void in
        guard let port = await listener.boundPort() else { throw TestSetupError("listener did not start") }
        try await body(listener, TwilioPeer(port: port, token: token ?? "12345"))
    }
}
