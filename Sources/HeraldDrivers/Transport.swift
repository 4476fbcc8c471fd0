import Foundation
import HeraldCore
import HeraldCurl

/// How fast and how long a libcurl driver may talk to its provider.
public struct Throughput: Sendable, Equatable {
    /// Transfers at once (each on a thread of its own, each reusing its connection).
    public var maxConcurrent: Int
    /// Messages per second per sender and for the channel (`rate`, `burst`, `senders`,
    /// `ceiling`): the claim shares them between daemons; each driver also paces its own
    /// transfers by them. A long-code SMS number allows about 1 a second.
    public var limits: SenderLimits
    public var connectTimeout: Duration
    public var timeout: Duration
    /// A CA bundle to verify the provider with (default: the system's).
    public var caFile: String?

    public init(maxConcurrent: Int = 4, limits: SenderLimits = SenderLimits(), connectTimeout: Duration = .seconds(10),
                timeout: Duration = .seconds(30), caFile: String? = nil) {
        self.maxConcurrent = maxConcurrent
        self.limits = limits
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.caFile = caFile
    }

    func options(reuse: Bool = true) -> TransferOptions {
        TransferOptions(connectTimeout: connectTimeout, timeout: timeout, reuseConnections: reuse, caFile: caFile)
    }
}

/// The settings of a driver that talks to its provider through libcurl: how many
/// transfers it may have open (the daemon counts their descriptors at startup).
public protocol TransferSettings: Sendable {
    var throughput: Throughput { get }
}

extension TwilioDriver.Settings: TransferSettings {}
extension SMTPDriver.Settings: TransferSettings {}
extension WebhookDriver.Settings: TransferSettings {}

/// A pool of libcurl sessions behind a pacer per sender: what every libcurl driver sends through.
final class Transport: Sendable {
    let pool: CurlPool
    let pacer: SenderPacer?

    init(name: String, throughput: Throughput, reuse: Bool = true) {
        pool = CurlPool(name: name, size: throughput.maxConcurrent, options: throughput.options(reuse: reuse))
        pacer = throughput.limits.isEmpty ? nil : SenderPacer(limits: throughput.limits)
    }

    /// Waits for a slot of the sender with key `sender` (``SenderLimits/key(channel:sender:)``)
    /// and a free session, takes the daemon's last look at the message (``LastLook``: an
    /// opt-out during the wait stops it here), notes when the request leaves
    /// (``SenderPacer/dispatched(key:)``: the sender's next slot counts from it), then runs
    /// `body` on the session. Cancelling the task (shutdown past its grace period) stops a
    /// transfer in progress within a second.
    func run<T: Sendable>(sender: String, _ body: @Sendable @escaping (CurlSession, TransferCancellation) async throws -> T) async throws -> T {
        try await pacer?.acquire(key: sender)
        let cancellation = TransferCancellation()
        return try await withTaskCancellationHandler {
            try await pool.withSession { session in
                try await LastLook.take()
                await self.pacer?.dispatched(key: sender)
                return try await body(session, cancellation)
            }
        } onCancel: {
            cancellation.cancel()
        }
    }
}

/// A network-level failure (no answer, or not in time): always worth retrying.
func transient(_ error: CurlError, what: String) -> DeliveryError {
    let message = SafeText.redactingUserinfo(error.message)  // libcurl may repeat the URL with its credentials
    if error.isCancelled { return .transient("\(what): transfer stopped at shutdown", code: "cancelled") }
    if error.isTimeout { return .transient("\(what): timed out: \(message)", code: "timeout") }
    return .transient("\(what): \(message)", code: "curl-\(error.code)")
}

/// An HTTP answer that is not 2xx: 408, 429 and 5xx are worth retrying (after the
/// provider's `Retry-After`, if any); any other status will not change by retrying.
func httpFailure(_ response: HTTPResponse, reason: String, code: String? = nil) -> DeliveryError {
    let status = response.status
    if status == 408 || status == 429 || status >= 500 {
        return .transient(reason, code: String(status), retryAfter: retryAfter(response.header("Retry-After")))
    }
    return .permanent(reason, code: code ?? String(status))
}

/// Seconds from a `Retry-After` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
public func retryAfter(_ value: String?, now: Date = Date()) -> Duration? {
    guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
    if let seconds = Int(value), seconds >= 0 { return Duration.seconds(seconds).clamped(to: .heraldMaximum) }
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "GMT")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    guard let date = f.date(from: value) else { return nil }
    return Duration.clamped(seconds: date.timeIntervalSince(now).rounded(.up))
}
