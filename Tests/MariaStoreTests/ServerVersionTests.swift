import MariaStore
import Testing

@Suite("Database server versions")
struct ServerVersionTests {
    @Test(arguments: [
        "10.6.0-MariaDB", "10.6.16-MariaDB-0ubuntu0.22.04.1", "10.11.6-MariaDB-0+deb12u1", "11.4.2-MariaDB",
        "5.5.5-10.6.12-MariaDB-log", "5.5.5-10.11.6-MariaDB-1:10.11.6+maria~deb12",
    ])
    func mariaDB106AndLaterIsSupported(_ announced: String) throws {
        let version = try #require(ServerVersion(announced: announced))
        #expect(version.isMariaDB)
        #expect(version.problem == nil, "\(announced)")
    }

    @Test(arguments: ["10.5.23-MariaDB", "10.4.32-MariaDB-log", "5.5.5-10.3.39-MariaDB-0+deb10u1", "5.5.68-MariaDB"])
    func olderMariaDBIsRefused(_ announced: String) {
        let problem = ServerVersion.problem(announced: announced)
        #expect(problem?.contains("older than MariaDB 10.6") == true, "\(announced): \(problem ?? "accepted")")
    }

    @Test(arguments: ["8.0.36", "8.0.36-0ubuntu0.22.04.1", "8.4.0", "5.7.44-log", "9.1.0-commercial", "8.0.35-27"])
    func mySQLIsRefused(_ announced: String) {
        let problem = ServerVersion.problem(announced: announced)
        #expect(problem?.contains("not MariaDB") == true, "\(announced): \(problem ?? "accepted")")
        #expect(problem?.contains("MySQL is not supported") == true)
    }

    @Test(arguments: ["", "MariaDB", "x.y.z", "10", "10.11.6.1.2-MariaDB"])
    func textWithoutAVersionIsRefused(_ announced: String) {
        #expect(ServerVersion.problem(announced: announced) != nil, "\(announced)")
    }

    @Test func readsTheParts() throws {
        let version = try #require(ServerVersion(announced: "5.5.5-10.11.6-MariaDB-0+deb12u1"))
        #expect((version.major, version.minor, version.patch) == (10, 11, 6))
    }
}
