/// The shell of the listener's pages for clients (unsubscribe, answers): one small HTML
/// document with its language, a title and readable styles inline; no script, no external
/// resources, usable without styles.
public struct HTMLPage: Sendable {
    static let contentType = "text/html; charset=utf-8"
    /// `es`, `fr` or `en`: the document's `lang`.
    let language: String
    let title: String

    /// The first of es, fr, en that `Accept-Language` asks for; English otherwise.
    public static func language(acceptLanguage: String?) -> String {
        for part in (acceptLanguage ?? "").lowercased().split(separator: ",") {
            let tag = part.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if let primary = supported(String(tag)) { return primary }
        }
        return "en"
    }

    /// The page language for a locale tag (`es-MX` → `es`); nil when Herald has no pages in it.
    static func supported(_ tag: String?) -> String? {
        guard let tag else { return nil }
        let primary = String(tag.lowercased().prefix(2))
        return ["es", "fr", "en"].contains(primary) && (tag.count == 2 || "-_".contains(tag[tag.index(tag.startIndex, offsetBy: 2)])) ? primary : nil
    }

    func document(_ body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="\(language)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">\
        <meta name="robots" content="noindex"><title>\(Self.escape(title))</title></head>
        <body style="font-family:Arial,Helvetica,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#222;background:#fff;line-height:1.5">
        <main>
        <h1 style="font-size:1.4rem">\(Self.escape(title))</h1>
        \(body)
        </main>
        </body></html>
        """
    }

    /// A button that submits a form (white on a dark colour: contrast above 4.5:1).
    static func button(_ label: String, name: String? = nil, value: String? = nil, colour: String) -> String {
        let field = name.map { " name=\"\($0)\" value=\"\(escape(value ?? ""))\"" } ?? ""
        return "<button type=\"submit\"\(field) style=\"font-size:1rem;padding:.6em 1.2em;margin:.3em .5em .3em 0;background:\(colour);"
            + "color:#fff;border:0;border-radius:4px;cursor:pointer\">\(escape(label))</button>"
    }

    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
