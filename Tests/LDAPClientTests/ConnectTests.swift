import Foundation
import LDAPClient
import LDAPModel
import TestSupport
import Testing

@Suite(.serialized, .ownThread) struct ConnectTests {
    @Test func simpleBindAndWhoAmI() async throws {
        let slapd = try Slapd()
        let connection = try await slapd.rootConnection()
        #expect(try await connection.whoAmI() == "dn:cn=admin,dc=example,dc=com")
        await connection.close()
        await #expect(throws: LDAPError.self) { try await connection.whoAmI() }
    }

    @Test func wrongPasswordIsARefusal() async throws {
        let slapd = try Slapd()
        do {
            _ = try await LDAPConnection.connect(
                LDAPConnectionOptions(uri: slapd.uri), credentials: .simple(dn: slapd.rootDN, password: Array("wrong".utf8)))
            Issue.record("a wrong password was accepted")
        } catch {
            #expect(error.code == .invalidCredentials)
            #expect(!error.isTransportFailure)
            #expect(error.description.contains("invalidCredentials (49)"))
        }
    }

    @Test func unreachableServerIsATransportFailure() async throws {
        let slapd = try Slapd()
        let uri = slapd.uri
        slapd.stop()
        do {
            _ = try await LDAPConnection.connect(LDAPConnectionOptions(uri: uri, connectTimeout: 2), credentials: .anonymous)
            Issue.record("connected to a stopped server")
        } catch {
            #expect(error.isTransportFailure, "\(error)")
        }
    }

    @Test func aServerThatDiesUnderAnOpenConnectionIsATransportFailure() async throws {
        let slapd = try Slapd()
        let connection = try await slapd.rootConnection()
        _ = try await connection.whoAmI()
        slapd.stop()
        // Writing to the dead socket raises SIGPIPE, which must not end the process.
        for _ in 0..<3 {
            do {
                _ = try await connection.whoAmI()
                Issue.record("a stopped server answered")
            } catch {
                #expect(error.isTransportFailure, "\(error)")
            }
        }
    }

    @Test func saslExternalOverLDAPI() async throws {
        let slapd = try Slapd()
        let connection = try await LDAPConnection.connect(LDAPConnectionOptions(uri: slapd.ldapiURI), credentials: .sasl(mechanism: "EXTERNAL"))
        #expect(try await connection.whoAmI() == "dn:cn=admin,dc=example,dc=com", "root over ldapi maps to the root DN")
    }

    @Test func anonymousBind() async throws {
        let slapd = try Slapd()
        let connection = try await LDAPConnection.connect(LDAPConnectionOptions(uri: slapd.uri))
        #expect(try await connection.whoAmI() == "")
        #expect(try await connection.read(slapd.base) != nil)
    }

    @Test func startTLSAndLDAPSVerifyTheServer() async throws {
        let slapd = try Slapd(.init(tls: true))
        let caFile = try #require(slapd.caFile)
        let ldaps = try #require(slapd.ldapsURI)
        let password = Array(slapd.rootPassword.utf8)
        let overStartTLS = try await LDAPConnection.connect(
            LDAPConnectionOptions(uri: slapd.uri, startTLS: true, caFile: caFile), credentials: .simple(dn: slapd.rootDN, password: password))
        #expect(try await overStartTLS.whoAmI() == "dn:cn=admin,dc=example,dc=com")
        let overLDAPS = try await LDAPConnection.connect(
            LDAPConnectionOptions(uri: ldaps, caFile: caFile), credentials: .simple(dn: slapd.rootDN, password: password))
        #expect(try await overLDAPS.whoAmI() == "dn:cn=admin,dc=example,dc=com")

        // Verification is on by default: a CA we do not trust is refused.
        let otherCA = slapd.directory.appendingPathComponent("other-ca.pem").path
        let made = try Command.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=Some other CA",
                "-keyout", slapd.directory.appendingPathComponent("other-ca.key").path, "-out", otherCA,
            ])
        #expect(made.status == 0, "\(made.stderr)")
        await #expect(throws: LDAPError.self) {
            try await LDAPConnection.connect(LDAPConnectionOptions(uri: ldaps, caFile: otherCA), credentials: .anonymous)
        }
        await #expect(throws: LDAPError.self) {
            try await LDAPConnection.connect(LDAPConnectionOptions(uri: slapd.uri, startTLS: true, caFile: otherCA), credentials: .anonymous)
        }
        // A host name the certificate does not name is refused too.
        let byName = ldaps.replacingOccurrences(of: "127.0.0.1", with: "127.0.0.2")
        await #expect(throws: LDAPError.self) {
            try await LDAPConnection.connect(LDAPConnectionOptions(uri: byName, caFile: caFile, connectTimeout: 3), credentials: .anonymous)
        }
        // Only an explicit choice turns verification off.
        let unverified = try await LDAPConnection.connect(LDAPConnectionOptions(uri: ldaps, verifyCertificate: false), credentials: .anonymous)
        #expect(try await unverified.whoAmI() == "")
    }

    @Test func badURIIsAParameterError() async {
        await #expect(throws: LDAPError.self) {
            try await LDAPConnection.connect(LDAPConnectionOptions(uri: "http://127.0.0.1/"))
        }
    }
}
