import Dispatch
import MIME
import SMIME

extension FuzzEntries {
    /// The S/MIME wrapper: a message decoded, its signature part read as CMS (made acceptable, cut to
    /// one chain, bounded), then verified against no trusted certificate — which must always refuse,
    /// with a reason, never accept. Also the signature bytes alone, as if they were a signature part.
    public static func smime(_ bytes: [UInt8]) {
        _ = try? SMIMEVerifier.boundedSignature(bytes)
        guard let message = try? MIMEParser.parse(bytes, limits: MIMELimits(maxMessageSize: 1 << 20, maxDepth: 8, maxParts: 50)) else { return }
        let verifier = SMIMEVerifier(trustRoots: [], signerAddresses: ["fuzz@example.com"])
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                _ = try await verifier.verify(message)
                fatalError("a signature was accepted with nothing trusted")
            } catch {
                _ = "\(error)"
            }
            done.signal()
        }
        done.wait()
    }
}
