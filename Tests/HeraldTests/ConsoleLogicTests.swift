import Foundation
@testable import HeraldAdmin
import Testing

/// The console's pure parts: its words in three languages, the charts, where a browser may
/// be sent back to, cookies and CSRF tokens, passwords.
@Suite struct ConsoleLogicTests {
    /// Every text a page writes as `t("…")`, and every word it looks up from data.
    static func texts() throws -> Set<String> {
        let folder = repositoryRoot.appendingPathComponent("Sources/HeraldAdmin/Console")
        var found = Set(ConsoleText.words)
        let pattern = try NSRegularExpression(pattern: #"\bt\("((?:[^"\\]|\\.)*)""#)
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".swift") && !name.hasPrefix("ConsoleText+") {
            let source = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            for match in pattern.matches(in: source, range: NSRange(source.startIndex..., in: source)) {
                guard let range = Range(match.range(at: 1), in: source) else { continue }
                let text = String(source[range])
                if !text.hasSuffix(" ") { found.insert(text) }
            }
        }
        return found
    }

    static func blanks(_ text: String) -> [String] {
        text.matches(of: /\{[0-9]\}/).map { String($0.output) }.sorted()
    }

    @Test func everyTextHasItsSpanishAndFrenchWithTheSameBlanks() throws {
        let texts = try Self.texts()
        #expect(texts.count > 250, "the scan found the pages' texts")
        for (name, table) in [("Spanish", ConsoleText.spanish), ("French", ConsoleText.french)] {
            let missing = texts.subtracting(table.keys).sorted()
            #expect(missing.isEmpty, "\(name) lacks: \(missing)")
            for text in texts {
                guard let translated = table[text] else { continue }
                #expect(!translated.isEmpty && Self.blanks(translated) == Self.blanks(text), "\(name): \(text) → \(translated)")
            }
            let unused = Set(table.keys).subtracting(texts).sorted()
            #expect(unused.isEmpty, "\(name) has texts no page uses: \(unused)")
        }
        #expect(ConsoleText("es")("Messages") == "Mensajes" && ConsoleText("fr")("Rules") == "Règles")
        #expect(ConsoleText("en")("preference both") == "any channel they accepted" && ConsoleText("de")("Rules") == "Rules")
        #expect(ConsoleText("es")("Retry {0} messages?", "12") == "¿Reintentar 12 mensajes?")
    }

    @Test func theChartDrawsOneBarPerHourInProportionAndSaysItsTotals() throws {
        let bars = (0..<24).map { SVGChart.Bar(label: String(format: "%02d:00", $0), sent: $0 * 10, failed: $0 == 23 ? 10 : 0, undelivered: 0) }
        let svg = SVGChart.render(bars, id: "d", title: "Per hour", names: (sent: "sent", failed: "failed", undelivered: "undelivered"), every: 3)
        #expect(svg.components(separatedBy: "<g>").count - 1 == 24)
        #expect(svg.contains("role=\"img\"") && svg.contains("<title id=\"d-t\">Per hour</title>"))
        #expect(svg.contains("<desc id=\"d-d\">sent 2760, failed 10, undelivered 0</desc>"))
        #expect(svg.contains("<title>23:00: sent 230, failed 10, undelivered 0</title>"))
        #expect(!svg.contains("<script") && !svg.contains("href"))
        // The tallest bar (240) fills the plot (150 high); the one of 120 half of it.
        let heights = svg.matches(of: /height="([0-9.]+)" fill="#1a7f37"/).compactMap { Double($0.output.1) }
        #expect(heights.count == 23)
        #expect(abs((heights.last ?? 0) - 143.75) < 0.1 && abs(heights[11] - 150 * 120 / 240) < 0.1, "\(heights)")
        // Nothing to draw still draws an axis, and no division by zero.
        let empty = SVGChart.render([], id: "e", title: "t", names: (sent: "s", failed: "f", undelivered: "u"), every: 1)
        #expect(empty.contains("<line") && !empty.contains("nan") && !empty.contains("inf"))
        // Text from data is escaped.
        let hostile = SVGChart.render([.init(label: "<script>", sent: 1, failed: 0, undelivered: 0)], id: "x", title: "\"><svg onload=x>", names: (sent: "s", failed: "f", undelivered: "u"), every: 1)
        #expect(!hostile.contains("<script>") && !hostile.contains("\"><svg onload"))
    }

