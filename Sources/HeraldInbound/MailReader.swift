import Foundation
import HeraldCore

/// A small MIME reader (RFC 5322 headers, RFC 2045/2046 bodies), enough for the reports mail
/// systems send back: `multipart/report` with its parts, base64 and quoted-printable bodies,
/// and blocks of header fields (`message/delivery-status`, `message/feedback-report`).
/// No I/O; every limit is fixed so that no input can make it loop, recurse or allocate
/// without bound, and anything malformed reads as less, never as a failure.
public enum MailReader {
    /// Most bytes read of a message (the rest is ignored: reports put what matters first).
    public static let maxBytes = 4 << 20
    /// Most parts read, all levels together, and deepest nesting.
    static let maxParts = 64
    static let maxDepth = 6
    /// Most header fields read per header block, and bytes kept of one field's value.
    static let maxFields = 512
    static let maxValueBytes = 4_096

    /// A message or one of its parts.
    public struct Part: Sendable {
        /// Header fields in order, names as written; values unfolded, decoded as UTF-8 (with
        /// replacement) and cleaned of control characters.
        public var fields: [(name: String, value: String)]
        /// The body after its transfer encoding is undone (leaf parts), or as written.
        public var body: [UInt8]
        /// The parts of a `multipart/*` body, read; empty otherwise.
        public var parts: [Part]

        /// The first field called `name` (any case).
        public func field(_ name: String) -> String? {
            fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }

        /// `Content-Type`, `text/plain` when absent or unreadable (RFC 2045's default).
        public var contentType: ContentType { ContentType(field("Content-Type") ?? "") }

        /// This part and every part inside it, depth first.
        public var allParts: [Part] { [self] + parts.flatMap { $0.allParts } }
    }

    /// A `Content-Type` value: `type/subtype` lower-cased and its parameters (names lower-cased).
    public struct ContentType: Sendable, Equatable {
        public var type: String
        public var subtype: String
        public var parameters: [String: String]

        public var mediaType: String { type + "/" + subtype }

