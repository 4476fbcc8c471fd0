import Foundation

/// A value sent as a statement parameter, in PostgreSQL's text format.
///
/// Cast in SQL where the type matters (`$1::bigint`, `$2::text[]`).
public protocol PostgresEncodable: Sendable {
    /// The text form PostgreSQL parses for this value.
    var postgresText: String { get }
}

extension String: PostgresEncodable { public var postgresText: String { self } }
extension Int: PostgresEncodable { public var postgresText: String { String(self) } }
extension Int64: PostgresEncodable { public var postgresText: String { String(self) } }
extension Int32: PostgresEncodable { public var postgresText: String { String(self) } }
extension Bool: PostgresEncodable { public var postgresText: String { self ? "t" : "f" } }
extension Double: PostgresEncodable { public var postgresText: String { "\(self)" } }

/// A one-dimensional array parameter: `{"a","b",NULL}` in PostgreSQL's array syntax.
public struct PostgresArray: PostgresEncodable {
    public var elements: [String?]
    public init(_ elements: [String?]) { self.elements = elements }
    public init<T: PostgresEncodable>(_ values: [T]) { self.elements = values.map { $0.postgresText } }
    public init<T: PostgresEncodable>(_ values: [T?]) { self.elements = values.map { $0?.postgresText } }

    public var postgresText: String {
        // Built as bytes, scanned on contiguous storage: a completion's arrays (250 ids,
        // statuses, provider ids) went through here byte by byte as `String` appends.
        var out: [UInt8] = []
        out.reserveCapacity(elements.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
        out.append(UInt8(ascii: "{"))
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard var element else { out.append(contentsOf: "NULL".utf8); continue }
            out.append(UInt8(ascii: "\""))
            element.withUTF8 { bytes in
                if !bytes.contains(where: { $0 == 0x22 || $0 == 0x5C }) {
                    out.append(contentsOf: bytes)  // most elements: nothing to escape, appended whole
                    return
                }
                for byte in bytes {
                    if byte == 0x22 || byte == 0x5C { out.append(0x5C) }
                    out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

/// The rows a statement returned, as text values (PostgreSQL's text format).
public struct PostgresResult: Sendable {
    /// Column names in order.
    public var columns: [String]
    /// Row values; `nil` is SQL NULL.
    public var rows: [[String?]]
    /// For INSERT/UPDATE/DELETE: the number of rows affected.
    public var affectedRows: Int
}

/// Reads a result's rows by column name: each name's position is found once per result,
/// so that a statement's columns can be reordered or added to without breaking its reader.
public struct RowDecoder: Sendable {
    private let positions: [String: Int]

    public init(_ result: PostgresResult) {
        var positions: [String: Int] = [:]
        for (i, name) in result.columns.enumerated() where positions[name] == nil { positions[name] = i }
        self.positions = positions
    }

    /// The value of column `name` in `row`; nil for SQL NULL or a column the result lacks.
    public func text(_ row: [String?], _ name: String) -> String? { column(name).text(row) }

    /// Whether the result has a column of that name.
    public func has(_ name: String) -> Bool { positions[name] != nil }

    /// Column `name`, found once, to read from every row by position.
    public func column(_ name: String) -> ResultColumn { ResultColumn(position: positions[name]) }
}

/// A column of a result found once by name (``RowDecoder/column(_:)``), then read from each
/// row by position: decoding a claim of 250 rows by name hashed every name of every row.
public struct ResultColumn: Sendable {
    /// Its index in each row; nil when the result has no such column.
    public let position: Int?

    /// Its value in `row`; nil for SQL NULL or a column the result lacks.
    public func text(_ row: [String?]) -> String? {
        guard let position, position < row.count else { return nil }
        return row[position]
    }
}

/// One row of a result, read by column name (``PostgresResult/named``).
public struct NamedRow: Sendable {
    let decoder: RowDecoder
    let values: [String?]

    /// The value of column `name`; nil for SQL NULL or a column the result lacks.
    public subscript(_ name: String) -> String? { decoder.text(values, name) }
}

extension PostgresResult {
    /// The one value of a statement that returns a single column (`SELECT count(*)`,
    /// `RETURNING id`): the first row's; nil for no row or SQL NULL.
    public var scalar: String? { rows.first.flatMap { $0.first ?? nil } }

    /// The first column of every row read as a 64-bit integer (ids); NULL or other text skipped.
    public var ids: [Int64] { rows.compactMap { row in row.first.flatMap { $0 }.flatMap { Int64($0) } } }

    /// The rows, each read by column name: a statement's columns can be reordered or
    /// added without breaking what decodes them.
    public var named: [NamedRow] {
        let decoder = RowDecoder(self)
        return rows.map { NamedRow(decoder: decoder, values: $0) }
    }
}
