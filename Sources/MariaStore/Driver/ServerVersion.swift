/// The database server's version as it announces itself at login (`mysql_get_server_info`),
/// and whether the store can run on it.
///
/// MariaDB 10.6 is the oldest server supported: the outbox claims messages with `SKIP LOCKED`
/// (new in 10.6). MySQL is not supported at all: besides other differences, the migrations use
/// MariaDB's `ADD COLUMN IF NOT EXISTS`, which MySQL does not have.
public struct ServerVersion: Sendable, Equatable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int
    public let isMariaDB: Bool
    /// The text the server sent.
    public let announced: String

    /// The oldest MariaDB this store runs on.
    public static let minimum = (major: 10, minor: 6)

    /// Reads `10.11.6-MariaDB-0+deb12u1`, `5.5.5-10.6.12-MariaDB-log` (the old replication
    /// prefix some servers still send), `8.0.36` (MySQL). Nil when there is no version number.
    public init?(announced text: String) {
        var rest = Substring(text)
        let isMariaDB = text.lowercased().contains("mariadb")
        if isMariaDB, rest.hasPrefix("5.5.5-") { rest = rest.dropFirst(6) }
        let numbers = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }.split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count >= 2, numbers.count <= 3,
            let major = Int(numbers[0]), let minor = Int(numbers[1]),
            let patch = numbers.count == 3 ? Int(numbers[2]) : 0
        else { return nil }
        self.major = major
        self.minor = minor
        self.patch = patch
        self.isMariaDB = isMariaDB
        self.announced = text
    }

    /// Nil when supported; otherwise why not, in a sentence for the operator.
    public var problem: String? {
        guard isMariaDB else {
            return "the database server is \(description), not MariaDB: PaymentsFCGI needs MariaDB \(Self.minimum.major).\(Self.minimum.minor) or later "
                + "(its migrations use ADD COLUMN IF NOT EXISTS and its outbox SKIP LOCKED as MariaDB has them; MySQL is not supported)"
        }
        guard (major, minor) >= Self.minimum else {
            return "the database server is \(description), older than MariaDB \(Self.minimum.major).\(Self.minimum.minor): "
                + "upgrade it (the outbox needs SELECT … SKIP LOCKED, new in 10.6)"
        }
        return nil
    }

    public var description: String { "\(isMariaDB ? "MariaDB" : "MySQL or another server") \(major).\(minor).\(patch) (\(announced))" }
}

/// Deciding from text the server sent, without trusting it to be a version at all.
extension ServerVersion {
    /// `problem` for announced text, including text that is no version.
    public static func problem(announced text: String) -> String? {
        guard let version = ServerVersion(announced: text) else {
            return "the database server announced no version PaymentsFCGI can read (\(text)): it needs MariaDB \(minimum.major).\(minimum.minor) or later"
        }
        return version.problem
    }
}
