/// The shape of `[channels.email] bounce_address`, the address each email's own bounce
/// address (`<local>+<token>@<domain>`, VERP) is made from: checked where the configuration
/// is read and where the addresses are made.
public enum BounceAddressRule {
    /// Longest local part: with the token (at most 43 characters and the `+`) the address
    /// stays within RFC 5321's 64-octet local part.
    public static let maxLocalLength = 20

    /// What a bad value is told.
    public static let expected = "must be an address such as bounces@your-domain: a local part of 1 to 20 letters, digits, '.', '-' or '_' (no '+') and a domain name"

    /// The local part and domain of a valid bounce address; nil for anything else.
    public static func split(_ address: String) -> (local: String, domain: String)? {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let local = String(parts[0]), domain = String(parts[1])
        func plain(_ s: Unicode.Scalar, _ extra: String) -> Bool {
            s.isASCII && (("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || extra.unicodeScalars.contains(s))
        }
        guard (1...maxLocalLength).contains(local.utf8.count), local.unicodeScalars.allSatisfy({ plain($0, ".-_") }),
              !local.hasPrefix("."), !local.hasSuffix("."),
              (1...253).contains(domain.utf8.count), domain.unicodeScalars.allSatisfy({ plain($0, ".-") }),
              !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.hasPrefix("-") else { return nil }
        return (local, domain)
    }
}
