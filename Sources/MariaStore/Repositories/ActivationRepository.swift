import Foundation

/// The sites a license is activated on, one row per canonical site.
public struct ActivationRepository {
    let connection: Connection
    let table: String

    public init(_ connection: Connection, prefix: TablePrefix) {
        self.connection = connection
        table = prefix.table("activations")
    }

    public enum Kind: String, Sendable { case production, staging }

    public struct Activation: Sendable, Equatable {
        public let activationID: String
        public let site: String
        public let kind: Kind
        public let lastSeen: Date
    }

    public func all(licenseID: Int64) throws -> [Activation] {
        try connection.query("SELECT activation_id, site, kind, last_seen FROM \(table) WHERE license_id = ? ORDER BY id", [licenseID]).map(Self.decode)
    }

    static func decode(_ row: Row) throws -> Activation {
        Activation(
            activationID: try row.string("activation_id"), site: try row.string("site"),
            kind: try row.value("kind", as: Kind.self),
            lastSeen: try row.date("last_seen"))
    }

    public func insert(licenseID: Int64, activationID: String, site: String, kind: Kind, now: Date) throws {
        let stamp = now
        try connection.execute(
            "INSERT INTO \(table) (activation_id, license_id, site, kind, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
            [activationID, licenseID, site, kind.rawValue, stamp, stamp])
    }

    public func touch(licenseID: Int64, site: String, now: Date) throws {
        try connection.execute("UPDATE \(table) SET last_seen = ? WHERE license_id = ? AND site = ?", [now, licenseID, site])
    }

    /// Removes exactly one site's activation; false when there was none.
    @discardableResult
    public func remove(licenseID: Int64, site: String) throws -> Bool {
        try connection.execute("DELETE FROM \(table) WHERE license_id = ? AND site = ?", [licenseID, site]).affectedRows > 0
    }

    /// Removes every activation of a license (a refund); returns how many.
    @discardableResult
    public func removeAll(licenseID: Int64) throws -> Int {
        Int(try connection.execute("DELETE FROM \(table) WHERE license_id = ?", [licenseID]).affectedRows)
    }

    /// Removes activations not seen since `cutoff`; returns their sites.
    public func releaseStale(licenseID: Int64, seenBefore cutoff: Date) throws -> [String] {
        let stamp = cutoff
        let sites = try connection.query("SELECT site FROM \(table) WHERE license_id = ? AND last_seen < ?", [licenseID, stamp]).map { try $0.string("site") }
        if !sites.isEmpty { try connection.execute("DELETE FROM \(table) WHERE license_id = ? AND last_seen < ?", [licenseID, stamp]) }
        return sites
    }
}
