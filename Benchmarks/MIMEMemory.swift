// Peak memory of decoding one large message: scripts/bench-mime builds and runs this.
import Foundation
import MIME
import MailDrop

#if canImport(Glibc)
    import Glibc
#endif

func peakRSS() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1_000_000) }

@main
struct MIMEMemory {
    static func main() throws {
        let path = CommandLine.arguments[1]
        let baseline = peakRSS()
        let started = Date()
        let bytes = try FileBytes.read(path)
        let afterRead = peakRSS()
        let message = try MIMEParser.parse(bytes)
        let afterParse = peakRSS()
        var decoded = 0
        for leaf in message.leaves { decoded += try leaf.decodedBody().count }
        let afterDecode = peakRSS()
        let seconds = Date().timeIntervalSince(started)
        print(
            "message: \(megabytes(bytes.count)), \(message.leaves.count) leaves, \(megabytes(decoded)) decoded, \(String(format: "%.2f", seconds)) s")
        print(
            "peak RSS: start \(megabytes(baseline)), after read \(megabytes(afterRead)), after parse \(megabytes(afterParse)), after decoding every part one at a time \(megabytes(afterDecode))"
        )
        print("peak / message size: \(String(format: "%.2f", Double(afterDecode) / Double(bytes.count)))")
    }
}
