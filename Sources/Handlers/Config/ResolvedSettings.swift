/// Each setting's text once resolved (environment, file or secret file) with where it came
/// from, and the problems found in it so far, all worded one way: `key = 'value' (origin):
/// message`, with a secret's value never shown.
struct ResolvedSettings {
    struct Value {
        let text: String
        /// `environment PFC_…`, `payments.ini line 3` or `file /etc/…`.
        let origin: String
    }

    let values: [String: Value]
    private(set) var problems: [String] = []

    init(values: [String: Value]) { self.values = values }

    /// The setting's text; an empty one counts as not set unless `acceptingEmpty`.
    func text(_ name: String, acceptingEmpty: Bool = false) -> String? {
        guard let text = values[name]?.text else { return nil }
        return text.isEmpty && !acceptingEmpty ? nil : text
    }

    /// Records that the setting's value cannot be used, and why.
    mutating func refuse(_ name: String, _ message: String) {
        let origin = values[name]?.origin ?? "default"
        let shown = ConfigurationSettings.named(name)?.secret == true ? "(secret)" : "'\(values[name]?.text ?? "")'"
        problems.append("\(name) = \(shown) (\(origin)): \(message)")
    }

    /// Records that a required setting is not set.
    mutating func reportMissing(_ setting: Setting) {
        problems.append("\(setting.name) is required but not set (set it in the file or in \(setting.environmentName))")
    }
}
