/// Parses and prints durations as operators write them in configuration:
/// `250ms`, `30s`, `5m`, `1h30m`, `2d`; a bare number means seconds.
public enum DurationText {
    /// Parses `text`; nil when it is not a duration, or is longer than ``Duration/heraldMaximum``
    /// (3650 days: `1e30` or `inf` must never reach an integer conversion).
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        if let plain = Double(trimmed) { return Duration.checked(seconds: plain) }
        var totalMillis: Double = 0
        var number = ""
        var unit = ""
        var sawComponent = false
        func flush() -> Bool {
            guard let value = Double(number), value >= 0 else { return false }
            let factor: Double
            switch unit {
            case "ms": factor = 1
            case "s": factor = 1000
            case "m", "min": factor = 60_000
            case "h": factor = 3_600_000
            case "d": factor = 86_400_000
            default: return false
            }
            totalMillis += value * factor
            number = ""
            unit = ""
            sawComponent = true
            return true
        }
        for ch in trimmed {
            if ch.isNumber || ch == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(ch)
            } else if ch.isLetter {
                guard !number.isEmpty else { return nil }
                unit.append(ch)
            } else {
                return nil
            }
        }
        guard flush(), sawComponent else { return nil }
        return Duration.checked(seconds: totalMillis / 1000)
    }

    /// Prints a duration in the largest exact units, e.g. `1h30m`, `250ms`.
    public static func format(_ duration: Duration) -> String {
        var millis = duration.clamped(to: .seconds(Int64.max / 1000 - 1)).wholeMilliseconds
        if millis == 0 { return "0s" }
        var out = ""
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] where millis >= size {
            out += "\(millis / size)\(unit)"
            millis %= size
        }
        return out
    }
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension Set where Element == Character {
    static var whitespaces: Set<Character> { [" ", "\t"] }
}
