import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Whole files as byte arrays, read straight into the array: a 100 MB message costs 100 MB, not the
/// 200 MB of a Data read and a copy.
public enum FileBytes {
    public enum Failure: Error, Sendable, Hashable {
        case missing
        case unreadable(String)
    }

    public static func read(_ path: String) throws(Failure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw errno == ENOENT ? .missing : .unreadable(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        let size = Int(info.st_size)
        var failure: Failure?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var offset = 0
            while offset < size {
                let got = Glibc.read(descriptor, buffer.baseAddress! + offset, size - offset)
                if got < 0, errno == EINTR { continue }
                guard got > 0 else {
                    failure = .unreadable(got == 0 ? "the file shrank while it was read" : String(cString: strerror(errno)))
                    break
                }
                offset += got
            }
            count = offset
        }
        if let failure { throw failure }
        return bytes
    }
}

/// A message to send: bytes in memory, or a file read in chunks (an archived message of any size).
public enum MessageSource: Sendable {
    case bytes([UInt8])
    case file(String)

    /// Its size in bytes.
    public func size() throws(FileBytes.Failure) -> Int {
        switch self {
        case .bytes(let bytes): return bytes.count
        case .file(let path):
            var info = stat()
            guard stat(path, &info) == 0 else { throw errno == ENOENT ? .missing : .unreadable(String(cString: strerror(errno))) }
            return Int(info.st_size)
        }
    }

    /// Its bytes, a chunk at a time.
    public func chunks(size: Int = 1 << 20) throws(FileBytes.Failure) -> ChunkReader { try ChunkReader(self, size: size) }
}

/// Reads a `MessageSource` in chunks.
public final class ChunkReader {
    private var pending: [UInt8]?
    private var descriptor: Int32 = -1
    private let size: Int

    init(_ source: MessageSource, size: Int) throws(FileBytes.Failure) {
        self.size = max(size, 1)
        switch source {
        case .bytes(let bytes): pending = bytes
        case .file(let path):
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw errno == ENOENT ? .missing : .unreadable(String(cString: strerror(errno))) }
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// The next chunk, nil at the end.
    public func next() throws(FileBytes.Failure) -> [UInt8]? {
        if let bytes = pending {
            pending = nil
            return bytes.isEmpty ? nil : bytes
        }
        guard descriptor >= 0 else { return nil }
        var failure: FileBytes.Failure?
        let chunk = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            while true {
                let got = Glibc.read(descriptor, buffer.baseAddress!, size)
                if got < 0, errno == EINTR { continue }
                if got < 0 { failure = .unreadable(String(cString: strerror(errno))) } else { count = got }
                break
            }
        }
        if let failure { throw failure }
        if chunk.isEmpty {
            close(descriptor)
            descriptor = -1
            return nil
        }
        return chunk
    }
}
