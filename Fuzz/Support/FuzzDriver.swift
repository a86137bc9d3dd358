import Glibc

/// libFuzzer's entry when the program brings its own `main` (SwiftPM names every executable's
/// entry point after its module and points `main` at it, so libFuzzer's own `main` is never
/// linked in): it parses libFuzzer's flags from the command line and calls `test` per input.
@_silgen_name("LLVMFuzzerRunDriver")
private func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ test: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Runs libFuzzer over `test` with this process's arguments and exits with its status.
public func runFuzzer(_ test: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    // CommandLine.unsafeArgv lives for the whole process; libFuzzer only reads it (it may
    // advance its own copy of the pointer, never the strings).
    var argv = CommandLine.unsafeArgv
    exit(llvmFuzzerRunDriver(&argc, &argv, test))
}
