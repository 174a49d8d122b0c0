import Config

extension FuzzEntries {
    /// The configuration reader (TOML, then every key checked): a file is accepted or refused with the
    /// file, the key and what is wrong, never more.
    public static func configuration(_ bytes: [UInt8]) {
        do {
            let configuration = try Configuration.parse(String(decoding: bytes, as: UTF8.self), path: "/fuzz/bridgehead.toml")
            _ = configuration.sources.map(\.signerAddresses)
        } catch {
            precondition(error.description.hasPrefix("/fuzz/bridgehead.toml: "))
        }
    }
}
