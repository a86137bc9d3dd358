import MariaStore

/// The admin page's routes (below `/admin`), each wrapped so that its refusals and failures
/// are pages, not JSON: no session sends a page to sign-in (303) and refuses a POST (403).
enum AdminRoutes {
    static func routes() -> [Route] {
        let form = ["application/x-www-form-urlencoded"]
        return [
            Route("GET", "/admin", handler: page(Dashboard.show)),
            Route("GET", "/admin/sign-in", handler: page(AdminSignIn.form)),
            Route("POST", "/admin/sign-in", accepts: form, handler: page(AdminSignIn.signIn)),
            Route("POST", "/admin/sign-out", accepts: form, handler: page(AdminSignIn.signOut)),
            Route("POST", "/admin/search", accepts: form, handler: page(CustomerSearch.search)),
            Route("GET", "/admin/customers/{id}", handler: page(CustomerPage.show)),
            Route("GET", "/admin/events", handler: page(EventsPage.show)),
            Route("POST", "/admin/actions/{action}", accepts: form, handler: page(AdminActions.perform)),
        ]
    }

    static func page(_ handler: @escaping Handler) -> Handler {
        { request, context in
            do {
                return try handler(request, context)
            } catch let refusal as AdminRefusal {
                switch refusal {
                case .signInRequired:
                    if request.method == "GET" || request.method == "HEAD" { return AdminPage.redirect("/sign-in", context: context) }
                    return AdminPage.render(
                        "Sign in first", AdminPage.notice("Your session has ended. Sign in again.", error: true), session: nil,
                        status: HTTPStatus(403, "Forbidden"), context: context)
                case .forbidden(let message):
                    return AdminPage.render(
                        "Refused", AdminPage.notice(message, error: true), session: nil, status: HTTPStatus(403, "Forbidden"), context: context)
                case .invalid(let message):
                    let session = try? AdminSession.current(request, context)
                    return AdminPage.render("Not done", AdminPage.notice(message, error: true), session: session, status: .badRequest, context: context)
                case .notFound:
                    let session = try? AdminSession.current(request, context)
                    return AdminPage.render(
                        "Not found", AdminPage.notice("There is nothing here.", error: true), session: session, status: .notFound, context: context)
                }
            } catch let error as APIError where error.status.code < 500 {
                let session = try? AdminSession.current(request, context)
                return AdminPage.render("Not done", AdminPage.notice(error.message, error: true), session: session, status: error.status, context: context)
            } catch {
                context.logger.error("admin page failed", metadata: ["error": "\(error)"])
                let session = try? AdminSession.current(request, context)
                var status: HTTPStatus = (error as? any HTTPResponseError)?.status ?? .internalServerError
                if let error = error as? DatabaseError, error.isUnavailable || error.isTransient { status = .serviceUnavailable }
                return AdminPage.render(
                    "Something went wrong", AdminPage.notice("It has been logged. Try again in a moment.", error: true),
                    session: session, status: status, context: context)
            }
        }
    }
}
