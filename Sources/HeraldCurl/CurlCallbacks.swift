import CCurl
import Foundation

// The C callbacks a transfer hands to libcurl, and the objects they fill. Each runs on
// the session's own thread, inside `curl_easy_perform`.

let checkCancellation: herald_curl_progress_callback = { userdata, _, _, _, _ in
    guard let userdata else { return 0 }
    return Unmanaged<TransferCancellation>.fromOpaque(userdata).takeUnretainedValue().isCancelled ? 1 : 0
}

/// What ``guardedOpenSocket`` refused, if anything.
final class AddressGuard {
    var refused: String?
}

/// Opens the socket libcurl asks for unless the address is internal (``AddressPolicy``):
/// checked after name resolution, for every address tried.
let guardedOpenSocket: herald_curl_opensocket_callback = { userdata, _, address in
    guard let userdata, let address else { return CURL_SOCKET_BAD }
    let addressGuard = Unmanaged<AddressGuard>.fromOpaque(userdata).takeUnretainedValue()
    let family = address.pointee.family
    // The sockaddr is stored inline and may be longer than `struct sockaddr` (IPv6): read it in place.
    guard let offset = MemoryLayout<curl_sockaddr>.offset(of: \.addr) else { return CURL_SOCKET_BAD }
    let raw = UnsafeRawPointer(address).advanced(by: offset)
    var refused: String?
    if family == AF_INET {
        let a = UInt32(bigEndian: raw.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_addr.s_addr)
        if AddressPolicy.isInternal(ipv4: a) { refused = AddressPolicy.describe(ipv4: a) }
    } else if family == AF_INET6 {
        let bytes = withUnsafeBytes(of: raw.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_addr) { Array($0) }
        if AddressPolicy.isInternal(ipv6: bytes) { refused = AddressPolicy.describe(ipv6: bytes) }
    } else {
        refused = "an address of family \(family)"
    }
    if let refused {
        addressGuard.refused = refused
        return CURL_SOCKET_BAD
    }
    return socket(family, address.pointee.socktype, address.pointee.protocol)
}

/// The last refusal (4xx/5xx) an SMTP server sent, else its last reply line.
final class Replies {
    var refusal: String?
    var lastLine: String?
    var last: String? { refusal ?? lastLine }
}

let collectReply: herald_curl_debug_callback = { _, type, data, size, userdata in
    guard type == CURLINFO_HEADER_IN, let data, let userdata else { return 0 }
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    let replies = Unmanaged<Replies>.fromOpaque(userdata).takeUnretainedValue()
    if line.first == "4" || line.first == "5" { replies.refusal = line } else if !line.isEmpty { replies.lastLine = line }
    return 0
}

/// Where the callbacks put the response: at most ``HTTPResponse/maxBody`` bytes of body and
/// ``HTTPResponse/maxHeaders`` header lines, so an endpoint streaming gigabytes cannot
/// exhaust memory (past the limit the transfer stops).
final class Sink {
    var body = Data()
    var headers: [(name: String, value: String)] = []
    var overflow = false
}

let collectBody: herald_curl_data_callback = { data, size, count, userdata in
    guard let data, let userdata else { return 0 }
    let sink = Unmanaged<Sink>.fromOpaque(userdata).takeUnretainedValue()
    let room = HTTPResponse.maxBody - sink.body.count
    let n = size * count
    sink.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: min(n, room))
    if n > room {
        sink.overflow = true
        return 0  // stops the transfer (CURLE_WRITE_ERROR), handled in post()
    }
    return n
}

let collectHeader: herald_curl_data_callback = { data, size, count, userdata in
    guard let data, let userdata else { return 0 }
    let sink = Unmanaged<Sink>.fromOpaque(userdata).takeUnretainedValue()
    let n = size * count
    guard n <= HTTPResponse.maxHeaderLine else { return n }  // an absurd header line is skipped
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        sink.headers.removeAll()  // a new response (after a 100 Continue or a redirect)
    } else if sink.headers.count < HTTPResponse.maxHeaders, let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        sink.headers.append((name, value))
    }
    return size * count
}

