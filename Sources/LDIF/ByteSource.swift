import Foundation

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

    public func read(maxCount: Int) throws -> [UInt8] {
        guard let data = try handle.read(upToCount: maxCount) else { return [] }
        return [UInt8](data)
    }
}
