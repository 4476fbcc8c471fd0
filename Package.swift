// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "herald",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "herald", targets: ["herald"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // Exact: FastTemplate mirrors this version's parser (RendererDifferentialTests checks it).
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"4.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.24.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.0"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    ],
    targets: [
        // libpq, the PostgreSQL client library (Debian: libpq-dev).
        .systemLibrary(name: "CLibPQ", providers: [.apt(["libpq-dev"])]),
        // Serial executors that own one OS thread each: where blocking C calls run.
        .target(name: "HeraldExecutors", swiftSettings: strict),
        // A small Swift wrapper over libpq.
        .target(name: "HeraldPostgres", dependencies: ["CLibPQ", "HeraldExecutors", "HeraldCore"], swiftSettings: strict),
        // Value types shared by every module: messages, outcomes, backoff, durations, outside text.
        .target(name: "HeraldCore", dependencies: [.product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        // The TOML configuration file and its environment overrides.
        .target(name: "HeraldConfig", dependencies: ["HeraldCore", "HeraldScheduling", "HeraldDrivers", "HeraldPostgres", "HeraldInbound", "HeraldPipeline", "TOMLKit"], swiftSettings: strict),
        // All SQL: migrations (generated from sql/) and the outbox statements.
        .target(name: "HeraldOutbox", dependencies: ["HeraldCore", "HeraldRows", "HeraldPostgres"], swiftSettings: strict),
        // The rows planning works with (events, rules, contacts, locations), read by the stores. Pure.
        .target(name: "HeraldRows", dependencies: ["HeraldCore"], swiftSettings: strict),
        // The scheduling rules: postponement, quiet hours, business hours, cutoffs, time zones. Pure.
        .target(name: "HeraldScheduling", dependencies: ["HeraldCore"], swiftSettings: strict),
        // Mustache rendering of templates over message data.
        .target(name: "HeraldRender", dependencies: ["HeraldCore", "HeraldScheduling", .product(name: "Mustache", package: "swift-mustache")], swiftSettings: strict),
        // libcurl: typed setopt wrappers (C) and one easy handle per thread (Swift).
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "HeraldCurl", dependencies: ["CCurl", "HeraldCore", "HeraldExecutors"], swiftSettings: strict),
        // The driver protocol and the drivers.
        .target(name: "HeraldDrivers", dependencies: [
            "HeraldCore", "HeraldExecutors", "HeraldCurl", .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        // One message through the rules and rendering at one instant: pure, shared by the daemon and the CLI.
        .target(name: "HeraldPipeline", dependencies: ["HeraldCore", "HeraldRows", "HeraldRender", "HeraldScheduling", "HeraldInbound"], swiftSettings: strict),
        // What comes back from clients and providers, as pure logic: reply keywords, Twilio signatures.
        .target(name: "HeraldInbound", dependencies: ["HeraldCore", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        // systemd: sd_notify over $NOTIFY_SOCKET, and logging to the journal.
        .target(name: "HeraldSystemd", dependencies: [.product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        // The daemon loop: claim, render, deliver, record; leases; shutdown.
        .target(name: "HeraldWorker", dependencies: [
            "HeraldCore", "HeraldOutbox", "HeraldRender", "HeraldDrivers", "HeraldPostgres", "HeraldSystemd", "HeraldScheduling",
            "HeraldPipeline", "HeraldInbound", "HeraldRows",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: strict),
        // The HTTP listener: provider webhooks (replies, receipts), unsubscribe links, health, metrics.
        .target(name: "HeraldHTTP", dependencies: [
            "HeraldCore", "HeraldOutbox", "HeraldPostgres", "HeraldInbound", "HeraldWorker", "HeraldRender",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: strict),
        // The admin API's types and server protocol, generated from openapi.yaml by
        // deploy/gen-openapi (committed: the build never runs the generator).
        .target(name: "HeraldAdminAPI", dependencies: [
            .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
        ], exclude: ["Generated/inputs.sha256"]),
        // The admin listener: the API (tokens and roles, the audit log, the operations) and
        // the browser console (Console/: users, sessions, pages over the same operations).
        .target(name: "HeraldAdmin", dependencies: [
            "HeraldAdminAPI", "HeraldCore", "HeraldOutbox", "HeraldPostgres", "HeraldPipeline", "HeraldRender", "HeraldWorker",
            "HeraldHTTP", "HeraldInbound", "HeraldRows", "HeraldDrivers", "HeraldExecutors",
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: strict),
        // The command-line interface.
        .executableTarget(name: "herald", dependencies: [
            "HeraldCore", "HeraldConfig", "HeraldOutbox", "HeraldWorker", "HeraldDrivers", "HeraldRender", "HeraldPostgres", "HeraldSystemd", "HeraldScheduling",
            "HeraldPipeline", "HeraldHTTP", "HeraldInbound", "HeraldRows", "HeraldAdmin",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: strict),
        .testTarget(name: "HeraldTests", dependencies: [
            "HeraldCore", "HeraldConfig", "HeraldOutbox", "HeraldWorker", "HeraldDrivers", "HeraldRender", "HeraldPostgres", "HeraldSystemd", "HeraldScheduling", "herald",
            "HeraldPipeline", "HeraldInbound", "HeraldHTTP", "HeraldRows", "HeraldAdmin",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "PropertyBased", package: "swift-property-based"),
        ], exclude: ["Peers"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
