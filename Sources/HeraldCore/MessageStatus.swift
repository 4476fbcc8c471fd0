/// The status of a row of `herald.message`: exactly the values of its `CHECK`
/// constraint (a test compares the two).
public enum MessageStatus: String, Sendable, CaseIterable, Codable {
    case pending, sending, sent, delivered, undelivered, failed, cancelled, expired, suppressed

    /// Statuses a message never leaves but by a DBA's `herald.retry(id)`.
    public var isFinished: Bool {
        switch self {
        case .pending, .sending: return false
        case .sent, .delivered, .undelivered, .failed, .cancelled, .expired, .suppressed: return true
        }
    }
}
