import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request is not read and answered within `timeout` of the
/// connection opening or of its previous response.
///
/// Hummingbird's idle timeout closes a connection that sends nothing; a client that
/// trickles its headers or its body a byte at a time is never idle, and without this each
/// such connection would hold a descriptor (and a request task) for as long as it likes.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private let expired: @Sendable () -> Void
    private var timer: Scheduled<Void>?

    /// `expired` is called (on the event loop) for each connection closed for being slow.
    init(timeout: TimeAmount, expired: @escaping @Sendable () -> Void) {
        self.timeout = timeout
        self.expired = expired
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if timer == nil { arm(context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // A response is complete: the next request has its own time.
            arm(context)
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        let channel = context.channel
        let expired = self.expired
        timer = context.eventLoop.scheduleTask(in: timeout) {
            expired()
            channel.close(promise: nil)
        }
    }
}

/// The request deadline for another listener (the admin API's), with the same behaviour.
public func requestDeadlineHandler(timeout: TimeAmount, expired: @escaping @Sendable () -> Void) -> any RemovableChannelHandler {
    RequestDeadlineHandler(timeout: timeout, expired: expired)
}
