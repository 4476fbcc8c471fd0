/// Which network addresses a transfer may connect to.
///
/// A webhook's URL may come from the message itself (its recipient), that is from
/// outside: such a URL must not reach the machine's own services or the cloud's
/// metadata endpoint (169.254.169.254). The check is made on each address libcurl is
/// about to connect to, after name resolution, so a name that resolves to a private
/// address is refused too. Pure: tested on its own.
public enum AddressPolicy {
    /// True for addresses that are not on the public internet: unspecified, loopback,
    /// private (RFC 1918, unique local), shared (100.64/10), link-local (169.254/16,
    /// fe80::/10), benchmarking, multicast and reserved; IPv4 inside IPv6 is judged as IPv4.
    public static func isInternal(ipv4 a: UInt32) -> Bool {
        let b0 = a >> 24, b1 = (a >> 16) & 0xFF
        switch b0 {
        case 0, 10, 127: return true
        case 100: return (64...127).contains(b1)
        case 169: return b1 == 254
        case 172: return (16...31).contains(b1)
        case 192: return b1 == 168 || (b1 == 0 && (a >> 8) & 0xFF == 0)
        case 198: return b1 == 18 || b1 == 19
        default: return b0 >= 224  // multicast, reserved, broadcast
        }
    }

    /// The same for a 16-byte IPv6 address.
    public static func isInternal(ipv6 bytes: [UInt8]) -> Bool {
        guard bytes.count == 16 else { return true }
        func embeddedIPv4() -> UInt32 {
            bytes[12...15].reduce(0) { $0 << 8 | UInt32($1) }
        }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) { return true }                     // :: and ::1
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return isInternal(ipv4: embeddedIPv4())                                    // ::ffff:a.b.c.d
        }
        if bytes[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] {
            return isInternal(ipv4: embeddedIPv4())                                    // 64:ff9b::/96 (NAT64)
        }
        if bytes[0] & 0xFE == 0xFC { return true }                                     // fc00::/7
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return true }                 // fe80::/10
        if bytes[0] == 0xFF { return true }                                            // multicast
        return false
    }

    /// An address as text, for messages.
    static func describe(ipv4 a: UInt32) -> String {
        "\(a >> 24).\((a >> 16) & 0xFF).\((a >> 8) & 0xFF).\(a & 0xFF)"
    }

    static func describe(ipv6 bytes: [UInt8]) -> String {
        stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}
