// swift-tools-version:6.1
// Builds swift-openapi-generator's command-line tool for deploy/gen-openapi only: Herald's
// own build never compiles the generator (nor OpenAPIKit); the generated code is committed.
import PackageDescription

let package = Package(
    name: "herald-openapi-generator",
    dependencies: [
        .package(url: "https://github.com/apple/swift-openapi-generator.git", exact: "1.14.3"),
    ],
    targets: []
)
