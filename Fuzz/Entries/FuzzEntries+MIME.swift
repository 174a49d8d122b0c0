import MIME

extension FuzzEntries {
    /// The MIME decoder: every part lies inside the message, and decoding either works or says why.
    public static func mime(_ bytes: [UInt8]) {
        let limits = MIMELimits(maxMessageSize: 1 << 20, maxHeaderSize: 1 << 16, maxLineLength: 1 << 14, maxDepth: 16, maxParts: 500)
        guard let message = try? MIMEParser.parse(bytes, limits: limits) else { return }
        for leaf in message.leaves {
            precondition(leaf.range.lowerBound >= 0 && leaf.range.upperBound <= bytes.count)
            precondition(leaf.bodyRange.lowerBound >= leaf.range.lowerBound && leaf.bodyRange.upperBound <= leaf.range.upperBound)
            _ = try? leaf.text()
            _ = leaf.filename
            _ = try? leaf.encapsulatedMessage(limits: limits)
        }
    }
}
