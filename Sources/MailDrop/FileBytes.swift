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
