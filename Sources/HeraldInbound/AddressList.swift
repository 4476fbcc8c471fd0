#if canImport(Glibc)
import Glibc
#endif

/// A list of networks (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`) that an address is
/// checked against: who may read `/metrics` without a token (`[http] metrics_allow`).
/// IPv4 addresses written as IPv6 (`::ffff:10.1.2.3`) match the IPv4 networks.
public struct AddressList: Sendable, Equatable {
    /// One network: its address bytes (4 or 16) and prefix length.
    public struct Network: Sendable, Equatable, CustomStringConvertible {
        public let bytes: [UInt8]
        public let prefix: Int

        public var description: String {
            let text: String
            if bytes.count == 4 {
                text = bytes.map(String.init).joined(separator: ".")
            } else {
                text = stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                    .joined(separator: ":")
            }
            return "\(text)/\(prefix)"
        }

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var left = prefix
            for (a, b) in zip(address, bytes) {
                guard left > 0 else { return true }
                let bits = min(8, left)
                let mask: UInt8 = bits == 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if a & mask != b & mask { return false }
                left -= bits
            }
            return true
        }
    }

    public let networks: [Network]

    /// Loopback only: what `/metrics` allows when nothing is configured.
    public static let loopback = AddressList(networks: [Network(bytes: [127, 0, 0, 0], prefix: 8), Network(bytes: Array(repeating: 0, count: 15) + [1], prefix: 128)])

    public init(networks: [Network]) { self.networks = networks }

    /// Parses `address` or `address/prefix` entries; the error names the entry.
    public init(parsing entries: [String]) throws(AddressListError) {
        networks = try entries.map { entry throws(AddressListError) -> Network in
            let parts = entry.split(separator: "/", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), let bytes = Self.bytes(String(parts[0])) else {
                throw AddressListError(entry: entry, reason: "is not an IP address or network (such as 10.0.0.0/8 or ::1)")
            }
            let maximum = bytes.count * 8
            var prefix = maximum
            if parts.count == 2 {
                guard let p = Int(parts[1]), (0...maximum).contains(p) else {
                    throw AddressListError(entry: entry, reason: "has a prefix length outside 0...\(maximum)")
                }
                prefix = p
            }
            return Network(bytes: bytes, prefix: prefix)
        }
    }

    /// True when the address (text, as a socket reports it) is in one of the networks.
    public func contains(_ address: String) -> Bool {
        guard var bytes = Self.bytes(address) else { return false }
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            bytes = Array(bytes[12...])
        }
        return networks.contains { $0.contains(bytes) }
    }

    /// The bytes of an IPv4 or IPv6 address in text; nil for anything else.
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}

/// An entry of an address list that is not an address or a network.
public struct AddressListError: Error, Sendable, Equatable {
    public let entry: String
    public let reason: String
}
