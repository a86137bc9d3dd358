import Foundation
import MariaStore

/// The one vocabulary of license verdicts, shared by activate, verify and deactivate.
public enum LicenseStatus: String, Sendable {
    case active, expired, disabled, refunded, suspended, invalid
    case siteInactive = "site_inactive"
    case noActivationsLeft = "no_activations_left"
    case wrongProduct = "wrong_product"
}

/// A decided verdict about one key and one site. Holds no personal data.
public struct LicenseAnswer: Sendable, Equatable {
    public var status: LicenseStatus
    public var product: String?
    public var tier: String?
    public var expiresAt: Date?
    public var activationLimit: Int?
    public var activations: Int?
    public var site: String?
    public var activationID: String?

    public var activationsLeft: Int? {
        guard let activationLimit, let activations else { return nil }
        return max(0, activationLimit - activations)
    }
}

/// The license rules: key lookup that never tells a wrong key from a typo by its path,
/// exact seat counting on the locked license row, staging sites decided by the server,
/// stale seats released, churn and guessing limited in the database.
public struct LicenseService {
    public enum Action: Sendable { case activate, verify, deactivate }

    let context: Context

    public init(context: Context) {
        self.context = context
    }

    private var settings: Configuration.Licensing { context.configuration.licensing }

    public func handle(_ action: Action, key keyText: String, site siteText: String, product: String?, clientAddress: String) throws -> LicenseAnswer {
        guard let pepper = settings.keyPepper else {
            throw APIError.unavailable("license checks are not configured on the server (licensing.key_pepper)", retryAfterSeconds: 60)
        }
        guard let site = SiteURL(siteText) else { throw APIError.invalidRequest("site_url is not a web address (http or https)") }
        let key = LicenseKey(parsing: keyText, prefix: settings.keyPrefix)
        let hasher = LicenseKeyHasher(pepper: pepper)
        // A key with bad check symbols takes the same path as a wrong one: a lookup by a
        // selector no key has, and a hash comparison that fails.
        let probe = key ?? Self.decoy
        let expected = hasher.verifier(for: probe)
        let store = context.store
        let now = context.clock.now

        return try store.transaction { connection -> LicenseAnswer in
            let licenses = LicenseRepository(connection, prefix: store.prefix)
            // "~" is outside the key alphabet: no license has that selector.
            let record = try licenses.record(selector: key == nil ? "~" : probe.selector, lock: action != .verify)
            guard let record, key != nil, Digest.constantTimeEqual(record.verifier, expected) else {
                try countFailure(from: clientAddress, connection: connection, now: now)
                return LicenseAnswer(status: .invalid, site: site.canonical)
            }
            if let product, !product.isEmpty, product != record.product {
                return LicenseAnswer(status: .wrongProduct, product: record.product, site: site.canonical)
            }
            return try decide(action, record: record, site: site, connection: connection, now: now)
        }
    }

