/// Hexadecimal digits, as the escapes of DNs, filters, quoted-printable and IMCEA write them.
public enum Hex {
    /// The value of one hex digit (either case), nil for anything else.
    @inline(__always)
    public static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
