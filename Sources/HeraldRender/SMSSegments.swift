/// How an SMS text is encoded and how many billed segments it takes.
///
/// GSM 03.38 (7-bit): 160 septets in one message; a concatenated message carries
/// 153 per segment (the rest is the concatenation header). Characters of the
/// extension table (`€ [ ] { } \ ^ ~ |` and form feed) take two septets (escape +
/// code), and a pair is never split across segments. Any character outside both
/// tables switches the whole message to UCS-2: 70 UTF-16 code units in one
/// message, 67 per segment, and a surrogate pair (an emoji) is never split.
public struct SMSSegments: Sendable, Equatable, CustomStringConvertible {
    public enum Encoding: String, Sendable {
        case gsm7 = "GSM-7"
        case ucs2 = "UCS-2"
    }

    public let encoding: Encoding
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    public let units: Int
    /// Billed segments (at least 1).
    public let count: Int
    /// Characters that forced UCS-2, in order of appearance (empty for GSM-7).
    public let nonGSM: [Character]

    /// Counts the segments of `text`.
    public init(_ text: String) {
        if let costs = Self.asciiSeptets(text) {  // most texts: ASCII in GSM 03.38, read as bytes
            self.init(encoding: .gsm7, units: costs.reduce(0) { $0 + Int($1) },
                      count: Self.segments(costs: costs, single: 160, multi: 153), nonGSM: [])
        } else {
            self.init(scalarsOf: text)
        }
    }

    private init(encoding: Encoding, units: Int, count: Int, nonGSM: [Character]) {
        self.encoding = encoding
        self.units = units
        self.count = count
        self.nonGSM = nonGSM
    }

    /// Counts the segments of `text` read by Unicode scalar (any text; tests compare it with
    /// the ASCII path).
    init(scalarsOf text: String) {
        var septets: [Int] = []  // cost of each scalar in GSM-7: 1 or 2
        septets.reserveCapacity(text.utf8.count)
        var offending: [Character] = []
        var isGSM = true
        for scalar in text.unicodeScalars {
            if scalar.value < 128, case let cost = GSM0338.asciiCost[Int(scalar.value)], cost != 0 {  // a table, no hashing
                septets.append(Int(cost))
            } else if GSM0338.basic.contains(scalar) {
                septets.append(1)
            } else if GSM0338.extension.contains(scalar) {
                septets.append(2)
            } else {
                isGSM = false
                let c = Character(scalar)
                if offending.count < 5 && !offending.contains(c) { offending.append(c) }
            }
        }
        if isGSM {
            encoding = .gsm7
            units = septets.reduce(0, +)
            count = Self.segments(costs: septets, single: 160, multi: 153)
            nonGSM = []
        } else {
            let costs = text.unicodeScalars.map { $0.utf16.count }
            encoding = .ucs2
            units = costs.reduce(0, +)
            count = Self.segments(costs: costs, single: 70, multi: 67)
            nonGSM = offending
        }
    }

    /// The septets of each byte of an all-ASCII text whose every character is in GSM 03.38;
    /// nil for any other text (the general path reads it by Unicode scalar).
    static func asciiSeptets(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { bytes -> [UInt8]? in
            let table = GSM0338.asciiCost
            var costs = [UInt8](repeating: 0, count: bytes.count)
            for (i, byte) in bytes.enumerated() {
                guard byte < 128 else { return nil }
                let cost = table[Int(byte)]
                guard cost != 0 else { return nil }
                costs[i] = cost
            }
            return costs
        }
    }

    /// Packs indivisible units of `costs` into segments.
    static func segments<Cost: BinaryInteger>(costs: [Cost], single: Int, multi: Int) -> Int {
        let total = costs.reduce(0) { $0 + Int($1) }
        if total <= single { return 1 }
        var segments = 1
        var used = 0
        for cost in costs {
            if used + Int(cost) > multi {
                segments += 1
                used = 0
            }
            used += Int(cost)
        }
        return segments
    }

    public var description: String {
        let unit = encoding == .gsm7 ? "septets" : "UTF-16 units"
        var text = "\(count) segment\(count == 1 ? "" : "s") (\(encoding.rawValue), \(units) \(unit))"
        if !nonGSM.isEmpty {
            text += "; UCS-2 because of " + nonGSM.map { c in "\"\(c)\" " + c.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }.joined(separator: " ") }.joined(separator: ", ")
        }
        return text
    }
}

/// The GSM 03.38 default alphabet and its extension table (3GPP TS 23.038 §6.2.1).
enum GSM0338 {
    /// The 127 characters of the basic table (0x1B, the escape, is not a character).
    static let basic: Set<Unicode.Scalar> = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
            .unicodeScalars)
    /// Characters sent as escape + code: two septets each.
    static let `extension`: Set<Unicode.Scalar> = Set("\u{0C}^{}\\[~]|€".unicodeScalars)
    /// The septets of each ASCII code, from the two tables above: 0 for a code not in GSM 03.38.
    static let asciiCost: [UInt8] = (0..<128).map { code in
        guard let scalar = Unicode.Scalar(code) else { return 0 }
        return basic.contains(scalar) ? 1 : `extension`.contains(scalar) ? 2 : 0
    }
}
