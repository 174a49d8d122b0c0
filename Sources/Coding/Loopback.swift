/// Host names and addresses that stay on this machine.
public enum Loopback {
    /// Whether `host` (a name, an IPv4 address, or an IPv6 address with or without brackets) is this
    /// machine's loopback: `localhost`, 127.0.0.0/8, `::1`. Anything else may cross a network.
    public static func contains(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" || name.hasSuffix(".localhost") || name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) else { return false }
        return octets[0] == "127"
    }
}
