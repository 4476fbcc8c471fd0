import Hummingbird
import NIOCore

/// The listener's request context: Hummingbird's basic one, plus the peer's address (for
/// `[http] metrics_allow`).
public struct ListenerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The address of the connection's other end: the client, or a proxy in front of Herald.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
