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
    /// `LicenseKey.identifier` of the key asked about, and the site URL as sent.
    public var keyID: String?
    public var siteURL: String?
    /// The license's row, when the key was found and matched the product (never sent: package
    /// links name it).
    public var licenseID: Int64?

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
        // An address (or network) over its guessing limit gets no answer at all, whatever the
        // key: otherwise a correct guess would still be told apart from the wrong ones.
        try refuseIfGuessing(from: clientAddress, now: context.clock.now)
        let key = LicenseKey(parsing: keyText, prefix: settings.keyPrefix)
        let hasher = LicenseKeyHasher(pepper: pepper)
        // A key with bad check symbols takes the same path as a wrong one: a lookup by a
        // selector no key has, and a hash comparison that fails.
        let probe = key ?? Self.decoy
        let expected = try hasher.verifier(for: probe)
        let selector = key == nil ? "~" : probe.selector  // "~" is outside the key alphabet: no license has it.
        let change: Change
        switch action {
        case .verify:
            return try verify(
                selector: selector, keyIsWellFormed: key != nil, expected: expected, site: site, product: product,
                clientAddress: clientAddress, now: context.clock.now)
        case .activate: change = .activate
        case .deactivate: change = .deactivate
        }
        let store = context.store
        let now = context.clock.now
        return try store.transaction { connection -> LicenseAnswer in
            // Seats are counted on rows as the whole cluster last committed them: a key issued,
            // or a seat freed, through another Galera node a moment ago is seen, so neither
            // "invalid" nor "no activations left" is answered on stale rows (refusals write
            // nothing, so they would never conflict and be retried).
            try connection.seeLatestCommits()
            let licenses = LicenseRepository(connection, prefix: store.prefix)
            // The row is locked only once the key has proved itself: a guess never holds (or
            // waits for) a real license's lock. A seat taken or freed also writes the row
            // (`countSeatChange`), so seat decisions on different Galera nodes conflict instead
            // of both counting one free seat.
            let candidate = try licenses.record(selector: selector, lock: false)
            guard let candidate, key != nil, Digest.constantTimeEqual(candidate.verifier, expected),
                let record = try licenses.record(id: candidate.id), Digest.constantTimeEqual(record.verifier, expected)
            else {
                try countFailure(from: clientAddress, connection: connection, now: now)
                return LicenseAnswer(status: .invalid, site: site.canonical)
            }
            if let product, !product.isEmpty, product != record.product {
                return LicenseAnswer(status: .wrongProduct, product: record.product, site: site.canonical)
            }
            return try apply(change, record: record, site: site, connection: connection, now: now)
        }
    }

    /// Verify is the hot path, so it reads the license and its seats in one statement outside
    /// a transaction and writes only when it must: a failed lookup is counted, and last-seen is
    /// recorded at most hourly. Stale seats count as released here; their rows go at the next
    /// activation or deactivation, under the license's lock.
    private func verify(
        selector: String, keyIsWellFormed: Bool, expected: [UInt8], site: SiteURL, product: String?,
        clientAddress: String, now: Date
    ) throws -> LicenseAnswer {
        let store = context.store
        let found = try store.readLatest { try LicenseRepository($0, prefix: store.prefix).recordWithActivations(selector: selector) }
        guard let found, keyIsWellFormed, Digest.constantTimeEqual(found.record.verifier, expected) else {
            try store.transaction { try countFailure(from: clientAddress, connection: $0, now: now) }
            return LicenseAnswer(status: .invalid, site: site.canonical)
        }
        let record = found.record
        if let product, !product.isEmpty, product != record.product {
            return LicenseAnswer(status: .wrongProduct, product: record.product, site: site.canonical)
        }
        let cutoff = staleCutoff(now)
        var answer = Self.answer(record, seats: found.activations.filter { $0.lastSeen >= cutoff }, site: site)
        let standing = Self.standing(record, now: now)
        guard standing == .active else {
            answer.status = standing
            return answer
        }
        guard answer.activationID != nil else {
            answer.status = .siteInactive
            return answer
        }
        // Seats go stale after days; recording "seen" once an hour is plenty, and spares the
        // database a durable write (an fsync) on nearly every verify.
        if let mine = found.activations.first(where: { $0.site == site.canonical }), now.timeIntervalSince(mine.lastSeen) >= 3600 {
            try store.withConnection { try ActivationRepository($0, prefix: store.prefix).touch(licenseID: record.id, site: site.canonical, now: now) }
        }
        return answer
    }

    /// Seats not seen since this moment free themselves (`licensing.stale_days`).
    private func staleCutoff(_ now: Date) -> Date {
        now.addingTimeInterval(-Double(settings.staleDays) * 86_400)
    }

    /// The verdict for a license in good standing, counted over its current seats.
    private static func answer(_ record: LicenseRepository.Record, seats: [ActivationRepository.Activation], site: SiteURL) -> LicenseAnswer {
        LicenseAnswer(
            status: .active, product: record.product, tier: record.tier, expiresAt: record.expiresAt,
            activationLimit: record.activationLimit, activations: seats.filter { $0.kind == .production }.count,
            site: site.canonical, activationID: seats.first { $0.site == site.canonical }?.activationID, licenseID: record.id)
    }

    /// The actions that change seats, and so run on the locked license row.
    private enum Change { case activate, deactivate }

    private func apply(_ change: Change, record: LicenseRepository.Record, site: SiteURL, connection: Connection, now: Date) throws -> LicenseAnswer {
        let prefix = context.store.prefix
        let activations = ActivationRepository(connection, prefix: prefix)
        let audit = AuditLog(connection, prefix: prefix)
        let actor = "license-api"

        let licenses = LicenseRepository(connection, prefix: prefix)
        let releasedSites = try activations.releaseStale(licenseID: record.id, seenBefore: staleCutoff(now))
        if !releasedSites.isEmpty { try licenses.countSeatChange(record.id) }
        for released in releasedSites {
            try audit.record(
                subject: "license", id: String(record.id), action: "activation_released", before: nil, after: nil,
                actor: "stale-release", detail: "site \(released)", now: now)
        }
        var current = try activations.all(licenseID: record.id)
        var answer = Self.answer(record, seats: current, site: site)
        let standing = Self.standing(record, now: now)

        switch change {
        case .activate:
            guard standing == .active else {
                answer.status = standing
                return answer
            }
            if answer.activationID != nil {
                // Re-activating an active site: same activation, no seat, no churn.
                try activations.touch(licenseID: record.id, site: site.canonical, now: now)
                return answer
            }
            try checkChurn(record.id, connection: connection, now: now)
            let staging =
                StagingSites(extraSuffixes: settings.stagingDomains).isStaging(site)
                && current.filter({ $0.kind == .staging }).count < settings.stagingLimit
            if !staging && answer.activations! >= record.activationLimit {
                answer.status = .noActivationsLeft
                return answer
            }
            try licenses.countSeatChange(record.id)
            let activationID = "act_" + Hex.encode(context.random.bytes(10))
            let kind: ActivationRepository.Kind = staging ? .staging : .production
            try activations.insert(licenseID: record.id, activationID: activationID, site: site.canonical, kind: kind, now: now)
            try RateLimiter(connection, prefix: prefix).hit("churn:\(record.id)", window: 86_400, now: now)
            try audit.record(
                subject: "license", id: String(record.id), action: "activated", before: nil, after: kind.rawValue, actor: actor,
                detail: "site \(site.canonical)", now: now)
            current = try activations.all(licenseID: record.id)
            answer.activations = current.filter { $0.kind == .production }.count
            answer.activationID = activationID
            return answer

        case .deactivate:
            // Idempotent, and only ever this one site.
            if answer.activationID != nil {
                try checkChurn(record.id, connection: connection, now: now)
                try licenses.countSeatChange(record.id)
                try activations.remove(licenseID: record.id, site: site.canonical)
                try RateLimiter(connection, prefix: prefix).hit("churn:\(record.id)", window: 86_400, now: now)
                try audit.record(
                    subject: "license", id: String(record.id), action: "deactivated", before: nil, after: nil, actor: actor,
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
        standing(status: record.status, expiresAt: record.expiresAt, now: now)
    }

    static func standing(status: LicenseRepository.Status, expiresAt: Date?, now: Date) -> LicenseStatus {
        switch status {
        case .disabled: return .disabled
        case .refunded: return .refunded
        case .suspended: return .suspended
        case .expired: return .expired
        case .active:
            if let expiresAt, expiresAt <= now { return .expired }
            return .active
        }
    }

    private func checkChurn(_ licenseID: Int64, connection: Connection, now: Date) throws {
        let hits = try RateLimiter(connection, prefix: context.store.prefix).hits("churn:\(licenseID)", window: 86_400, now: now)
        if hits >= Int64(settings.churnLimit) {
            throw APIError.rateLimited(
                "too many activations and deactivations of this license today",
                retryAfterSeconds: RateLimiter.secondsLeft(now, 86_400))
        }
    }

    /// The failed-lookup buckets of a client: its address and its network, with their limits.
    private func guessingBuckets(_ address: String) -> [(bucket: String, limit: Int)] {
        [
            ("lookup-ip:" + ClientNetwork.address(address), settings.failedLookupsPerAddress),
            ("lookup-net:" + ClientNetwork.of(address), settings.failedLookupsPerNetwork),
        ]
    }

    private static let guessingWindow: Int64 = 600

    /// 429 for a client whose address or network has used up its failed lookups (one read).
    private func refuseIfGuessing(from address: String, now: Date) throws {
        let buckets = guessingBuckets(address)
        let store = context.store
        let counts = try store.withConnection {
            try RateLimiter($0, prefix: store.prefix).hits(of: buckets.map(\.bucket), window: Self.guessingWindow, now: now)
        }
        if buckets.contains(where: { (counts[$0.bucket] ?? 0) >= Int64($0.limit) }) { throw rateLimited(now) }
    }

    /// Counts a failed lookup for the address and its network, each atomically, and refuses
    /// with 429 the lookup that goes over a limit (failed lookups only: real keys are never
    /// throttled by others' guesses).
    private func countFailure(from address: String, connection: Connection, now: Date) throws {
        let limiter = RateLimiter(connection, prefix: context.store.prefix)
        var over = false
        for (bucket, limit) in guessingBuckets(address) {
            if try limiter.hitAndCount(bucket, window: Self.guessingWindow, now: now) > Int64(limit) { over = true }
        }
        if over { throw rateLimited(now) }
    }

    private func rateLimited(_ now: Date) -> APIError {
        APIError.rateLimited(
            "too many failed license lookups from this address; try again later",
            retryAfterSeconds: RateLimiter.secondsLeft(now, Self.guessingWindow))
    }

    /// A key used only to spend the same hashing time when the given text is not a key.
    private static let decoy = LicenseKey.generate(using: SecureRandom())
}
