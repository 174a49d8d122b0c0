// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "Bridgehead",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bridgehead", targets: ["bridgehead"]),
        .library(name: "LDIF", targets: ["LDIF"]),
        .library(name: "LDAPClient", targets: ["LDAPClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLDAP",
            pkgConfig: "ldap",
            providers: [.apt(["libldap2-dev", "libsasl2-dev"])]
        ),
        // Value types shared from LDIF to the wire: DN, RDN, Filter, Entry, ChangeRecord, Control.
        .target(name: "LDAPModel", dependencies: ["Coding"], swiftSettings: strict),
        // Byte codecs shared by the parsers (base64).
        .target(name: "Coding", swiftSettings: strict),
        // RFC 2849 reader and writer over bytes.
        .target(name: "LDIF", dependencies: ["Coding", "LDAPModel"], swiftSettings: strict),
        // RFC 5322 / MIME (RFC 2045-2049, 2047, 2231) decoding over bytes, bounded.
        .target(name: "MIME", dependencies: ["Coding"], swiftSettings: strict),
        // S/MIME (multipart/signed, detached CMS) verification and signing.
        .target(
            name: "SMIME",
            dependencies: [
                "MIME", "Coding",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // Every address form (SMTP, EX/MSXCHNGE, X500, X.400, IMCEA, MS, CCMAIL, NOTES), pure.
        .target(name: "Addressing", dependencies: ["Coding", "LDAPModel"], swiftSettings: strict),
        // Message sources: Maildir (and IMAP).
        .target(
            name: "MailDrop",
            dependencies: [
                "Coding",
                "MIME",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // The only code that touches libldap.
        .target(
            name: "LDAPClient",
            dependencies: [
                "CLDAP", "LDAPModel",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Replication message format 1: its headers and kinds, composing and signing one, decoding and
        // verifying one (docs/message-format.md). Shared by the receiver and the publisher; pure.
        .target(
            name: "MessageFormat",
            dependencies: ["LDAPModel", "LDIF", "MIME", "SMIME", .product(name: "X509", package: "swift-certificates")],
            swiftSettings: strict),
        // Process plumbing of a run: the lock, the stop request (signals), files written safely, the
        // run record and the metrics textfile.
        .target(name: "RunSupport", swiftSettings: strict),
        // The configuration file: TOML to checked values, every check made when it is loaded (keys,
        // DNs, URLs, the files it names, each source's certificate). Reads files, never the network.
        .target(
            name: "Config",
            dependencies: [
                "Coding", "LDAPModel", "Addressing", "SMIME", "MailDrop", "MessageFormat", "RunSupport",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strict
        ),
        // The sending side (`bridgehead publish`): accesslog capture, messages, outbox, state, transports
        // (SMTP on SwiftNIO, Maildir, sendmail).
        .target(
            name: "Publishing",
            dependencies: [
                "Coding", "LDAPModel", "LDIF", "LDAPClient", "SMIME", "MailDrop", "MessageFormat", "RunSupport", "Config",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // The jobs the CLI runs: resolving, planning, applying, the sync run and its reports.
        .target(
            name: "Replication",
            dependencies: [
                "Coding", "LDAPModel", "LDIF", "LDAPClient", "MIME", "SMIME", "MailDrop", "Addressing", "MessageFormat", "RunSupport", "Config",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "bridgehead",
            dependencies: [
                "Replication", "Coding", "LDIF", "LDAPModel", "LDAPClient", "MIME", "SMIME", "Addressing", "MailDrop", "MessageFormat",
                "RunSupport", "Config", "Publishing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Starts throwaway servers (scripts/slapd-sandbox) for the tests.
        .target(name: "TestSupport", dependencies: ["LDAPModel", "LDIF"], swiftSettings: strict),
        .testTarget(name: "LDAPModelTests", dependencies: ["LDAPModel", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "SMIMETests",
            dependencies: [
                "SMIME", "MIME", "TestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "AddressingTests", dependencies: ["Addressing", "LDAPModel", "TestSupport"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "MailDropTests", dependencies: ["MailDrop", "MIME", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "MIMETests", dependencies: ["MIME", "Coding", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(
            name: "LDIFTests", dependencies: ["LDIF", "LDAPModel", "Coding", "TestSupport"],
            exclude: ["Fixtures"], swiftSettings: strict
        ),
        .testTarget(
            name: "LDAPClientTests",
            dependencies: ["LDAPClient", "LDIF", "LDAPModel", "TestSupport"],
            exclude: ["Fixtures"], swiftSettings: strict
        ),
        .testTarget(
            name: "ReplicationTests",
            dependencies: [
                "Replication", "MessageFormat", "RunSupport", "Config", "LDAPClient", "LDIF", "LDAPModel", "MIME", "SMIME", "TestSupport",
            ],
            exclude: ["Fixtures"], swiftSettings: strict
        ),
        .testTarget(name: "PublishingTests", dependencies: ["Publishing", "LDAPModel", "MailDrop", "TestSupport"], swiftSettings: strict),
        // The fuzz entry points (one function per parser of outside input), and their corpus replayed as tests.
        .target(
            name: "FuzzEntries", dependencies: ["LDIF", "LDAPModel", "MIME", "SMIME", "Addressing", "MailDrop", "Config", "Publishing"],
            path: "Fuzz/Entries", swiftSettings: strict),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzEntries"], swiftSettings: strict),
        .testTarget(
            name: "BridgeheadCLITests",
            dependencies: [
                "bridgehead", "LDIF", "LDAPModel", "MailDrop", "Replication", "MessageFormat", "RunSupport", "Config", "SMIME", "TestSupport",
            ],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
    ]
)

// libFuzzer programs, one per entry point: built only by scripts/fuzz, which sets BRIDGEHEAD_FUZZ and
// builds with `--sanitize fuzzer --sanitize address` (libFuzzer brings main(), so these are parsed as
// libraries).
if Context.environment["BRIDGEHEAD_FUZZ"] != nil {
    for name in ["ldif", "dn", "filter", "mime", "smime", "address", "imap", "configuration", "accesslog", "smtp"] {
        package.targets.append(
            .executableTarget(
                name: "fuzz-\(name)", dependencies: ["FuzzEntries"], path: "Fuzz/Targets/\(name)",
                swiftSettings: strict + [.unsafeFlags(["-parse-as-library"])]))
    }
}
