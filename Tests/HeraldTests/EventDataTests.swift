import Foundation
@testable import HeraldPipeline
import HeraldRender
import HeraldRows
import Testing

/// The event's data completed for templates by appending members (no rewrite) reads, as
/// `jsonb` reads it (of repeated keys the last wins), exactly as the data rewritten whole.
@Suite struct EventDataTests {
    static let datas = [
        "{}", "{ }", #"{"a": 1}"#, "{\"a\": 1}\n", #"{"client": null}"#, #"{"client": "Ana"}"#, #"{"client": []}"#, #"{"client": {}}"#,
        #"{"client": {"name": "Zoé"}}"#, #"{"client": {"name": null}}"#, #"{"client": {"name": "A", "phone": "+1", "email": "e@x"}}"#,
        #"{"event_at": null}"#, #"{"event_at": "x", "status": "s", "ends_at": 3}"#, #"{"n": 1.5, "big": 12345, "neg": -3, "e": 1e5, "t": true}"#,
        #"{"s": "quote \" backslash \\ slash / é 😀 tab \t nl \n", "k\"ey": "v"}"#, #"{"a": {"b": {"c": "}"}}, "z": "{"}"#,
        #"{"previous_status": "x", "previous_event_at": null, "client": {"email": "mine@x"}}"#, #"{"list": [{"client": 1}], "x": {}}"#,
        "[1, 2]", #""text""#, "42", "null", "not json", "",
    ]
    static let contacts: [EventContact?] = [
        nil, EventContact(id: "c1", name: "Ana"),
        EventContact(id: "c2", name: "Ana \"la\" \\ O'Neil\n\u{01}\u{1F}", email: "ana@example.com", phone: "+34600000000"),
        EventContact(id: "c3", phone: "+34600000001"),
    ]
    static let events: [EventRow] = [
        EventRow(id: 1, subjectType: "appointment", subjectID: "A-1", type: "created"),
        EventRow(id: 2, subjectType: "appointment", subjectID: "A-2", type: "status_changed", status: "con\"firmed\t",
                 previousStatus: "pending", startsAt: Date(timeIntervalSince1970: 1_778_407_200),
                 previousStartsAt: Date(timeIntervalSince1970: 1_778_400_000), endsAt: Date(timeIntervalSince1970: 1_778_410_800)),
    ]

    @Test func appendingReadsAsRewriting() throws {
        var appended = 0
        for text in Self.datas {
            for contact in Self.contacts {
                for var event in Self.events {
                    event.data = text
                    let new = EventPlan.templateData(event: event, contact: contact)
                    let old = EventPlan.rewrittenData(event: event, contact: contact)
                    let context = "\(text.debugDescription) \(String(describing: contact?.id)) \(event.id)"
                    #expect((new == nil) == (old == nil), "\(context): \(String(describing: new)) vs \(String(describing: old))")
                    guard let new, let old else { continue }
                    #expect(try JSONValue.parse(new) == JSONValue.parse(old), "\(context):\n\(new)\n\(old)")
                    if new.hasPrefix(text.trimmingCharacters(in: .whitespacesAndNewlines).dropLast()) { appended += 1 }
                }
            }
        }
        #expect(appended > 100)  // most took the appending path
    }

    @Test func aNullClientIsReplacedByTheContactsAndTheHostsValuesWin() throws {
        var event = EventRow(id: 3, subjectType: "appointment", subjectID: "A-3", type: "created", status: "booked",
                             startsAt: Date(timeIntervalSince1970: 1_778_407_200))
        event.data = #"{"client": null, "status": "mine"}"#
        let text = try #require(EventPlan.templateData(event: event, contact: EventContact(id: "c", name: "Ana")))
        #expect(text == #"{"client": null, "status": "mine", "client": {"name": "Ana"}, "event_at": "2026-05-10T10:00:00Z"}"#)
        guard case .object(let data) = try JSONValue.parse(text) else { Issue.record("not an object"); return }
        #expect(data["client"] == .object(["name": .string("Ana")]) && data["status"] == .string("mine"))
    }

    @Test func literalsEscapeWhatJSONRequires() throws {
        for text in ["", "plain", "quote \" and \\", "\u{00}\u{01}\u{1F} \n\r\t", "é 😀 \u{2028}", "/slash/"] {
            let literal = JSONValue.literal(text)
            if text.contains("\u{00}") {
                #expect(literal.contains("\\u0000"))  // written, and refused by jsonb as by Herald's parser
            } else {
                #expect(try JSONValue.parse("{\"k\": \(literal)}") == .object(["k": .string(text)]), "\(text.debugDescription)")
            }
            #expect(!literal.unicodeScalars.dropFirst().dropLast().contains { $0.value < 0x20 })
        }
        #expect(JSONValue.literal("a\u{01}b") == #""a\u0001b""#)
    }
}
