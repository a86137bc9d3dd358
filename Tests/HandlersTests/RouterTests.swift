import Handlers
import Testing

@Suite("Router")
struct RouterTests {
    let router = Router([
        Route("GET", "/healthz") { _, _ in Response(body: Array("health".utf8)) },
        Route("POST", "/things", accepts: ["application/json", "application/x-www-form-urlencoded"]) { _, _ in Response() },
        Route("GET", "/things/{id}") { _, _ in Response() },
        Route("DELETE", "/things/{id}") { _, _ in Response() },
    ])

    @Test func duplicateRoutesAreFoundWhateverTheirParametersAreCalled() {
        let noop: Handler = { _, _ in Response(status: .ok) }
        let routes = [
            Route("GET", "/payments/{id}", handler: noop), Route("GET", "/payments/intents", handler: noop),
            Route("POST", "/payments/{id}", handler: noop), Route("GET", "/payments/{payment}", handler: noop),
        ]
        #expect(Router.duplicates(in: routes) == ["GET /payments/{payment}"])
        #expect(Router.duplicates(in: Array(routes.prefix(3))).isEmpty)
    }

    @Test func theServicesRoutesHaveNoDuplicates() {
        #expect(Router.duplicates(in: ServiceRoutes.router().routes).isEmpty)
    }

    @Test func matchesMethodAndPath() throws {
        guard case .handler = router.match(method: "GET", path: "/healthz", mediaType: nil) else {
            Issue.record("GET /healthz did not match")
            return
        }
    }

    @Test func unknownPathIsNotFound() {
        guard case .rejected(let error) = router.match(method: "GET", path: "/nothing", mediaType: nil) else {
            Issue.record("matched an unknown path")
            return
        }
        #expect(error.status.code == 404)
        #expect(error.code == "not_found")
    }

    @Test func wrongMethodIsMethodNotAllowedWithAllow() {
        guard case .rejected(let error) = router.match(method: "POST", path: "/healthz", mediaType: nil) else {
            Issue.record("POST /healthz matched")
            return
        }
        #expect(error.status.code == 405)
        #expect(error.code == "method_not_allowed")
        #expect(error.headers["allow"] == "GET, HEAD")
    }

    @Test func allowListsEveryMethodOfThePath() {
        guard case .rejected(let error) = router.match(method: "PUT", path: "/things/7", mediaType: nil) else {
            Issue.record("PUT matched")
            return
        }
        #expect(error.headers["allow"] == "GET, HEAD, DELETE")
    }

    @Test func unknownMethodOnKnownPathIsMethodNotAllowed() {
        guard case .rejected(let error) = router.match(method: "BREW", path: "/healthz", mediaType: nil) else {
            Issue.record("BREW matched")
            return
        }
        #expect(error.status.code == 405)
    }

    @Test func headIsAnsweredByGetRoutes() {
        guard case .handler = router.match(method: "HEAD", path: "/healthz", mediaType: nil) else {
            Issue.record("HEAD /healthz did not match")
            return
        }
    }

    @Test func trailingSlashMatchesTheSameRoute() {
        guard case .handler = router.match(method: "GET", path: "/healthz/", mediaType: nil) else {
            Issue.record("GET /healthz/ did not match")
            return
        }
    }

    @Test func pathParametersAreExtracted() {
        guard case .handler(_, let parameters) = router.match(method: "GET", path: "/things/pi_123", mediaType: nil) else {
            Issue.record("no match")
            return
        }
        #expect(parameters == ["id": "pi_123"])
    }

    @Test func wrongBodyTypeIsUnsupportedMediaType() {
        guard case .rejected(let error) = router.match(method: "POST", path: "/things", mediaType: "text/plain") else {
            Issue.record("text/plain accepted")
            return
        }
        #expect(error.status.code == 415)
        #expect(error.code == "unsupported_media_type")
        guard case .rejected(let missing) = router.match(method: "POST", path: "/things", mediaType: nil) else {
            Issue.record("missing content type accepted")
            return
        }
        #expect(missing.status.code == 415)
    }

    @Test func declaredBodyTypesAreAccepted() {
        for type in ["application/json", "application/x-www-form-urlencoded"] {
            guard case .handler = router.match(method: "POST", path: "/things", mediaType: type) else {
                Issue.record("\(type) refused")
                continue
            }
        }
    }
}
