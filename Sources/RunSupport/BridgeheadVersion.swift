/// The version of this build (`bridgehead --version`, `status`, `check --format json`).
public enum BridgeheadVersion {
    public static let current = "0.13.0"
}