        public init(_ value: String) {
            let pieces = MailReader.splitParameters(value)
            let media = (pieces.first ?? "").lowercased().split(separator: "/", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if media.count == 2, !media[0].isEmpty, !media[1].isEmpty {
                type = media[0]
                subtype = media[1]
            } else {
                type = "text"
                subtype = "plain"
            }
            var parameters: [String: String] = [:]
            for piece in pieces.dropFirst() {
                guard let eq = piece.firstIndex(of: "=") else { continue }
                let name = piece[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
                var value = piece[piece.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                    value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
                }
                if !name.isEmpty, parameters[name] == nil { parameters[name] = value }
            }
            self.parameters = parameters
        }
    }

    /// Reads a whole message (at most ``maxBytes``).
    public static func read(_ bytes: [UInt8]) -> Part {
        var budget = maxParts
        return part(ArraySlice(bytes.prefix(maxBytes)), depth: 0, budget: &budget)
    }

    /// Blocks of header fields separated by blank lines (the body of `message/delivery-status`:
    /// the per-message block, then one per recipient).
    public static func fieldBlocks(_ bytes: [UInt8]) -> [[(name: String, value: String)]] {
        var blocks: [[(name: String, value: String)]] = []
        var rest = ArraySlice(bytes.prefix(maxBytes))
        while !rest.isEmpty, blocks.count < maxParts {
            let (fields, after) = header(rest)
            if !fields.isEmpty { blocks.append(fields) }
            if after.startIndex == rest.startIndex { break }
            rest = after
        }
        return blocks
    }

    // MARK: Parts

    private static func part(_ bytes: ArraySlice<UInt8>, depth: Int, budget: inout Int) -> Part {
        budget -= 1
        let (fields, body) = header(bytes)
        var result = Part(fields: fields, body: Array(body), parts: [])
        let type = result.contentType
        if type.type == "multipart", depth < maxDepth, budget > 0,
           let boundary = type.parameters["boundary"], (1...200).contains(boundary.utf8.count) {
            for piece in split(body, boundary: Array(boundary.utf8)) {
                guard budget > 0 else { break }
                result.parts.append(part(piece, depth: depth + 1, budget: &budget))
            }
            return result
        }
        if type.mediaType == "message/rfc822", depth < maxDepth, budget > 0 {
            result.parts.append(part(body, depth: depth + 1, budget: &budget))
            return result
        }
        switch result.field("Content-Transfer-Encoding")?.lowercased().trimmingCharacters(in: .whitespaces) {
        case "base64": result.body = base64(body)
        case "quoted-printable": result.body = quotedPrintable(body)
        default: break
        }
        return result
    }

    /// The parts between `--boundary` lines, up to `--boundary--`.
    static func split(_ body: ArraySlice<UInt8>, boundary: [UInt8]) -> [ArraySlice<UInt8>] {
        let delimiter = Array("--".utf8) + boundary
        var pieces: [ArraySlice<UInt8>] = []
        var start: Int?
        for line in lines(body) {
            let text = trimmingTrailingSpace(line.content)
            if text.count >= delimiter.count, text.prefix(delimiter.count).elementsEqual(delimiter) {
                let tail = text.dropFirst(delimiter.count)
                let closing = tail.elementsEqual("--".utf8)
                guard tail.isEmpty || closing else { continue }
                if let start {
                    // The line break before the delimiter belongs to the delimiter.
                    var end = line.start
                    if end > start, body[end - 1] == 0x0A { end -= 1 }
                    if end > start, body[end - 1] == 0x0D { end -= 1 }
                    pieces.append(body[start..<end])
                }
                if closing || pieces.count >= maxParts { return pieces }
                start = line.next
            }
        }
        return pieces
    }

    // MARK: Headers

    /// The header fields at the start of `bytes` and the body after the blank line.
    static func header(_ bytes: ArraySlice<UInt8>) -> ([(name: String, value: String)], ArraySlice<UInt8>) {
        var fields: [(name: String, value: String)] = []
        var current: (name: String, value: [UInt8])?
        func finish() {
            guard let c = current else { return }
            current = nil
            guard fields.count < maxFields else { return }
            let value = SafeText.decode(c.value, limit: maxValueBytes).replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
            fields.append((c.name, value.trimmingCharacters(in: .whitespaces)))
        }
        for line in lines(bytes) {
            let content = line.content
            if trimmingTrailingSpace(content).isEmpty {
                // A blank line ends the header; leading blank lines before any field are skipped.
                if current == nil && fields.isEmpty { continue }
                finish()
                return (fields, bytes[line.next...])
            }
            if let first = content.first, first == 0x20 || first == 0x09 {
                if var c = current, c.value.count < maxValueBytes {
                    current = nil  // the array is appended in place, not copied per line
                    c.value += [0x20] + content.drop(while: { $0 == 0x20 || $0 == 0x09 })
                    current = c
                }
                continue
            }
            finish()
            guard let colon = content.firstIndex(of: 0x3A), colon > content.startIndex else { continue }
            let name = String(decoding: content[..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.utf8.count <= 100, name.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else { continue }
            current = (name, Array(content[(colon + 1)...].prefix(maxValueBytes)))
        }
        finish()
        return (fields, bytes[bytes.endIndex...])
    }

    /// `value; a=b; c="d;e"` split at the semicolons outside quotes.
    static func splitParameters(_ value: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in value.prefix(maxValueBytes) {
            if escaped { current.append(character); escaped = false; continue }
            if character == "\\" && quoted { current.append(character); escaped = true; continue }
            if character == "\"" { quoted.toggle() }
            if character == ";" && !quoted {
                pieces.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            } else {
                current.append(character)
            }
        }
        pieces.append(current.trimmingCharacters(in: .whitespaces))
        return pieces
    }

    // MARK: Lines and encodings

    struct Line {
        var start: Int
        var content: ArraySlice<UInt8>
        var next: Int
    }

    /// The lines of `bytes`, ending in LF or CRLF (the CR is not part of the content), read
    /// as they are asked for.
    struct Lines: Sequence, IteratorProtocol {
        let bytes: ArraySlice<UInt8>
        var start: Int

        mutating func next() -> Line? {
            guard start < bytes.endIndex else { return nil }
            let newline = bytes[start...].firstIndex(of: 0x0A)
            var end = newline ?? bytes.endIndex
            let next = newline.map { $0 + 1 } ?? bytes.endIndex
            if end > start, bytes[end - 1] == 0x0D { end -= 1 }
            defer { start = next }
            return Line(start: start, content: bytes[start..<end], next: next)
        }
    }

    static func lines(_ bytes: ArraySlice<UInt8>) -> Lines { Lines(bytes: bytes, start: bytes.startIndex) }

    static func trimmingTrailingSpace(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var end = bytes.endIndex
        while end > bytes.startIndex, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 || bytes[end - 1] == 0x0D { end -= 1 }
        return bytes[bytes.startIndex..<end]
    }

    /// Base64 with anything outside its alphabet skipped; a broken tail is dropped.
    static func base64(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        func value(_ c: UInt8) -> UInt32? {
            switch c {
            case 0x41...0x5A: return UInt32(c - 0x41)
            case 0x61...0x7A: return UInt32(c - 0x61 + 26)
            case 0x30...0x39: return UInt32(c - 0x30 + 52)
            case 0x2B: return 62
            case 0x2F: return 63
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for c in bytes {
            if c == 0x3D { break }
            guard let v = value(c) else { continue }
            accumulator = (accumulator << 6 | v) & 0xFFFFFF
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((accumulator >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }

    /// Quoted-printable: `=XX` decoded, soft line breaks (`=` at the end of a line) removed.
    static func quotedPrintable(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == 0x3D {
                let rest = bytes[(i + 1)...]
                if let a = rest.first, let b = rest.dropFirst().first, let high = hex(a), let low = hex(b) {
                    out.append(high << 4 | low)
                    i += 3
                    continue
                }
                // A soft line break: `=`, optional spaces, then CRLF or LF.
                var j = i + 1
                while j < bytes.endIndex, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
                if j < bytes.endIndex, bytes[j] == 0x0D { j += 1 }
                if j < bytes.endIndex, bytes[j] == 0x0A { i = j + 1; continue }
                if j == bytes.endIndex { break }
            }
            out.append(c)
            i += 1
        }
        return out
    }
}
