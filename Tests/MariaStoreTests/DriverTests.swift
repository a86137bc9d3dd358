import Foundation
import Logging
import MariaStore
import TestSupport
import Testing

@Suite("Driver: statements, binding and decoding against MariaDB")
struct DriverTests {
    let store: Store

    init() throws {
        store = try MariaDBServer.shared.makeStore(label: "drv")
        try store.withConnection { connection in
            try connection.execute(
                """
                CREATE TABLE sample (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    small INT NULL, big BIGINT UNSIGNED NULL, ratio DOUBLE NULL,
                    label VARCHAR(100) NULL, payload BLOB NULL, at DATETIME(6) NULL, price DECIMAL(10,2) NULL,
                    UNIQUE KEY sample_label (label)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
                """)
        }
    }

    @Test func theServerAnnouncesASupportedVersion() throws {
        let connection = try Connection(options: try MariaDBServer.shared.createDatabase("version"))
        defer { connection.close() }
        let version = try #require(ServerVersion(announced: connection.serverVersion))
        #expect(version.isMariaDB && version.problem == nil, "\(connection.serverVersion)")
    }

    @Test func valuesRoundTripThroughBoundParameters() throws {
        let bytes: [UInt8] = [0, 1, 2, 0, 255, 39, 34, 92]
        let label = "Ünïcode 🎉 'quoted' \"double\" \\ back"
        try store.withConnection { connection in
            let result = try connection.execute(
                "INSERT INTO sample (small, big, ratio, label, payload, at, price) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [-42, UInt64.max, 0.25, label, bytes, "2026-11-22 01:02:03.456789", "19.99"])
            #expect(result.affectedRows == 1)
            #expect(result.lastInsertID >= 1)
            let row = try #require(try connection.queryOne("SELECT * FROM sample WHERE label = ?", [label]))
            #expect(try row.int("small") == -42)
            #expect(try row.value("big") == .uint(UInt64.max))
            #expect(try row.value("ratio") == .double(0.25))
            #expect(try row.string("label") == label)
            #expect(try row.bytes("payload") == bytes)
            #expect(try row.string("at") == "2026-11-22 01:02:03.456789")
            #expect(try row.string("price") == "19.99")
        }
    }

    @Test func nullsAreBoundAndDecoded() throws {
        try store.withConnection { connection in
            let missing: String? = nil
            try connection.execute("INSERT INTO sample (label, small) VALUES (?, ?)", ["nulls", missing])
            let row = try #require(try connection.queryOne("SELECT small, payload FROM sample WHERE label = ?", ["nulls"]))
            #expect(try row.optionalInt("small") == nil)
            #expect(try row.value("payload") == .null)
            #expect(throws: DatabaseError.self) { try row.int("small") }
        }
    }

    @Test func injectionAttemptsAreJustValues() throws {
        let hostile = "x'); DROP TABLE sample; --"
        try store.withConnection { connection in
            try connection.execute("INSERT INTO sample (label) VALUES (?)", [hostile])
            #expect(try connection.query("SELECT label FROM sample WHERE label = ?", [hostile]).count == 1)
            #expect(try connection.queryOne("SELECT COUNT(*) AS n FROM sample")?.int("n") == 1)
        }
    }

    @Test func manyRowsAndLargeValuesAreFetched() throws {
        let long = String(repeating: "abcdefghij", count: 10)
        try store.withConnection { connection in
            for i in 0..<200 {
                try connection.execute("INSERT INTO sample (small, label) VALUES (?, ?)", [i, "\(i)-\(long)".prefix(100)])
            }
            let rows = try connection.query("SELECT small, label FROM sample ORDER BY small")
            #expect(rows.count == 200)
            #expect(try rows[199].int("small") == 199)
            #expect(try rows[5].string("label").count == 100)
        }
    }

    @Test func serverErrorsCarryCodeAndMessage() throws {
        try store.withConnection { connection in
            let error = #expect(throws: DatabaseError.self) { try connection.query("SELEKT nothing") }
            #expect(error?.code == 1064)
            #expect(error?.kind == .server)
            #expect(error?.serverText?.contains("SQL syntax") == true)
        }
    }

    /// MariaDB's duplicate-key message quotes the key ("Duplicate entry 'PFC-…' for key"): the
    /// description, which is what reaches logs and answers, must not.
    @Test func descriptionsNeverQuoteTheServersMessage() throws {
        let secret = "PFC-SECRET-VALUE-0001"
        try store.withConnection { connection in
            try connection.execute("INSERT INTO sample (label) VALUES (?)", [secret])
            let error = #expect(throws: DatabaseError.self) { try connection.execute("INSERT INTO sample (label) VALUES (?)", [secret]) }
            #expect(error?.serverText?.contains(secret) == true)  // the server did quote it
            #expect(error?.description.contains(secret) == false)
            #expect(error?.description.contains("1062") == true)
        }
    }

    @Test func aFailureSaysWhichPhaseOfTheTransactionItEnded() throws {
        try store.withConnection { try $0.execute("INSERT INTO sample (label) VALUES (?)", ["taken"]) }
        let inBody = #expect(throws: DatabaseError.self) {
            try store.transaction { try $0.execute("INSERT INTO sample (label) VALUES (?)", ["taken"]) }
        }
        #expect(inBody?.phase == .body)
        #expect(inBody?.description.contains("at a statement of the transaction") == true)
    }

