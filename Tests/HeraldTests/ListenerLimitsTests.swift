import Foundation
import HeraldConfig
import HeraldCore
@testable import HeraldHTTP
import HeraldInbound
import HeraldOutbox
import Prometheus
import Synchronization
import Testing

/// Issue 28: slow clients, a flood of scrapes and a silent database cannot stall the
/// listener's signed replies.
@Suite struct ListenerLimitsTests {
    struct SlowJob: Encodable { let port: Int, count: Int, every: Double, limit: Double }

    /// Twenty clients trickle a request body a byte at a time (never idle): each is cut off
    /// after `request_timeout`, while signed replies are answered all along.
    @Test func tricklingClientsAreCutOffWhileSignedRepliesFlow() async throws {
        try await TestDatabase.with { db in
            let registry = PrometheusCollectorRegistry()
            // A byte every 0.3 s against a 2 s idle timeout: only a stall of 1.7 s would let the
            // idle timeout, not the request timeout, close a client (1 s left 0.7 s).
            try await withListener(db, registry: registry, configure: {
                $0.idleTimeout = .seconds(2)
                $0.requestTimeout = .seconds(4)
                $0.maxConnections = 64
            }) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                let job = try JSONEncoder().encode(SlowJob(port: peer.port, count: 20, every: 0.3, limit: 20))
                let slow = Task { try await runPeerScriptInBackground("slow_clients.py", input: job) }
                try await Task.sleep(for: .milliseconds(300))
                let replies = try await peer.send((0..<20).map { TwilioPeer.sms("SMQ\($0)", from: "+3460000\(1000 + $0)", "hola") },
                                                  concurrency: 4)
                #expect(replies.allSatisfy { $0.status == 200 }, "\(replies.map(\.status))")
                // Without the deadline each client would still be open when it gives up (20 s: nil).
                // No upper bound tighter than that: a loaded CI machine can pause the process for
                // seconds, and the counter below says which timeout closed them.
                let closedAfter = try JSONDecoder().decode([Double?].self, from: try await slow.value)
                #expect(closedAfter.allSatisfy { $0 != nil && $0! >= 3.5 }, "closed after (s): \(closedAfter)")
                #expect(registry.emitToString().contains(#"herald_http_requests_total{endpoint="connection",result="request_timeout"} 20"#))
            }
        }
    }

    /// Twenty half-open connections (headers and part of a body, then nothing) are closed
    /// after the idle timeout, while signed replies are answered.
    @Test func halfOpenConnectionsAreClosedAfterTheIdleTimeout() async throws {
        try await TestDatabase.with { db in
            try await withListener(db, configure: {
                $0.idleTimeout = .seconds(1)
                $0.requestTimeout = .seconds(120)
            }) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                // Nothing more is sent for 30 s and the clients give up at 20 s: only the idle
                // timeout can end these connections in time (the request timeout is 120 s).
                let job = try JSONEncoder().encode(SlowJob(port: peer.port, count: 20, every: 30, limit: 20))
                let silent = Task { try await runPeerScriptInBackground("slow_clients.py", input: job) }
                try await Task.sleep(for: .milliseconds(300))
                let replies = try await peer.send((0..<10).map { TwilioPeer.sms("SMH\($0)", from: "+3460000\(3000 + $0)", "hola") },
                                                  concurrency: 2)
                #expect(replies.allSatisfy { $0.status == 200 }, "\(replies.map(\.status))")
                let closedAfter = try JSONDecoder().decode([Double?].self, from: try await silent.value)
                #expect(closedAfter.allSatisfy { $0 != nil }, "closed after (s): \(closedAfter)")
            }
        }
    }

    /// At `max_connections`, a new connection waits in the backlog until one closes; it is
    /// then served.
    @Test func pastTheConnectionLimitNewConnectionsWaitTheirTurn() async throws {
        try await TestDatabase.with { db in
            try await withListener(db, configure: {
                $0.requestTimeout = .seconds(2)
                $0.maxConnections = 3
            }) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                let job = try JSONEncoder().encode(SlowJob(port: peer.port, count: 3, every: 0.3, limit: 20))
                let started = ContinuousClock.now
                let slow = Task { try await runPeerScriptInBackground("slow_clients.py", input: job) }
                try await Task.sleep(for: .milliseconds(500))
                let reply = try await peer.send([TwilioPeer.sms("SMW1", from: "+34600001999", "hola")], timeout: 15).first
                #expect(reply?.status == 200)
                // It could only be read once the slow clients were cut off (request_timeout, 2 s).
                #expect(ContinuousClock.now - started >= .milliseconds(1500), "served while three connections were open")
                let closedAfter = try JSONDecoder().decode([Double?].self, from: try await slow.value)
                #expect(closedAfter.allSatisfy { $0 != nil }, "\(closedAfter)")
                #expect(try await db.scalar("SELECT count(*) FROM herald.inbound") == "1")
            }
        }
    }

    /// The database goes silent (a proxy swallows every byte): each reply gets 503 within a
    /// few seconds, well inside Twilio's 15 s, and replies are stored again once it answers.
    @Test func aSilentDatabaseGets503WithinSecondsAndRecovers() async throws {
        try await TestDatabase.with { db in
            let server = try #require(URLComponents(string: db.url)?.port)
            let proxy = try await Peer.start("tcp_proxy.py", arguments: [String(server)])
            var components = try #require(URLComponents(string: db.daemonURL))
            components.port = proxy.port
            components.queryItems = [URLQueryItem(name: "connect_timeout", value: "2")]
            guard let proxiedURL = components.url?.absoluteString else {
                Issue.record("no URL from \(components)")
                return
            }
            try await withListener(db, databaseURL: proxiedURL, configure: {
                $0.databaseTimeout = .seconds(2)
            }) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                #expect(try await peer.send(TwilioPeer.sms("SMS0", from: "+34600002000", "hola")).status == 200)
                #expect(FileManager.default.createFile(atPath: proxy.file("blackhole").path, contents: nil))
                for i in 1...6 {
                    let reply = try await peer.send([TwilioPeer.sms("SMS\(i)", from: "+34600002000", "hola \(i)")], timeout: 30).first
                    #expect(reply?.status == 503, "reply \(i): \(String(describing: reply?.status))")
                    // The 2 s database timeout, timed around the request (not the client's
                    // start-up); well inside the 15 s Twilio waits.
                    #expect((reply?.seconds ?? 99) < 8, "reply \(i) took \(reply?.seconds ?? -1) s")
                }
                try FileManager.default.removeItem(at: proxy.file("blackhole"))
                #expect(try await db.waitUntil(timeout: .seconds(30)) {
                    try await peer.send(TwilioPeer.sms("SMS9", from: "+34600002000", "back")).status == 200
                })
            }
        }
    }

    /// `/metrics` is for the configured addresses or the token holder; the outbox's gauges
    /// are read at most every `metrics_refresh`, however many scrape at once.
    @Test func metricsAreForAllowedAddressesOrTheTokenAndReadOncePerRefresh() async throws {
        try await TestDatabase.with { db in
            try await withListener(db, configure: {
                $0.metricsAllow = try! AddressList(parsing: ["10.0.0.0/8"])
                $0.metricsToken = "a-token-of-sixteen-chars"
                $0.metricsRefresh = .seconds(60)
            }) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                #expect(try await peer.get("/metrics").status == 403, "loopback is not in metrics_allow here")
                #expect(try await peer.get("/metrics", headers: ["Authorization": "Bearer a-token-of-sixteen-char"]).status == 403)
                #expect(try await peer.get("/metrics", headers: ["Authorization": "Bearer a-token-of-sixteen-charsX"]).status == 403)
                let first = try await peer.get("/metrics", headers: ["Authorization": "Bearer a-token-of-sixteen-chars"])
                #expect(first.status == 200 && first.body.contains("herald_database_up 1"))
                try await db.addTemplate()
                try await db.enqueue(count: 3)
                let second = try await peer.get("/metrics", headers: ["Authorization": "Bearer a-token-of-sixteen-chars"])
                #expect(!second.body.contains(#"herald_messages{channel="sms",status="pending"} 3"#),
                        "within metrics_refresh the gauges are not read again")
            }
            try await withListener(db) { (_: HTTPListener, peer: TwilioPeer) async throws -> Void in
                let metrics = try await peer.get("/metrics")
                #expect(metrics.status == 200 && metrics.body.contains(#"herald_messages{channel="sms",status="pending"} 3"#))
            }
        }
    }
}

