/// The fuzz entry points: one function per parser that reads outside input, each taking any bytes,
/// exercising the parser and checking what must hold of what it returns (round trips, bounds). A
/// parser may refuse input; it must never crash, hang or break a check. scripts/fuzz builds each
/// function into a libFuzzer program (Fuzz/Targets/NAME, a SwiftPM target); the corpus each grew is
/// kept in Fuzz/Corpus/NAME, and CorpusReplayTests runs every file of it through the same function in
/// every test run. docs/fuzzing.md says what each covers and what was found.
public enum FuzzEntries {
    /// Every entry point by target name (the names of Fuzz/Targets and Fuzz/Corpus).
    public static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "ldif": ldif, "dn": dn, "filter": filter, "mime": mime, "smime": smime, "address": address, "imap": imap,
        "configuration": configuration, "accesslog": accesslog, "smtp": smtp,
    ]
}
