import Foundation
import MariaStore

/// Stores release packages: the zip copied into `releases.directory` (outside the web root)
/// under a name of its own, and a row with its checksum, size and date.
public struct ReleaseShelf {
    let context: Context

    public init(context: Context) {
        self.context = context
    }

    /// What was wrong with a release to add, as a sentence for the operator.
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// Copies `file` into the releases directory and records it as `version` of `product`.
    public func add(
        product: String, version: String, file: String, changelog: String?, requires: String?, tested: String?,
        requiresPHP: String?
    ) throws -> ReleaseRepository.Release {
        guard Self.isVersion(version) else {
            throw Refusal(description: "version must be 1 to 32 letters, digits, '.', '-' or '+' (1.4.2, 2.0.0-beta.1)")
        }
        for (name, value) in [("--requires", requires), ("--tested", tested), ("--requires-php", requiresPHP)] {
            if let value, !(1...16).contains(value.utf8.count) || !value.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 }) {
                throw Refusal(description: "\(name) must be a version number such as 6.4")
            }
        }
        let store = context.store
        guard try store.withConnection({ try ProductRepository($0, prefix: store.prefix).named(product) }) != nil else {
            throw Refusal(description: "no product named \(product) in the catalogue")
        }
        guard let bytes = FileManager.default.contents(atPath: file) else { throw Refusal(description: "cannot read \(file)") }
        // A zip starts with a local file header: WordPress can unpack nothing else.
        guard bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) else { throw Refusal(description: "\(file) is not a zip file") }
        let digest = Hex.encode(Digest.sha256([UInt8](bytes)))
        let name = "\(product)-\(version)-\(digest.prefix(12)).zip"
        let directory = context.configuration.releases.directory
        let destination = directory + "/" + name
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // Written beside its final name, then renamed: a download never sees half a file.
            let partial = destination + ".partial"
            try bytes.write(to: URL(fileURLWithPath: partial))
            chmod(partial, 0o644)
            if FileManager.default.fileExists(atPath: destination) { try FileManager.default.removeItem(atPath: destination) }
            try FileManager.default.moveItem(atPath: partial, toPath: destination)
        } catch {
            throw Refusal(description: "cannot store the package in \(directory): \(error.localizedDescription)")
        }
        let now = context.clock.now
        let recorded = try store.transaction { connection -> ReleaseRepository.Release? in
            let releases = ReleaseRepository(connection, prefix: store.prefix)
            guard
                let id = try releases.insert(
                    .init(
                        product: product, version: version, file: name, size: Int64(bytes.count), sha256: digest,
                        changelog: changelog, requires: requires, tested: tested, requiresPHP: requiresPHP), now: now)
            else { return nil }
            try AuditLog(connection, prefix: store.prefix).record(
                subject: "release", id: String(id), action: "added", before: nil, after: version,
                actor: "operator", detail: "\(product) \(version) sha256 \(digest)", now: now)
            return try releases.find(id: id)
        }
        guard let recorded else { throw Refusal(description: "\(product) already has a release \(version) (versions are never replaced)") }
        return recorded
    }

    /// Withdraws a release: it is no longer offered, and its links stop working.
    public func yank(product: String, version: String) throws -> Bool {
        let store = context.store
        let now = context.clock.now
        return try store.transaction { connection in
            let releases = ReleaseRepository(connection, prefix: store.prefix)
            guard let release = try releases.find(product: product, version: version) else {
                throw Refusal(description: "\(product) has no release \(version)")
            }
            let yanked = try releases.yank(id: release.id, now: now)
            if yanked {
                try AuditLog(connection, prefix: store.prefix).record(
                    subject: "release", id: String(release.id), action: "yanked", before: nil,
                    after: nil, actor: "operator", detail: "\(product) \(version)", now: now)
            }
            return yanked
        }
    }

    static func isVersion(_ text: String) -> Bool {
        (1...32).contains(text.utf8.count) && text.utf8.first.map({ $0 >= 48 && $0 <= 57 }) == true
            && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) || $0 == 46 || $0 == 45 || $0 == 43 }
    }
}
