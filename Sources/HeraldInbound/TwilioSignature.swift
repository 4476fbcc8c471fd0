import Crypto
import Foundation

/// Twilio's request signature (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed with the
/// account's auth token, over the URL Twilio called followed by every POST parameter's
/// name and value, sorted by name, with no separators.
public enum TwilioSignature {
    /// The signature Twilio sends for `url` and `parameters`.
    public static func compute(url: String, parameters: [(String, String)], authToken: String) -> String {
        var data = url
        // Sorted by name as Twilio's own libraries do (by code point: UTF-8 byte order), then value.
        let sorted = parameters.sorted { a, b in
            a.0 == b.0 ? a.1.utf8.lexicographicallyPrecedes(b.1.utf8) : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
        }
        for (name, value) in sorted {
            data += name + value
        }
        let key = SymmetricKey(data: Data(authToken.utf8))
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(data.utf8), using: key)
        return Data(mac).base64EncodedString()
    }

    /// True when `signature` is the one for this request; compared in constant time.
    public static func isValid(_ signature: String?, url: String, parameters: [(String, String)], authToken: String) -> Bool {
        guard let signature, !signature.isEmpty, !authToken.isEmpty else { return false }
        return ConstantTime.equal(Array(compute(url: url, parameters: parameters, authToken: authToken).utf8), Array(signature.utf8))
    }
}
