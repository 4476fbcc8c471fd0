/// `application/x-www-form-urlencoded` bodies (what Twilio posts), decoded strictly:
/// `+` is a space, `%XX` a byte, the result must be UTF-8, names may repeat (Twilio's
/// signature covers every pair).
public enum FormBody {
    /// Why a body is not a form.
    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The pairs in order; throws ``Malformed`` for a bad escape or bytes that are not UTF-8.
    public static func parse(_ bytes: some Collection<UInt8>) throws -> [(String, String)] {
        var pairs: [(String, String)] = []
        for part in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = part.firstIndex(of: UInt8(ascii: "="))
            let name = try decode(equals.map { part[part.startIndex..<$0] } ?? part[...])
            let value = try equals.map { try decode(part[part.index(after: $0)...]) } ?? ""
            pairs.append((name, value))
        }
        return pairs
    }

    /// The first value of `name`.
    public static func value(_ name: String, in pairs: [(String, String)]) -> String? {
        pairs.first { $0.0 == name }?.1
    }

    static func decode(_ bytes: some Collection<UInt8>) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i != bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if b == UInt8(ascii: "%") {
                let h = bytes.index(after: i)
                guard h != bytes.endIndex, bytes.index(after: h) != bytes.endIndex,
                      let hi = hex(bytes[h]), let lo = hex(bytes[bytes.index(after: h)]) else {
                    throw Malformed(description: "bad percent escape in form body")
                }
                out.append(hi << 4 | lo)
                i = bytes.index(after: bytes.index(after: h))
                continue
            } else {
                out.append(b)
            }
            i = bytes.index(after: i)
        }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw Malformed(description: "form body is not UTF-8")
        }
        return text
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
