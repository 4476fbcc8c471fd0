import Foundation

/// Stacked bars of messages sent, failed and undelivered per hour, as inline SVG: no
/// script, no external file, readable by a screen reader (a title, a description that
/// gives the totals, and each bar's figures in its own title). Pure.
struct SVGChart: Sendable {
    struct Bar: Sendable, Equatable {
        var label: String
        var sent, failed, undelivered: Int
        var total: Int { sent + failed + undelivered }
    }

    static let width = 720.0, height = 180.0, axis = 40.0, bottom = 20.0
    static let colours = (sent: "#1a7f37", failed: "#b42318", undelivered: "#9a6700")

    /// The chart; `title` and the legend's words come already translated.
    static func render(_ bars: [Bar], id: String, title: String, names: (sent: String, failed: String, undelivered: String), every: Int) -> String {
        let top = max(1, bars.map(\.total).max() ?? 1)
        let plotWidth = width - axis, plotHeight = height - bottom - 10
        let slot = plotWidth / Double(max(1, bars.count))
        let barWidth = max(1, slot * 0.8)
        var shapes = ""
        for (i, bar) in bars.enumerated() {
            let x = axis + Double(i) * slot + (slot - barWidth) / 2
            var y = height - bottom
            shapes += "<g><title>\(ConsoleHTML.h(bar.label)): \(names.sent) \(bar.sent), \(names.failed) \(bar.failed), \(names.undelivered) \(bar.undelivered)</title>"
            for (value, colour) in [(bar.sent, colours.sent), (bar.failed, colours.failed), (bar.undelivered, colours.undelivered)] where value > 0 {
                let h = plotHeight * Double(value) / Double(top)
                y -= h
                shapes += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(barWidth))\" height=\"\(f(h))\" fill=\"\(colour)\"/>"
            }
            shapes += "</g>"
            if every > 0, i % every == 0 {
                shapes += "<text x=\"\(f(x))\" y=\"\(f(height - 5))\" font-size=\"10\" fill=\"#1f2328\">\(ConsoleHTML.h(bar.label))</text>"
            }
        }
        let totals = bars.reduce(into: (0, 0, 0)) { $0.0 += $1.sent; $0.1 += $1.failed; $0.2 += $1.undelivered }
        let description = "\(names.sent) \(totals.0), \(names.failed) \(totals.1), \(names.undelivered) \(totals.2)"
        return """
            <svg class="chart" role="img" viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" height="\(Int(height))" \
            xmlns="http://www.w3.org/2000/svg" aria-labelledby="\(id)-t \(id)-d">\
            <title id="\(id)-t">\(ConsoleHTML.h(title))</title><desc id="\(id)-d">\(ConsoleHTML.h(description))</desc>\
            <line x1="\(Int(axis))" y1="\(f(height - bottom))" x2="\(Int(width))" y2="\(f(height - bottom))" stroke="#57606a"/>\
            <text x="0" y="14" font-size="11" fill="#1f2328">\(top)</text><text x="0" y="\(f(height - bottom))" font-size="11" fill="#1f2328">0</text>\
            \(shapes)</svg>
            """
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
