// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "PaymentsFCGI",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "payments-fcgi", targets: ["PaymentsFCGI"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // Thin module maps over the three C libraries; only one folder each wraps them.
        .systemLibrary(
            name: "CFCGI",
            pkgConfig: "fcgi",
            providers: [.apt(["libfcgi-dev"])]
        ),
        .systemLibrary(
            name: "CMaria",
            pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // prctl(2) through a fixed-argument wrapper (Swift does not import variadic C functions).
        .systemLibrary(name: "CLinux"),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // One C function for the SMTP conversation: libcurl's setopt is variadic.
        .target(
            name: "CCurlSMTP",
            dependencies: ["CCurl"]
        ),
        .target(
            name: "MariaStore",
            dependencies: [
                "CMaria",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Handlers",
            dependencies: [
                "MariaStore",
                "COpenSSL",
                "CCurl",
                "CCurlSMTP",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "PaymentsFCGI",
            dependencies: [
                "Handlers",
                "MariaStore",
                "CFCGI",
                "CLinux",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Starts the real servers the tests need: a private MariaDB, nginx, Apache.
        .target(
            name: "TestSupport",
            dependencies: ["MariaStore", "Handlers"],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "HandlersTests",
            dependencies: ["Handlers", "MariaStore", "TestSupport"]
        ),
        .testTarget(
            name: "MariaStoreTests",
            dependencies: ["MariaStore", "TestSupport"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["Handlers", "MariaStore", "TestSupport"]
        ),
    ]
)

// libFuzzer targets, declared only when `scripts/fuzz` builds them (PFC_FUZZ=1, with
// `-sanitize=fuzzer,address`): the normal build and tests never compile or link them.
if Context.environment["PFC_FUZZ"] != nil {
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/Support"))
    for name in ["FastCGIRecords", "GatewayRequest", "WebhookSignature", "JSONParser", "FormDecoding", "SiteURL", "LicenseKey", "INIFile", "EDDRequest"] {
        package.targets.append(
            .executableTarget(
                name: "Fuzz\(name)",
                dependencies: ["FuzzSupport", "Handlers", "MariaStore", .product(name: "Logging", package: "swift-log")],
                path: "Fuzz/\(name)"))
    }
}
