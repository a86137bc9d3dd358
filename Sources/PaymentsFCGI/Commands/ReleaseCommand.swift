import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi release add|list|yank`: the packages licensed sites update to.
struct ReleaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Manage release packages: what licensed sites are offered as an update, and download.",
        subcommands: [Add.self, List.self, Yank.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a version of a product's plugin zip in releases.directory and offer it as the update.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The catalogue product.") var product: String
        @Argument(help: "The version (1.4.2).") var version: String
        @Argument(help: "The plugin's zip file.") var file: String
        @Option(help: "A text file with the changes (shown in WordPress's \"View details\").") var changelog: String?
        @Option(help: "Lowest WordPress version the release runs on.") var requires: String?
        @Option(help: "Highest WordPress version it was tested with.") var tested: String?
        @Option(name: .customLong("requires-php"), help: "Lowest PHP version it runs on.") var requiresPHP: String?

        func run() throws {
            var changes: String?
            if let changelog {
                guard let text = try? String(contentsOfFile: changelog, encoding: .utf8) else {
                    StandardError.write("cannot read \(changelog)\n")
                    throw ExitCode(1)
                }
                changes = text
            }
            try options.withContext { context in
                do {
                    let release = try ReleaseShelf(context: context).add(
                        product: product, version: version, file: file, changelog: changes,
                        requires: requires, tested: tested, requiresPHP: requiresPHP)
                    print("added \(release.product) \(release.version) (\(release.size) bytes, sha256 \(release.sha256))")
                } catch let refusal as ReleaseShelf.Refusal {
                    StandardError.write("\(refusal)\n")
                    throw ExitCode(1)
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List releases, newest first, with their downloads.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "Only this product's releases.") var product: String?

        func run() throws {
            let releases = try options.withContext { context in
                try context.store.withConnection { try ReleaseRepository($0, prefix: context.store.prefix).all(product: product) }
            }
            if releases.isEmpty { print("no releases (payments-fcgi release add …)") }
            for release in releases {
                let state = release.yankedAt == nil ? "offered" : "yanked"
                print(
                    "\(release.product)\t\(release.version)\t\(ISOTime.string(release.releasedAt))\t\(release.size) bytes\t"
                        + "sha256 \(release.sha256.prefix(16))…\t\(release.downloadCount) downloads\t\(state)")
            }
        }
    }

    struct Yank: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw a release: no longer offered, and its download links stop working (the file is kept).")
        @OptionGroup var options: ConfigurationOptions
        @Argument var product: String
        @Argument var version: String

        func run() throws {
            try options.withContext { context in
                do {
                    let yanked = try ReleaseShelf(context: context).yank(product: product, version: version)
                    print(yanked ? "yanked \(product) \(version)" : "\(product) \(version) was already yanked")
                } catch let refusal as ReleaseShelf.Refusal {
                    StandardError.write("\(refusal)\n")
                    throw ExitCode(1)
                }
            }
        }
    }
}