    private func decide(_ action: Action, record: LicenseRepository.Record, site: SiteURL, connection: Connection, now: Date) throws -> LicenseAnswer {
        let prefix = context.store.prefix
        let activations = ActivationRepository(connection, prefix: prefix)
        let audit = AuditLog(connection, prefix: prefix)
        let actor = "license-api"

        // Seats not seen for stale_days free themselves.
        let cutoff = now.addingTimeInterval(-Double(settings.staleDays) * 86_400)
        for released in try activations.releaseStale(licenseID: record.id, seenBefore: cutoff) {
            try audit.record(subject: "license", id: String(record.id), action: "activation_released", before: nil, after: nil,
                             actor: "stale-release", detail: "site \(released)", now: now)
        }
        var current = try activations.all(licenseID: record.id)
        var answer = LicenseAnswer(status: .active, product: record.product, tier: record.tier, expiresAt: record.expiresAt,
                                   activationLimit: record.activationLimit, activations: current.filter { $0.kind == .production }.count,
                                   site: site.canonical, activationID: current.first { $0.site == site.canonical }?.activationID)
        let standing = Self.standing(record, now: now)

        switch action {
        case .verify:
            guard standing == .active else { answer.status = standing; return answer }
            guard let mine = current.first(where: { $0.site == site.canonical }) else { answer.status = .siteInactive; return answer }
            // Seats go stale after days; recording "seen" once an hour is plenty, and spares the
            // database a durable write (an fsync) on nearly every verify.
            if now.timeIntervalSince(mine.lastSeen) >= 3600 {
                try activations.touch(licenseID: record.id, site: site.canonical, now: now)
            }
            return answer

        case .activate:
            guard standing == .active else { answer.status = standing; return answer }
            if answer.activationID != nil {
                // Re-activating an active site: same activation, no seat, no churn.
                try activations.touch(licenseID: record.id, site: site.canonical, now: now)
                return answer
            }
            try checkChurn(record.id, connection: connection, now: now)
            let staging = StagingSites(extraSuffixes: settings.stagingDomains).isStaging(site)
                && current.filter({ $0.kind == .staging }).count < settings.stagingLimit
            if !staging && answer.activations! >= record.activationLimit {
                answer.status = .noActivationsLeft
                return answer
            }
            let activationID = "act_" + Hex.encode(context.random.bytes(10))
            let kind: ActivationRepository.Kind = staging ? .staging : .production
            try activations.insert(licenseID: record.id, activationID: activationID, site: site.canonical, kind: kind, now: now)
            try RateLimiter(connection, prefix: prefix).hit("churn:\(record.id)", window: 86_400, now: now)
            try audit.record(subject: "license", id: String(record.id), action: "activated", before: nil, after: kind.rawValue, actor: actor,
                             detail: "site \(site.canonical)", now: now)
            current = try activations.all(licenseID: record.id)
            answer.activations = current.filter { $0.kind == .production }.count
            answer.activationID = activationID
            return answer

        case .deactivate:
            // Idempotent, and only ever this one site.
            if answer.activationID != nil {
                try checkChurn(record.id, connection: connection, now: now)
                try activations.remove(licenseID: record.id, site: site.canonical)
                try RateLimiter(connection, prefix: prefix).hit("churn:\(record.id)", window: 86_400, now: now)
                try audit.record(subject: "license", id: String(record.id), action: "deactivated", before: nil, after: nil, actor: actor,
                                 detail: "site \(site.canonical)", now: now)
                current = try activations.all(licenseID: record.id)
                answer.activations = current.filter { $0.kind == .production }.count
                answer.activationID = nil
            }
            answer.status = standing == .active ? .siteInactive : standing
            return answer
        }
    }

    /// The license's own standing, before any site is considered.
    static func standing(_ record: LicenseRepository.Record, now: Date) -> LicenseStatus {
        switch record.status {
        case .disabled: return .disabled
        case .refunded: return .refunded
        case .suspended: return .suspended
        case .expired: return .expired
        case .active:
            if let expiresAt = record.expiresAt, expiresAt <= now { return .expired }
            return .active
        }
    }

    private func checkChurn(_ licenseID: Int64, connection: Connection, now: Date) throws {
        let hits = try RateLimiter(connection, prefix: context.store.prefix).hits("churn:\(licenseID)", window: 86_400, now: now)
        if hits >= Int64(settings.churnLimit) {
            throw APIError(.tooManyRequests, code: "rate_limited", message: "too many activations and deactivations of this license today",
                           headers: HTTPHeaders([("Retry-After", String(RateLimiter.secondsLeft(now, 86_400)))]))
        }
    }

    /// Counts a failed lookup for the address and its network; refuses with 429 once either
    /// is over its limit (failed lookups only: real keys are never throttled by others' guesses).
    private func countFailure(from address: String, connection: Connection, now: Date) throws {
        let limiter = RateLimiter(connection, prefix: context.store.prefix)
        let window: Int64 = 600
        let buckets = [("lookup-ip:" + address, settings.failedLookupsPerAddress), ("lookup-net:" + Self.network(of: address), settings.failedLookupsPerNetwork)]
        for (bucket, limit) in buckets where try limiter.hits(bucket, window: window, now: now) >= Int64(limit) {
            throw APIError(.tooManyRequests, code: "rate_limited", message: "too many failed license lookups from this address; try again later",
                           headers: HTTPHeaders([("Retry-After", String(RateLimiter.secondsLeft(now, window)))]))
        }
        for (bucket, _) in buckets { try limiter.hit(bucket, window: window, now: now) }
    }

    /// The /24 of an IPv4 address, the /48 of an IPv6 one.
    static func network(of address: String) -> String {
        if address.contains(":") { return address.split(separator: ":", omittingEmptySubsequences: false).prefix(3).joined(separator: ":") + "::/48" }
        let parts = address.split(separator: ".")
        return parts.count == 4 ? parts.prefix(3).joined(separator: ".") + ".0/24" : address
    }

    /// A key used only to spend the same hashing time when the given text is not a key.
    private static let decoy = LicenseKey.generate(using: SecureRandom())
}
