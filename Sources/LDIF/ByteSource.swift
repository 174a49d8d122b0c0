import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where the reader pulls bytes from, a chunk at a time, so a large file never sits in memory whole.
public protocol ByteSource {
    /// Up to `maxCount` more bytes; an empty array at the end.
    mutating func read(maxCount: Int) throws -> [UInt8]
}

/// Bytes already in memory.
public struct InMemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public mutating func read(maxCount: Int) throws -> [UInt8] {
        let end = min(bytes.count, offset + maxCount)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}

/// A file (or standard input), read in chunks.
public final class FileByteSource: ByteSource {
    private let handle: FileHandle
    private let ownsHandle: Bool

    public init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        self.handle = handle
        self.ownsHandle = true
    }

    public init(handle: FileHandle) {
        self.handle = handle
        self.ownsHandle = false
    }

    deinit { if ownsHandle { try? handle.close() } }

    /// Straight into the array with read(2): going through Data cost a fifth of reading a file.
    public func read(maxCount: Int) throws -> [UInt8] {
        let descriptor = handle.fileDescriptor
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: max(maxCount, 0)) { buffer, count in
            count = 0
            while let base = buffer.baseAddress, maxCount > 0 {
                let got = Glibc.read(descriptor, base, maxCount)
                if got < 0, errno == EINTR { continue }
                if got < 0 { failure = errno } else { count = got }
                break
            }
        }
        if failure != 0 { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(failure))]) }
        return bytes
    }
}
