import Foundation
import HeraldCore
import HeraldCurl

/// Where the Twilio driver keeps what Twilio Lookup said of each number (`herald.line_type`,
/// through the daemon's own connection): a number is looked up before its first SMS and
/// again once its answer is older than `lookup_max_age`.
public protocol LineTypeCache: Sendable {
    /// The line type recorded for `number` within `maxAge`, or nil.
    func cachedLineType(of number: String, maxAge: Duration) async throws -> String?
    /// Records an answer for `number`, found while sending message `messageID`; a landline
    /// becomes undeliverable for SMS for `maxAge`, anything else lifts a landline.
    func recordLineType(of number: String, type: String, carrier: String?, messageID: Int64, maxAge: Duration) async throws
}

/// Twilio Lookup v2 with line type intelligence: `GET {lookup_url}/v2/PhoneNumbers/{number}
/// ?Fields=line_type_intelligence`, HTTP Basic with the account's credentials. Pure.
public enum TwilioLookup {
    /// What a lookup said.
    public enum Answer: Sendable, Equatable {
        /// The line type (`mobile`, `landline`, `fixedVoip`, …) and carrier.
        case lineType(String, carrier: String?)
        /// No answer worth keeping (an error, no line type): the SMS goes as if not looked up.
        case unknown(String)
    }

    public static func url(base: String, number: String) -> String {
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        return "\(trimmed)/v2/PhoneNumbers/\(TwilioDriver.formEncode(number))?Fields=line_type_intelligence"
    }

    /// The answer in a response: a 200 with `line_type_intelligence.type`, or why there is none.
    public static func interpret(_ response: HTTPResponse) -> Answer {
        guard response.status == 200 else { return .unknown("Twilio Lookup answered \(response.status)") }
        guard let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] else {
            return .unknown("Twilio Lookup answered 200 without JSON")
        }
        let intelligence = json["line_type_intelligence"] as? [String: Any] ?? [:]
        guard let type = intelligence["type"] as? String, !type.isEmpty, type.count <= 40,
              type.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || $0 == "_") }) else {
            let code = (intelligence["error_code"] as? Int).map { " (error \($0))" } ?? ""
            return .unknown("Twilio Lookup gave no line type\(code)")
        }
        let carrier = (intelligence["carrier_name"] as? String).map { SafeText.clean($0, limit: 200) }.flatMap { $0.isEmpty ? nil : $0 }
        return .lineType(type, carrier: carrier)
    }

    /// A line type that cannot receive SMS.
    public static func isLandline(_ type: String) -> Bool { type == "landline" }
}
