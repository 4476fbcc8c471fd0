import Foundation
import HeraldRender
import Testing

/// Runs the independent Python counter (`Peers/sms_segments.py`, GSM 03.38 from the
/// `gsm0338` package) over `texts`.
func independentSegments(_ texts: [String]) async throws -> [(String, Int, Int)] {
    let data = try await runPeerScriptInBackground("sms_segments.py", input: try JSONEncoder().encode(texts))
    guard let rows = try JSONSerialization.jsonObject(with: data) as? [[Any]] else {
        throw TestSetupError("sms_segments.py printed no rows")
    }
    return rows.map { ($0[0] as? String ?? "", $0[1] as? Int ?? -1, $0[2] as? Int ?? -1) }
}

@Suite struct SMSSegmentTests {
    @Test(arguments: [
        ("", "GSM-7", 0, 1),
        ("Hola María, tu cita es el martes", "UCS-2", 32, 1),  // í is not GSM
        ("Hola Maria, tu cita es el martes", "GSM-7", 32, 1),
        ("Rendez-vous confirmé à 13:00 chez Zoë", "UCS-2", 37, 1),  // ë is not GSM
        ("Rendez-vous confirmé à 13:00", "GSM-7", 28, 1),  // é and à are
        ("Total: 12€ [x]", "GSM-7", 17, 1),  // € [ ] cost two septets each
        ("ç", "UCS-2", 1, 1),  // only Ç (capital) is in GSM 03.38
        ("Ç", "GSM-7", 1, 1),
        ("See you 👋", "UCS-2", 10, 1),  // the emoji is a surrogate pair: two units
        ("line\r\nbreak", "GSM-7", 11, 1),
        ("tab\there", "UCS-2", 8, 1),  // TAB is not in the GSM alphabet
        ("Total: 12 [x]", "GSM-7", 15, 1),  // all ASCII (the byte path): [ ] two septets each
        ("a^b{c}d\\e~f|g\u{0C}", "GSM-7", 21, 1),  // every ASCII extension character
        ("`quoted`", "UCS-2", 8, 1),  // the backtick is ASCII but not GSM
    ])
    func encodingAndUnits(text: String, encoding: String, units: Int, count: Int) {
        let s = SMSSegments(text)
        #expect(s.encoding.rawValue == encoding)
        #expect(s.units == units)
        #expect(s.count == count)
    }

    @Test(arguments: [
        (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4),
    ])
    func gsmBoundaries(length: Int, segments: Int) {
        #expect(SMSSegments(String(repeating: "a", count: length)).count == segments)
    }

    @Test(arguments: [
        (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4),
    ])
    func ucs2Boundaries(length: Int, segments: Int) {
        #expect(SMSSegments(String(repeating: "á", count: length)).count == segments)
    }

    @Test func extensionPairIsNotSplitAcrossSegments() {
        // 152 plain septets then €: 154 septets in all, but € would straddle the first 153-septet
        // segment, so it moves to the second; 152 + 2 + 152 = 306 fits two segments only if unsplit.
        let text = String(repeating: "a", count: 152) + "€" + String(repeating: "a", count: 152)
        let s = SMSSegments(text)
        #expect(s.units == 306)
        #expect(s.count == 3)
        #expect(SMSSegments(String(repeating: "a", count: 151) + "€" + String(repeating: "a", count: 153)).count == 2)
    }

    @Test func anASCIIExtensionPairIsNotSplitEither() {
        // The byte path's packing: the same boundaries with "[" (ASCII) in place of "€".
        let text = String(repeating: "a", count: 152) + "[" + String(repeating: "a", count: 152)
        #expect(SMSSegments(text).units == 306)
        #expect(SMSSegments(text).count == 3)
        #expect(SMSSegments(String(repeating: "a", count: 151) + "[" + String(repeating: "a", count: 153)).count == 2)
        #expect(SMSSegments(String(repeating: "{", count: 80)).count == 1)
        #expect(SMSSegments(String(repeating: "{", count: 81)).count == 2)
    }

