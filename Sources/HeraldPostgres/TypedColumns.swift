import Foundation

/// Typed reads of PostgreSQL's text format, in one place: every store decodes its rows
/// through these, never by comparing text (`== "t"`) or splitting joined arrays.
extension RowDecoder {
    /// A `boolean` column: nil for NULL or a column the result lacks.
    public func bool(_ row: [String?], _ name: String) -> Bool? { column(name).bool(row) }

    /// An integer column that fits `Int`; nil for NULL or anything else.
    public func int(_ row: [String?], _ name: String) -> Int? { column(name).int(row) }

    /// A `bigint` column; nil for NULL or anything else.
    public func int64(_ row: [String?], _ name: String) -> Int64? { column(name).int64(row) }

    /// A `float8` column, `Infinity` and `-Infinity` included (an `extract(epoch FROM …)` of
    /// `infinity`); nil for NULL, NaN or anything else.
    public func double(_ row: [String?], _ name: String) -> Double? { column(name).double(row) }

    /// A timestamp selected as `extract(epoch FROM t)::float8`: the instant, which may be
    /// ±infinity (callers decide what that means); nil for NULL.
    public func epoch(_ row: [String?], _ name: String) -> Date? { column(name).epoch(row) }

    /// A one-dimensional array column (`text[]`, `bigint[]`, …) as its elements, NULL
    /// elements left out; nil for NULL or text that is not an array literal.
    public func array(_ row: [String?], _ name: String) -> [String]? {
        text(row, name).flatMap { PostgresArray.parse($0) }.map { $0.compactMap { $0 } }
    }
}

extension ResultColumn {
    /// See ``RowDecoder/bool(_:_:)``.
    public func bool(_ row: [String?]) -> Bool? { PostgresText.bool(text(row)) }
    /// See ``RowDecoder/int(_:_:)``.
    public func int(_ row: [String?]) -> Int? { text(row).flatMap { Int($0) } }
    /// See ``RowDecoder/int64(_:_:)``.
    public func int64(_ row: [String?]) -> Int64? { text(row).flatMap { Int64($0) } }
    /// See ``RowDecoder/double(_:_:)``.
    public func double(_ row: [String?]) -> Double? { PostgresText.double(text(row)) }
    /// See ``RowDecoder/epoch(_:_:)``.
    public func epoch(_ row: [String?]) -> Date? { double(row).map { Date(timeIntervalSince1970: $0) } }
}

extension NamedRow {
    /// See ``RowDecoder/bool(_:_:)``.
    public func bool(_ name: String) -> Bool? { decoder.bool(values, name) }
    /// See ``RowDecoder/int(_:_:)``.
    public func int(_ name: String) -> Int? { decoder.int(values, name) }
    /// See ``RowDecoder/int64(_:_:)``.
    public func int64(_ name: String) -> Int64? { decoder.int64(values, name) }
    /// See ``RowDecoder/double(_:_:)``.
    public func double(_ name: String) -> Double? { decoder.double(values, name) }
    /// See ``RowDecoder/epoch(_:_:)``.
    public func epoch(_ name: String) -> Date? { decoder.epoch(values, name) }
    /// See ``RowDecoder/array(_:_:)``.
    public func array(_ name: String) -> [String]? { decoder.array(values, name) }
}

extension PostgresResult {
    /// The single value as a boolean (`SELECT exists(…)`, a function returning boolean):
    /// false for no row, NULL or false.
    public var scalarBool: Bool { PostgresText.bool(scalar) ?? false }
}

/// Scalars in PostgreSQL's text output format.
enum PostgresText {
    static func bool(_ text: String?) -> Bool? {
        switch text {
        case "t", "true": return true
        case "f", "false": return false
        default: return nil
        }
    }

    static func double(_ text: String?) -> Double? {
        guard let text else { return nil }
        switch text {
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let value = Double(text), !value.isNaN else { return nil }
            return value
        }
    }
}

extension PostgresArray {
    /// Parses a one-dimensional array literal as PostgreSQL prints it (`{a,"b c",NULL,"q\"x"}`):
    /// its elements, nil for SQL NULL; nil when the text is not such a literal.
    public static func parse(_ text: String) -> [String?]? {
        var scalars = text.unicodeScalars[...]
        // A lower bound other than 1 is printed first: `[0:1]={a,b}`.
        if scalars.first == "[", let equals = scalars.firstIndex(of: "=") { scalars = scalars[scalars.index(after: equals)...] }
        guard scalars.first == "{", scalars.last == "}" else { return nil }
        scalars = scalars.dropFirst().dropLast()
        var elements: [String?] = []
        if scalars.isEmpty { return elements }
        var index = scalars.startIndex
        while true {
            var element = String.UnicodeScalarView()
            var quoted = false
            if index < scalars.endIndex, scalars[index] == "\"" {
                quoted = true
                index = scalars.index(after: index)
                while true {
                    guard index < scalars.endIndex else { return nil }
                    let c = scalars[index]
                    index = scalars.index(after: index)
                    if c == "\"" { break }
                    if c == "\\" {
                        guard index < scalars.endIndex else { return nil }
                        element.append(scalars[index])
                        index = scalars.index(after: index)
                    } else {
                        element.append(c)
                    }
                }
            } else {
                while index < scalars.endIndex, scalars[index] != "," {
                    let c = scalars[index]
                    guard c != "{", c != "\"" else { return nil }  // nested arrays are not read here
                    if c == "\\" {
                        index = scalars.index(after: index)
                        guard index < scalars.endIndex else { return nil }
                    }
                    element.append(scalars[index])
                    index = scalars.index(after: index)
                }
            }
            let value = String(element)
            elements.append(!quoted && value.uppercased() == "NULL" ? nil : value)
            guard index < scalars.endIndex else { return elements }
            guard scalars[index] == "," else { return nil }
            index = scalars.index(after: index)
        }
    }
}
