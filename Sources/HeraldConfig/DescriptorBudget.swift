import HeraldDrivers

/// How many file descriptors a daemon with this configuration needs at most, against the
/// process's limit (`RLIMIT_NOFILE`): without enough, a flood of HTTP connections would
/// take the descriptors the daemon's own database connections need ("Too many open
/// files") and stall claiming, recording and `/healthz` together.
public struct DescriptorBudget: Sendable, Equatable {
    /// `[http] max_connections` (0 without the listener).
    public var connections: Int
    /// Everything else: database connections (a socket and a wake-up pipe each), transfer
    /// handles, the event loops, the journal, standard streams, and a margin.
    public var own: Int

    public var total: Int { connections + own }

    public init(_ config: Configuration) {
        let databaseConnections = 6 + (config.http.enabled ? config.http.connections : 0)  // 5 links + LISTEN (+ the listener's)
        // Each libcurl transfer may hold a connection, and its resolver another descriptor.
        let transfers = 2 * config.channels.values.reduce(0) { sum, channel in
            sum + ((channel.settings as? any TransferSettings)?.throughput.maxConcurrent ?? 0)
        }
        connections = config.http.enabled ? config.http.maxConnections : 0
        own = 3 * databaseConnections + transfers + 64
    }

    /// Nil when `limit` holds the budget; otherwise the one-line reason naming the key.
    public func problem(limit: UInt64) -> ConfigError? {
        guard UInt64(total) > limit else { return nil }
        return ConfigError(
            file: "", key: "http.max_connections",
            reason: "\(connections) connections plus about \(own) descriptors of the daemon's own need more than the open-file limit (\(limit), RLIMIT_NOFILE): lower max_connections, or raise the limit (LimitNOFILE= in the systemd unit)")
    }
}
