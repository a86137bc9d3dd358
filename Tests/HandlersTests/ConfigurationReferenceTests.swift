import Foundation
import Handlers
import TestSupport
import Testing

/// The settings table is the one description of every setting: README's reference is printed
/// from it, and the defaults it documents are the ones the loader applies.
extension ConfigurationTests {
    /// README.md's table under "Configuration" is exactly `payments-fcgi check-config --reference`:
    /// a setting without its row, a row out of order or reworded only in README fails here.
    @Test func readmeReferenceIsTheSettingsTable() throws {
        let readme = try String(contentsOf: TestPaths.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = readme.components(separatedBy: "\n")
        let section = try #require(lines.firstIndex(of: "## Configuration"))
        let header = try #require(lines[section...].firstIndex(of: "| key | default | meaning |"), "no reference table under ## Configuration")
        let table = Array(lines[header...].prefix { $0.hasPrefix("|") })
        let generated = ConfigurationReference.lines()

        let names = ConfigurationSettings.all.map(\.name)
        #expect(Set(names).count == names.count, "a setting is listed twice")
        let undocumented = names.filter { name in !table.contains { $0.hasPrefix("| `\(name)` |") } }
        #expect(undocumented.isEmpty, "settings without a row in README.md: \(undocumented)")
        if let index = zip(table, generated).map({ $0 != $1 }).firstIndex(of: true) {
            let difference =
                "README.md's configuration reference differs at row \(index - 1):\n  README: \(table[index])\n"
                + "  code:   \(generated[index])\nreplace the table with the output of `payments-fcgi check-config --reference`"
            Issue.record("\(difference)")
        }
        #expect(table.count == generated.count, "README.md has \(table.count - 2) rows, the settings table \(generated.count - 2)")
    }

    /// Readers learn from the meaning column which settings to keep out of the main file.
    @Test func everySecretSaysSoInTheReference() {
        for setting in ConfigurationSettings.all where setting.secret {
            #expect(setting.meaning.hasPrefix("secret"), "\(setting.name): \(setting.meaning)")
        }
    }

    /// Setting a documented default changes nothing: README's default column is what the
    /// service does when the setting is left out.
    @Test func documentedDefaultsAreTheDefaults() throws {
        func described(_ configuration: Configuration) -> String {
            var text = ""
            dump(configuration, to: &text)
            return text
        }
        let unset = described(try load(Self.minimal).get().0)
        var checked = 0
        for setting in ConfigurationSettings.all {
            guard case .value(let text) = setting.defaultValue else { continue }
            let result = load(Self.minimal, environment: [setting.environmentName: text])
            let configuration = try #require(try? result.get().0, "\(setting.name) = \(text): \(result)")
            #expect(described(configuration) == unset, "\(setting.name) = \(text) is not what leaving it out gives")
            checked += 1
        }
        #expect(checked > 50)
    }
}
