import Foundation
import HeraldPostgres
import Testing

/// Rows are read through typed accessors (issue 23); arrays and infinities come back as
/// PostgreSQL prints them.
@Suite struct TypedColumnsTests {
    @Test func arrayLiteralsParseAsPostgreSQLPrintsThem() {
        #expect(PostgresArray.parse("{}") == [])
        #expect(PostgresArray.parse("{sms,email}") == ["sms", "email"])
        #expect(PostgresArray.parse(#"{"a b","q\"x","back\\slash",NULL,"NULL",""}"#) == ["a b", "q\"x", "back\\slash", nil, "NULL", ""])
        #expect(PostgresArray.parse("[0:1]={x,y}") == ["x", "y"])
        for bad in ["", "sms", "{a", "{\"a}", "{{a},{b}}", "{a,\"b\"c}"] { #expect(PostgresArray.parse(bad) == nil, "\(bad)") }
        // Round trip with the encoder, any text.
        let texts = ["", "NULL", "a,b", "{x}", "\"", "\\", "é 😀", " lead", "trail "]
        #expect(PostgresArray.parse(PostgresArray(texts as [String?]).postgresText) == texts)
    }

    @Test func typedReadsOfARealRow() async throws {
        try await TestDatabase.with { db in
            let conn = try await db.connect()
            let result = try await conn.query("""
                SELECT true AS yes, false AS no, NULL::boolean AS unknown, 42 AS n, 9007199254740993::bigint AS big,
                       extract(epoch FROM 'infinity'::timestamptz)::float8 AS forever, 'NaN'::float8 AS nan,
                       extract(epoch FROM '2026-05-12 07:00Z'::timestamptz)::float8 AS at,
                       ARRAY['sms', 'a,b', NULL, 'q"x'] AS list, exists(SELECT 1) AS scalar_one
                """)
            await conn.close()
            let row = try #require(result.named.first)
            #expect(row.bool("yes") == true && row.bool("no") == false && row.bool("unknown") == nil && row.bool("absent") == nil)
            #expect(row.int("n") == 42 && row.int64("big") == 9_007_199_254_740_993 && row.int("yes") == nil)
            #expect(row.double("forever") == .infinity && row.double("nan") == nil)
            #expect(row.epoch("at") == Date(timeIntervalSince1970: 1_778_569_200))
            #expect(row.array("list") == ["sms", "a,b", "q\"x"])
        }
    }
}
