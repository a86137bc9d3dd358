/// README's configuration reference, made from the settings table so the two cannot differ:
/// `payments-fcgi check-config --reference` prints it, and a test holds README.md to it.
public enum ConfigurationReference {
    /// The markdown table: a header, then one row per setting in the table's order.
    public static func markdown(_ settings: [Setting] = ConfigurationSettings.all) -> String {
        lines(settings).joined(separator: "\n") + "\n"
    }

    public static func lines(_ settings: [Setting] = ConfigurationSettings.all) -> [String] {
        ["| key | default | meaning |", "|---|---|---|"] + settings.map(row)
    }

    static func row(_ setting: Setting) -> String {
        "| `\(setting.name)` | \(setting.defaultValue.markdown) | \(setting.meaning) |"
    }
}
