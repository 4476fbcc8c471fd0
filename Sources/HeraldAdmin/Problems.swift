import Foundation
import HeraldAdminAPI
import HeraldHTTP
import HeraldOutbox
import HeraldPostgres
import Hummingbird

/// An error answered as RFC 9457 problem details.
public struct APIProblem: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var title: String
    public var detail: String?
    public var errors: [String]?

    public init(_ status: Int, _ title: String, detail: String? = nil, errors: [String]? = nil) {
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
    }

    public var description: String { "\(status) \(title)\(detail.map { ": \($0)" } ?? "")" }

    /// The `type` URI: `urn:herald:problem:<status>`.
    var schema: Components.Schemas.Problem {
        .init(_type: "urn:herald:problem:\(status)", title: title, status: status, detail: detail, errors: errors)
    }

    static func unauthorized(_ detail: String) -> APIProblem { .init(401, "Unauthorized", detail: detail) }
    static func forbidden(_ role: AdminRole, needs: AdminRole, kind: String = "token") -> APIProblem {
        .init(403, "Forbidden", detail: "this needs the \(needs.rawValue) role; the \(kind)'s is \(role.rawValue)")
    }
    static func notFound(_ what: String) -> APIProblem { .init(404, "Not Found", detail: "no \(what)") }
    static func badRequest(_ detail: String) -> APIProblem { .init(400, "Bad Request", detail: detail) }

    /// The problem an error thrown while serving becomes. Database errors raised by Herald's
    /// own functions (a retry refused) are the client's 409; a database that does not answer
    /// is 503; anything else is 500 with no detail (it is logged).
    static func from(_ error: any Error) -> APIProblem {
        switch error {
        case let problem as APIProblem: return problem
        case let error as AdminStoreError:
            switch error {
            case .duplicateName, .duplicateUser: return .init(409, "Conflict", detail: error.description)
            case .notFound: return .init(404, "Not Found", detail: error.description)
            case .invalid: return .init(422, "Unprocessable Content", detail: error.description)
            }
        case let error as EventStore.RuleEditError: return .init(422, "Unprocessable Content", detail: error.description)
        case let error as PostgresError where error.isConnectionLoss:
            return .init(503, "Service Unavailable", detail: "the database connection was lost; try again")
        case let error as PostgresError where error.sqlState == "P0001":
            return .init(409, "Conflict", detail: error.message)
        case let error as PostgresError where ["22", "23"].contains(error.sqlState.map { String($0.prefix(2)) } ?? ""):
            return .init(422, "Unprocessable Content", detail: error.message)
        case let error as ListenerDatabase.Unavailable: return .init(503, "Service Unavailable", detail: error.description)
        default: return .init(500, "Internal Server Error", detail: "the error is in Herald's log")
        }
    }

    /// As a Hummingbird response (for the middleware, outside the generated handlers).
    func response(headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/problem+json", .cacheControl: "no-store"]
        headers.append(contentsOf: extra)
        let data = (try? JSONEncoder().encode(schema)) ?? Data()
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