    enum Colour: String { case red, green }

    @Test func enumerationsAndDatesAreReadTypedAndUnknownValuesAreErrors() throws {
        try store.withConnection { connection in
            let moment = Date(timeIntervalSince1970: 1_795_000_000.25)
            try connection.execute("INSERT INTO sample (label, at) VALUES (?, ?), (?, ?)", ["green", moment, "gren", nil as Date?])
            let known = try #require(try connection.queryOne("SELECT label, at FROM sample WHERE label = ?", ["green"]))
            #expect(try known.value("label", as: Colour.self) == .green)
            #expect(try known.date("at") == moment)
            let misspelt = try #require(try connection.queryOne("SELECT label, at FROM sample WHERE label = ?", ["gren"]))
            let error = #expect(throws: DatabaseError.self) { try misspelt.value("label", as: Colour.self) }
            #expect(error?.kind == .decoding)
            #expect(try misspelt.optionalDate("at") == nil)
            #expect(throws: DatabaseError.self) { try misspelt.date("at") }
        }
    }

    @Test func duplicateKeysAreRecognised() throws {
        try store.withConnection { connection in
            try connection.execute("INSERT INTO sample (label) VALUES (?)", ["once"])
            let error = #expect(throws: DatabaseError.self) { try connection.execute("INSERT INTO sample (label) VALUES (?)", ["once"]) }
            #expect(error?.kind == .duplicateKey)
            #expect(error?.code == 1062)
            // The connection and its cached statement stay usable after a server error.
            try connection.execute("INSERT INTO sample (label) VALUES (?)", ["twice"])
        }
    }

    @Test func wrongParameterCountIsAMisuse() throws {
        try store.withConnection { connection in
            let error = #expect(throws: DatabaseError.self) { try connection.query("SELECT ? AS a, ? AS b", [1]) }
            #expect(error?.kind == .misuse)
        }
    }