/// The pure parts: address lists, shared readings, the descriptor budget.
@Suite struct ListenerLimitLogicTests {
    @Test func addressListsMatchNetworksOfBothFamilies() throws {
        let list = try AddressList(parsing: ["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"])
        for yes in ["10.1.2.3", "10.255.255.255", "192.168.1.7", "fd12::1", "::1", "::ffff:10.9.9.9"] { #expect(list.contains(yes), "\(yes)") }
        for no in ["11.0.0.1", "192.168.1.8", "fe80::1", "::2", "", "nonsense", "10.0.0.0/8"] { #expect(!list.contains(no), "\(no)") }
        #expect(AddressList.loopback.contains("127.0.0.1") && AddressList.loopback.contains("127.9.9.9") && AddressList.loopback.contains("::1"))
        #expect(!AddressList.loopback.contains("10.0.0.1"))
        for bad in ["10.0.0.0/33", "::1/129", "300.1.1.1", "host.example", "10.0.0.0/x", "1/2/3"] {
            #expect(throws: AddressListError.self, "\(bad)") { try AddressList(parsing: [bad]) }
        }
        #expect(try AddressList(parsing: ["0.0.0.0/0"]).contains("8.8.8.8"))
    }

    @Test func aSharedReadingReadsOnceForEveryoneWhoAsksAtOnce() async {
        let reading = SharedReadingProbe()
        await withTaskGroup(of: Int.self) { group in
            for _ in 0..<50 { group.addTask { await reading.get() } }
            for await value in group { #expect(value == 1) }
        }
        #expect(await reading.get() == 1, "still fresh")
        #expect(reading.reads == 1)
    }

    @Test func theDescriptorBudgetNamesMaxConnections() throws {
        var config = Configuration()
        config.http.host = "127.0.0.1"
        config.http.maxConnections = 1000
        let budget = DescriptorBudget(config)
        #expect(budget.connections == 1000 && budget.own > 64)
        #expect(budget.problem(limit: 1_000_000) == nil)
        let problem = try #require(budget.problem(limit: 1024))
        #expect(problem.key == "http.max_connections" && problem.reason.contains("1024"))
        config.http.host = nil
        #expect(DescriptorBudget(config).connections == 0, "no listener, no connections")
    }
}

/// A ``SharedReading`` whose reading counts itself and takes a while.
final class SharedReadingProbe: Sendable {
    private let shared = SharedReading<Int>(interval: .seconds(60))
    private let count = Mutex(0)

    var reads: Int { count.withLock { $0 } }

    func get() async -> Int {
        await shared.get {
            try? await Task.sleep(for: .milliseconds(200))
            return self.count.withLock { $0 += 1; return $0 }
        }
    }
}
