import Foundation

/// Unbuffered output for long-running commands, whose lines must appear at once even when stdout
/// is a file or a pipe.
enum Console {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