    @Test func strictModeRefusesBadData() throws {
        try store.withConnection { connection in
            let error = #expect(throws: DatabaseError.self) {
                try connection.execute("INSERT INTO sample (label) VALUES (?)", [String(repeating: "x", count: 101)])
            }
            #expect(error?.code == 1406)  // data too long, instead of silent truncation
        }
    }

    @Test func sessionRunsInUTCWithUTF8MB4() throws {
        try store.withConnection { connection in
            let row = try #require(try connection.queryOne("SELECT @@session.time_zone AS tz, @@character_set_client AS cs, @@session.tx_isolation AS iso"))
            #expect(try row.string("tz") == "+00:00")
            #expect(try row.string("cs") == "utf8mb4")
            #expect(try row.string("iso") == "READ-COMMITTED")
        }
    }

    @Test func aServerThatStopsAnsweringIsALostConnectionAfterTheIOTimeout() throws {
        var options = store.options
        options.ioTimeoutSeconds = 1
        let connection = try Connection(options: options)
        #expect(try connection.queryOne("SELECT 1 AS one")?.int("one") == 1)
        let started = ContinuousClock.now
        let error = #expect(throws: DatabaseError.self) { _ = try connection.query("SELECT SLEEP(4) AS slept") }
        let waited = ContinuousClock.now - started
        #expect(error?.kind == .connectionLost)
        #expect(waited >= .milliseconds(900) && waited < .seconds(3), "waited \(waited)")
        #expect(!connection.isOpen)
    }

    @Test func unreachableServerIsAConnectError() {
        let store = Store(
            options: ConnectionOptions(socket: "/nonexistent/mysqld.sock", user: "x", database: "x", connectTimeoutSeconds: 1),
            prefix: .standard, logger: Logger(label: "test"))
        let error = #expect(throws: DatabaseError.self) { try store.ping() }
        #expect(error?.kind == .connect)
        #expect(error?.isUnavailable == true)
    }

    @Test func wrongPasswordIsAConnectErrorWithoutThePassword() throws {
        var options = store.options
        options.password = "definitely-wrong-pw"
        let error = #expect(throws: DatabaseError.self) { _ = try Connection(options: options) }
        #expect(error?.code == 1045)
        #expect(error?.kind == .connect)
        #expect(error?.description.contains("definitely-wrong-pw") == false)
    }
}

@Suite("Values crossing to SQL")
struct ValueTests {
    @Test func timestampsRoundTripInUTC() throws {
        let date = Date(timeIntervalSince1970: 1_795_000_000.25)
        let text = SQLTimestamp.string(from: date)
        #expect(text == "2026-11-18 11:06:40.250000")
        let back = try #require(SQLTimestamp.date(from: text))
        #expect(abs(back.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001)
        #expect(SQLTimestamp.date(from: "2026-11-18 11:06:40") == Date(timeIntervalSince1970: 1_795_000_000))
        #expect(SQLTimestamp.date(from: "not a date") == nil)
    }

    /// A timestamp from a payload that was never a real time (1e300 seconds, NaN) must not trap
    /// in the conversion to an integer: it is clamped to DATETIME's range.
    @Test func timestampsOutsideDatetimeAreClampedNotTrapped() {
        #expect(SQLTimestamp.string(from: Date(timeIntervalSince1970: 1e300)) == "9999-12-31 23:59:59.000000")
        #expect(SQLTimestamp.string(from: Date(timeIntervalSince1970: Double(Int64.max))) == "9999-12-31 23:59:59.000000")
        #expect(SQLTimestamp.string(from: Date(timeIntervalSince1970: -1e300)) == "0001-01-01 00:00:00.000000")
        #expect(SQLTimestamp.string(from: Date(timeIntervalSince1970: .infinity)) == "9999-12-31 23:59:59.000000")
        #expect(SQLTimestamp.string(from: Date(timeIntervalSince1970: .nan)) == "0001-01-01 00:00:00.000000")
    }

    @Test func tablePrefixAcceptsOnlyIdentifierCharacters() {
        #expect(TablePrefix("pfc_")?.table("events") == "pfc_events")
        #expect(TablePrefix("wp_pfc_") != nil)
        #expect(TablePrefix("Shop2_") != nil)
        for bad in ["", "wp-pfc", "pfc_;DROP", "pfc `x`", "ü_", String(repeating: "a", count: 33)] {
            #expect(TablePrefix(bad) == nil, "\(bad)")
        }
    }

    @Test func connectionDescriptionHidesThePassword() {
        let options = ConnectionOptions(socket: "/run/mysqld/mysqld.sock", user: "wp", password: "hunter2", database: "wordpress")
        #expect(options.description == "wp@unix:/run/mysqld/mysqld.sock/wordpress")
    }
}
