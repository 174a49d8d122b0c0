import ArgumentParser
import Foundation
import LDIF

struct LDIFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ldif",
        abstract: "Check LDIF files, or rewrite them in canonical form.",
        discussion: """
            Reads each FILE (RFC 2849; '-' for standard input) as a stream and writes its records to \
            standard output in canonical form: one 'version: 1' header, values base64-encoded exactly \
            where RFC 2849 requires it, lines folded at 76 columns, attributes of an entry merged. \
            Content records stay content records and change records stay change records.

            With --check nothing is written; the exit status says whether every file is valid. \
            Errors are printed as FILE:LINE:COLUMN: reason and give exit status 65.

            Examples:
              bridgehead ldif --check changes.ldif
              ldapsearch -LLL ... | bridgehead ldif - > canonical.ldif
            """
    )

    @Flag(help: "Only check the files; print nothing when they are valid.")
    var check = false

    @Flag(help: "Resolve 'attr:< file:///path' values by reading the named local files.")
    var allowFileURLs = false

    @Flag(name: .customLong("utf8"), help: "Accept UTF-8 in plain values (RFC 2849 wants base64 for them; many tools write them anyway).")
    var allowUTF8 = false

    @Option(help: "Fold output lines longer than this (0: never fold).")
    var foldWidth = 76

    @Argument(help: "LDIF files to read ('-' for standard input).")
    var files: [String]

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one LDIF file ('-' for standard input)") }
        if foldWidth < 0 || foldWidth == 1 { throw ValidationError("--fold-width must be 0 or at least 2") }
    }

    func run() throws {
        let options = LDIFReader.Options(allowFileURLs: allowFileURLs, allowUTF8Values: allowUTF8)
        let writer = LDIFWriter(foldWidth: foldWidth)
        var failed = false
        var wroteHeader = false
        for file in files {
            let source: any ByteSource
            do {
                source = file == "-" ? FileByteSource(handle: .standardInput) : try FileByteSource(path: file)
            } catch {
                printError("\(file): cannot open: \(error.localizedDescription)")
                failed = true
                continue
            }
            let reader = LDIFReader(source: source, options: options)
            do {
                while let record = try reader.next() {
                    guard !check else { continue }
                    if !wroteHeader {
                        FileHandleOutput.write(writer.header, to: 1)
                        wroteHeader = true
                    }
                    FileHandleOutput.write(writer.render(record), to: 1)
                }
            } catch {
                printError("\(file == "-" ? "<stdin>" : file):\(error)")
                failed = true
            }
        }
        if failed { throw Exit.dataError }
    }
}
