import Foundation
import HeraldPostgres
import HeraldRender
import Testing

/// `JSONValue.parse` (a hand-written parser, on every message's data) agrees with
/// Foundation's `JSONDecoder` reading the same text through `JSONValue: Decodable`.
@Suite struct JSONParseTests {
    /// SplitMix64: reproducible random choices.
    struct Random: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let pieces = ["a", "é", "ñ", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "€", "😀", "日本", "\u{7f}", "x y", ""]

    /// Random JSON text, with random spacing and random choices of escapes.
    static func text(_ r: inout Random, depth: Int = 0) -> String {
        func space() -> String { ["", "", " ", "\n  ", "\t"].randomElement(using: &r)! }
        func string() -> String { quoted().text }
        /// A string literal and the string it stands for.
        func quoted() -> (text: String, value: String) {
            var out = "\""
            var value = ""
            for _ in 0..<Int.random(in: 0...4, using: &r) {
                let piece = pieces.randomElement(using: &r)!
                value += piece
                for scalar in piece.unicodeScalars {
                    let escape = Bool.random(using: &r)
                    switch scalar {
                    case "\"": out += "\\\""
                    case "\\": out += "\\\\"
                    case "\n": out += escape ? "\\n" : "\\u000a"
                    case "\t": out += escape ? "\\t" : "\\u0009"
                    case "\u{1}": out += "\\u0001"
                    case "/": out += escape ? "\\/" : "/"
                    default:
                        if escape && scalar.value > 0xFFFF {
                            let v = scalar.value - 0x10000
                            out += String(format: "\\u%04x\\u%04X", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
                        } else if escape {
                            out += String(format: "\\u%04x", scalar.value)
                        } else {
                            out.unicodeScalars.append(scalar)
                        }
                    }
                }
            }
            return (out + "\"", value)
        }
        let kind = depth > 3 ? Int.random(in: 0...5, using: &r) : Int.random(in: 0...7, using: &r)
        switch kind {
        case 0: return "null"
        case 1: return Bool.random(using: &r) ? "true" : "false"
        case 2: return String(Int64.random(in: Int64.min...Int64.max, using: &r) >> UInt64.random(in: 0...63, using: &r))
        case 3: return ["0", "-0", "1.5", "-2.25e3", "1E-7", "3.0", "1e2", "123456789012345678901234", "0.1", "-1.0e+1"].randomElement(using: &r)!
        case 4, 5: return string()
        case 6:
            let items = (0..<Int.random(in: 0...4, using: &r)).map { _ in space() + text(&r, depth: depth + 1) + space() }
            return "[" + items.joined(separator: ",") + (items.isEmpty ? space() : "") + "]"
        default:
            // Keys are unique: of repeated keys JSONDecoder keeps the first, PostgreSQL's jsonb
            // (where message data comes from) and this parser the last.
            var keys: Set<String> = []
            let items = (0..<Int.random(in: 0...4, using: &r)).map { i in
                var (key, value) = quoted()
                if !keys.insert(value).inserted { key = "\"k\(i)\""; keys.insert("k\(i)") }
                return space() + key + space() + ":" + space() + text(&r, depth: depth + 1) + space()
            }
            return "{" + items.joined(separator: ",") + "}"
        }
    }

    static func foundation(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test func parsesWhatJSONDecoderParsesToTheSameValue() throws {
        var r = Random(state: 20261122)
        for _ in 0..<3000 {
            let text = " " + Self.text(&r) + "\n"
            let expected = try #require(Self.foundation(text), "JSONDecoder rejects the generator's \(text)")
            #expect(try JSONValue.parse(text) == expected, "\(text)")
        }
    }

    /// Damaged documents (a character dropped, doubled or replaced) are accepted or
    /// rejected as PostgreSQL's jsonb input accepts or rejects them (message data is
    /// jsonb; JSONDecoder is laxer: it takes a trailing comma in an object).
    @Test func acceptsAndRejectsWhatPostgreSQLDoes() async throws {
        var r = Random(state: 7)
        let noise: [Character] = [",", "}", "]", "\"", "\\", ":", "0", "-", ".", "e", " ", "x", "{", "["]
        var texts: [String] = []
        for _ in 0..<4000 {
            var chars = Array(Self.text(&r))
            guard !chars.isEmpty else { continue }
            let i = Int.random(in: 0..<chars.count, using: &r)
            switch Int.random(in: 0...2, using: &r) {
            case 0: chars.remove(at: i)
            case 1: chars.insert(chars[i], at: i)
            default: chars[i] = noise.randomElement(using: &r)!
            }
            texts.append(String(chars))
        }
        try await TestDatabase.with(migrated: false) { db in
            try await db.execute("""
                CREATE FUNCTION valid_jsonb(t text) RETURNS boolean LANGUAGE plpgsql AS $$
                BEGIN PERFORM t::jsonb; RETURN true; EXCEPTION WHEN others THEN RETURN false; END $$
                """)
            let verdicts = try await db.query("SELECT valid_jsonb(t) FROM unnest($1::text[]) WITH ORDINALITY AS x(t, n) ORDER BY n",
                                              [PostgresArray(texts)]).rows.map { $0[0] == "t" }
            #expect(verdicts.count == texts.count)
            var rejected = 0
            for (text, valid) in zip(texts, verdicts) {
                var ours = true
                do { _ = try JSONValue.parse(text) } catch let error as JSONParseError {
                    ours = false
                    // numeric takes 1e468; a Double cannot, and it is refused (data is no place for it)
                    if error.reason == "number out of range" { continue }
                }
                #expect(ours == valid, "\(text)")
                if !ours { rejected += 1 }
            }
            #expect(rejected > 1000)  // the damage does produce invalid documents
        }
    }

    @Test func rejectsWithTheReasonAndOffset() {
        let cases: [(String, String)] = [
            ("", "unexpected end of text"),
            ("{\"a\": 1,}", "expected a member name in quotes"),
            ("[1, 2,]", "unexpected character"),
            ("01", "leading zero in a number"),
            ("{'a': 1}", "expected a member name in quotes"),
            ("\"abc", "unterminated string"),
            ("\"a\u{1}b\"", "control character in a string"),
            ("\"\\ud800\"", "unpaired surrogate in \\u escape"),
            ("\"\\udc00x\"", "unpaired surrogate in \\u escape"),
            ("\"\\q\"", "invalid escape"),
            ("\"a\\u0000\"", "\\u0000 is not allowed (PostgreSQL text cannot hold it)"),
            ("{} {}", "unexpected text after the value"),
            ("NaN", "unexpected character"),
            ("1.", "expected a digit after '.'"),
            ("1e", "expected a digit in the exponent"),
            ("1e999", "number out of range"),
            ("tru", "unexpected end of text"),
            (String(repeating: "[", count: 600), "nested deeper than 512"),
        ]
        for (text, reason) in cases {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parse(text) }
            do {
                _ = try JSONValue.parse(text)
            } catch let error as JSONParseError {
                #expect(error.reason == reason, "\(text): \(error)")
            } catch {
                Issue.record("\(text): \(error)")
            }
        }
        #expect("\(JSONParseError(reason: "expected ':'", offset: 4))" == "invalid JSON at byte 4: expected ':'")
    }

    @Test func numbersKeepTheirKind() throws {
        #expect(try JSONValue.parse("42") == .integer(42))
        #expect(try JSONValue.parse("-9223372036854775808") == .integer(.min))
        #expect(try JSONValue.parse("3.0") == .integer(3))
        #expect(try JSONValue.parse("2.5") == .number(2.5))
        #expect(try JSONValue.parse("9223372036854775808") == .number(9_223_372_036_854_775_808))
        #expect(try JSONValue.parse("{\"a\": 1, \"a\": 2}") == .object(["a": .integer(2)]))
        #expect(try JSONValue.parse("\"\\ud83d\\ude00 \\u00e9\"") == .string("😀 é"))
    }
}
