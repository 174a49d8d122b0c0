// libFuzzer entry point for the MIME decoder. Built by scripts/fuzz.
import MIME

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = MIMELimits(maxMessageSize: 1 << 20, maxHeaderSize: 1 << 16, maxLineLength: 1 << 14, maxDepth: 16, maxParts: 500)
    guard let message = try? MIMEParser.parse(bytes, limits: limits) else { return 0 }
    for leaf in message.leaves {
        // Every part lies inside the message, and decoding either works or says why.
        precondition(leaf.range.lowerBound >= 0 && leaf.range.upperBound <= bytes.count)
        precondition(leaf.bodyRange.lowerBound >= leaf.range.lowerBound && leaf.bodyRange.upperBound <= leaf.range.upperBound)
        _ = try? leaf.text()
        _ = leaf.filename
        _ = try? leaf.encapsulatedMessage(limits: limits)
    }
    return 0
}