    @Test func aBrowserIsOnlySentBackWithinTheConsole() {
        for good in ["/console", "/console/rules", "/console/messages?status=failed&channel=sms"] { #expect(Console.safeReturn(good) == good) }
        for bad in [nil, "", "//evil.example", "https://evil.example/console", "/console/../api/v1/status", "/consolex", "/console//x", "/console\\x",
                    "/console/\r\nSet-Cookie: a=b", "/api/v1/status", String(repeating: "/console/a", count: 200)] {
            #expect(Console.safeReturn(bad) == "/console", "\(bad ?? "nil")")
        }
    }

    @Test func cookiesAndFormTokens() {
        let token = ConsoleTokens.generate()
        #expect(ConsoleTokens.wellFormed(token) && !ConsoleTokens.wellFormed("hs_xyz") && !ConsoleTokens.wellFormed(token.uppercased()))
        let csrf = ConsoleTokens.csrf(for: token)
        #expect(ConsoleTokens.csrfMatches(csrf, token: token))
        #expect(!ConsoleTokens.csrfMatches(csrf, token: ConsoleTokens.generate()) && !ConsoleTokens.csrfMatches(nil, token: token)
                && !ConsoleTokens.csrfMatches("", token: token) && !ConsoleTokens.csrfMatches(token, token: token))
        #expect(ConsoleTokens.cookie("herald_session", in: "a=1; herald_session=hs_1; b=2") == "hs_1")
        #expect(ConsoleTokens.cookie("herald_session", in: "xherald_session=1") == nil && ConsoleTokens.cookie("a", in: nil) == nil)
        let set = ConsoleTokens.setCookie("herald_session", token, secure: true, maxAge: 60)
        #expect(set == "herald_session=\(token); Path=/console; HttpOnly; SameSite=Strict; Max-Age=60; Secure")
    }

    @Test func passwordsAreCheckedAndHashedOneAtATimeOffThePool() async throws {
        #expect(PasswordHasher.problem("short") != nil && PasswordHasher.problem(String(repeating: "a", count: 73)) != nil)
        #expect(PasswordHasher.problem("with\u{0}nul-char") != nil && PasswordHasher.problem("correct horse") == nil)
        let hasher = PasswordHasher(cost: 4, maxWaiting: 2)
        let hash = await hasher.hash("correct horse")
        #expect(hash.hasPrefix("$2b$04$") || hash.hasPrefix("$2a$04$") || hash.hasPrefix("$2y$04$"))
        #expect(try await hasher.verify("correct horse", hash: hash))
        #expect(try await !hasher.verify("correct horsf", hash: hash))
        #expect(try await !hasher.verify("correct horse", hash: nil), "an unknown user")
        // bcrypt reads 72 bytes: a longer password that starts the same is not let in.
        let long = String(repeating: "b", count: 72)
        let longHash = await hasher.hash(long)
        #expect(try await !hasher.verify(long + "extra", hash: longHash))
        // More sign-ins than may wait: the rest are turned away at once, not queued.
        let slow = PasswordHasher(cost: 10, maxWaiting: 2)
        let slowHash = await slow.hash("x-password")
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<6 { group.addTask { (try? await slow.verify("x-password", hash: slowHash)) != nil } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count >= 2 && outcomes.contains(false), "\(outcomes)")
        #expect(slowHash.dropFirst(4).prefix(2) == "10")
    }
}
