extension StringProtocol {
    /// Without leading and trailing whitespace (spaces, tabs, line breaks, any Unicode space).
    ///
    /// Pure Swift on purpose: Foundation's `trimmingCharacters(in:)` goes through NSString on
    /// Linux and showed up in profiles of every request.
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }
}