    @Test func surrogatePairIsNotSplitAcrossSegments() {
        let text = String(repeating: "á", count: 66) + "😀" + String(repeating: "á", count: 66)
        let s = SMSSegments(text)
        #expect(s.units == 134)
        #expect(s.count == 3)
    }

    @Test func descriptionNamesTheCharactersThatForcedUCS2() {
        let s = SMSSegments("Cita en Peluquería Sol 🙂")
        #expect(s.nonGSM.map(String.init) == ["í", "🙂"])
        #expect(s.description.contains("\"í\" U+ED"))
        #expect(s.description.hasPrefix("1 segment (UCS-2"))
    }

    @Test func agreesWithAnIndependentGSM0338Implementation() async throws {
        let alphabet: [Character] = Array("aZ09 .,:;!?@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡ÄÖÑÜ§¿äöñüà\n\r€[]{}\\^~|\u{0C}") + ["á", "ç", "ê", "😀", "👍🏽", "’", "\u{202F}", "ß"]
        var texts: [String] = ["", "€", String(repeating: "€", count: 80), String(repeating: "€", count: 81),
                               String(repeating: "😀", count: 35), String(repeating: "😀", count: 36)]
        var rng = SystemRandomNumberGenerator()
        let extensions: [Character] = Array("€[]{}\\^~|")
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...480, using: &rng)
            let gsmOnly = Bool.random(using: &rng)
            let pool = gsmOnly ? Array(alphabet.prefix(alphabet.count - 8)) : alphabet
            let weighted = Int.random(in: 0...10, using: &rng)  // sometimes dense in extension characters
            texts.append(String((0..<length).map { _ -> Character in
                (weighted == 0 ? extensions : pool).randomElement(using: &rng)!
            }))
        }
        // All-ASCII texts (the byte path): GSM ones, dense in extension characters, and with
        // an ASCII character outside GSM 03.38 (` forces UCS-2).
        let ascii: [Character] = (0x20..<0x7F).map { Character(Unicode.Scalar(UInt8($0))) } + ["\n", "\r", "\u{0C}"]
        for _ in 0..<1_000 {
            let length = Int.random(in: 0...480, using: &rng)
            let pool = Bool.random(using: &rng) ? ascii.filter { $0 != "`" } : ascii
            let weighted = Int.random(in: 0...5, using: &rng)
            texts.append(String((0..<length).map { _ -> Character in
                (weighted == 0 ? Array("[]{}\\^~|") : pool).randomElement(using: &rng)!
            }))
        }
        let expected = try await independentSegments(texts)
        var mismatches: [String] = []
        for (text, (encoding, units, count)) in zip(texts, expected) {
            let s = SMSSegments(text)
            if s.encoding.rawValue != encoding || s.units != units || s.count != count {
                mismatches.append("\(text.debugDescription): ours \(s.encoding.rawValue)/\(s.units)/\(s.count), independent \(encoding)/\(units)/\(count)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5).joined(separator: "\n"))")
        #expect(expected.count == texts.count)
    }

    @Test func everyBasicAndExtensionCharacterIsCountedAsTheIndependentCodecDoes() async throws {
        // All of Latin-1 and a few more: each character alone, and 161 of it.
        let scalars = (0x20...0x17F).compactMap(Unicode.Scalar.init) + [Unicode.Scalar(0x0A)!, Unicode.Scalar(0x0C)!, Unicode.Scalar(0x0D)!]
            + (0x391...0x3A9).compactMap(Unicode.Scalar.init) + [Unicode.Scalar(0x20AC)!]
        let texts = scalars.flatMap { [String(Character($0)), String(repeating: String(Character($0)), count: 161)] }
        let expected = try await independentSegments(texts)
        for (text, (encoding, units, count)) in zip(texts, expected) {
            let s = SMSSegments(text)
            #expect(s.encoding.rawValue == encoding && s.units == units && s.count == count,
                    "\(text.prefix(1).debugDescription) x\(text.count)")
        }
    }
}
