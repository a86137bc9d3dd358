import Foundation

/// The versions of each product's package that plugins update to, and how often each was
/// downloaded under each license.
public struct ReleaseRepository {
    let connection: Connection
    let table: String
    let downloads: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("releases")
        downloads = prefix.table("release_downloads")
    }

    /// One stored version of a product's package.
    public struct Release: Sendable, Equatable {
        public let id: Int64
        public let product: String
        public let version: String
        /// The file's name inside `releases.directory`.
        public let file: String
        public let size: Int64
        /// SHA-256 of the file, in hex.
        public let sha256: String
        public let changelog: String?
        /// Lowest WordPress version, highest tested WordPress version, lowest PHP version.
        public let requires: String?
        public let tested: String?
        public let requiresPHP: String?
        public let releasedAt: Date
        public let yankedAt: Date?
        /// Downloads of this release under every license together.
        public let downloadCount: Int64
    }

    /// What `release add` records.
    public struct NewRelease: Sendable {
        public var product: String
        public var version: String
        public var file: String
        public var size: Int64
        public var sha256: String
        public var changelog: String?
        public var requires: String?
        public var tested: String?
        public var requiresPHP: String?

        public init(
            product: String, version: String, file: String, size: Int64, sha256: String, changelog: String?,
            requires: String?, tested: String?, requiresPHP: String?
        ) {
            self.product = product
            self.version = version
            self.file = file
            self.size = size
            self.sha256 = sha256
            self.changelog = changelog
            self.requires = requires
            self.tested = tested
            self.requiresPHP = requiresPHP
        }
    }

    private var columns: String {
        """
        r.id, r.product, r.version, r.file, r.size, r.sha256, r.changelog, r.requires, r.tested, r.requires_php, r.released_at, r.yanked_at,
        (SELECT COALESCE(SUM(d.downloads), 0) FROM \(downloads) d WHERE d.release_id = r.id) AS download_count
        """
    }

    /// Records a release; nil when this product already has this version (yanked or not).
    public func insert(_ release: NewRelease, now: Date) throws -> Int64? {
        let result = try connection.execute(
            """
            INSERT IGNORE INTO \(table) (product, version, file, size, sha256, changelog, requires, tested, requires_php, released_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                release.product, release.version, release.file, release.size, release.sha256, release.changelog,
                release.requires, release.tested, release.requiresPHP, now,
            ])
        return result.affectedRows == 1 ? Int64(result.lastInsertID) : nil
    }

    /// The newest release of a product that was not yanked: the one plugins update to.
    public func latest(product: String) throws -> Release? {
        try connection.queryOne(
            """
            SELECT \(columns) FROM \(table) r WHERE r.product = ? AND r.yanked_at IS NULL ORDER BY r.released_at DESC, r.id DESC LIMIT 1
            """, [product]
        ).map(Self.decode)
    }

    public func find(id: Int64) throws -> Release? {
        try connection.queryOne("SELECT \(columns) FROM \(table) r WHERE r.id = ?", [id]).map(Self.decode)
    }

    public func find(product: String, version: String) throws -> Release? {
        try connection.queryOne("SELECT \(columns) FROM \(table) r WHERE r.product = ? AND r.version = ?", [product, version]).map(Self.decode)
    }

    /// Every release, newest first (of one product, or of all).
    public func all(product: String?) throws -> [Release] {
        if let product {
            return try connection.query("SELECT \(columns) FROM \(table) r WHERE r.product = ? ORDER BY r.released_at DESC, r.id DESC", [product]).map(
                Self.decode)
        }
        return try connection.query("SELECT \(columns) FROM \(table) r ORDER BY r.product, r.released_at DESC, r.id DESC").map(Self.decode)
    }

    /// Withdraws a release: no longer offered nor downloadable. False when it was already.
    @discardableResult
    public func yank(id: Int64, now: Date) throws -> Bool {
        try connection.execute("UPDATE \(table) SET yanked_at = ? WHERE id = ? AND yanked_at IS NULL", [now, id]).affectedRows == 1
    }

    /// Counts one download of a release under a license (one row per pair, incremented in place).
    public func countDownload(releaseID: Int64, licenseID: Int64, now: Date) throws {
        try connection.execute(
            """
            INSERT INTO \(downloads) (release_id, license_id, downloads, first_at, last_at) VALUES (?, ?, 1, ?, ?)
            ON DUPLICATE KEY UPDATE downloads = downloads + 1, last_at = VALUES(last_at)
            """, [releaseID, licenseID, now, now])
    }

    /// Downloads of a release under one license.
    public func downloadCount(releaseID: Int64, licenseID: Int64) throws -> Int64 {
        try connection.queryOne("SELECT downloads FROM \(downloads) WHERE release_id = ? AND license_id = ?", [releaseID, licenseID])?
            .int("downloads") ?? 0
    }

    static func decode(_ row: Row) throws -> Release {
        Release(
            id: try row.int("id"), product: try row.string("product"), version: try row.string("version"), file: try row.string("file"),
            size: try row.int("size"), sha256: try row.string("sha256"), changelog: try row.optionalString("changelog"),
            requires: try row.optionalString("requires"), tested: try row.optionalString("tested"),
            requiresPHP: try row.optionalString("requires_php"),
            releasedAt: try row.date("released_at"),
            yankedAt: try row.optionalDate("yanked_at"),
            downloadCount: try row.optionalInt("download_count") ?? 0)
    }
}
