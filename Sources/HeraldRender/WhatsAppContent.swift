import Foundation
import HeraldCore

/// What WhatsApp accepts from a business, as pure rules: the variables of an approved
/// (Content) template, the length of free text, and the 24-hour window in which free text
/// may go at all.
public enum WhatsAppContent {
    /// WhatsApp's longest text message, in characters.
    public static let maximumCharacters = 4096
    /// How long after the client's last message free text may go.
    public static let window: Duration = .seconds(24 * 3600)

    /// The rendered variables as Twilio's `ContentVariables` (a JSON object of strings, keys
    /// sorted). WhatsApp refuses a variable that is empty, holds a line break or a tab, or
    /// more than four spaces in a row: line breaks and tabs become spaces, runs of spaces
    /// shrink to one, and an empty variable fails the message with its name.
    public static func variables(_ values: [(String, String)], template: String, locale: String) throws -> String {
        var object: [String: String] = [:]
        for (name, value) in values {
            let flat = value.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
            guard !flat.isEmpty else {
                throw RenderError.templateError("template \(template) (\(locale)) content variable \(name) renders empty, which WhatsApp refuses")
            }
            object[name] = flat
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]),
              let text = String(data: data, encoding: .utf8) else {
            throw RenderError.templateError("template \(template) (\(locale)) content variables cannot be written as JSON")
        }
        return text
    }

    /// Why free text cannot go to a client now, or nil when it can: free text (no Content
    /// SID) only within 24 hours of the client's last WhatsApp message (`windowUntil`).
    public static func outsideWindow(_ message: RenderedMessage, windowUntil: Date?, now: Date) -> String? {
        guard message.channel == .whatsapp, message.contentSID == nil else { return nil }
        if let windowUntil, windowUntil > now { return nil }
        let since = windowUntil.map { "the client last wrote at \(ISO8601.string($0.addingTimeInterval(-window.seconds)))" } ?? "the client has never written"
        return "outside WhatsApp's 24-hour window (\(since)) and template \(message.template) (\(message.locale)) has no WhatsApp Content SID: "
            + "WhatsApp takes free text only within 24 hours of the client's last message"
    }
}
