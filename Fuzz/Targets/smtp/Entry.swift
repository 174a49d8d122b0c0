// libFuzzer's entry point for FuzzEntries.smtp (built by scripts/fuzz; see Fuzz/Entries).
import FuzzEntries

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    FuzzEntries.smtp(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
