import Foundation
import MariaStore

/// `payments-fcgi reconcile` (hourly from cron): Checkout Sessions completed in the last hours
/// that we have not fulfilled — a webhook that never arrived — are fulfilled now, through the
/// same exactly-once code, so no buyer is left without what they paid for.
public struct Reconciliation {
    let context: Context

    public init(context: Context) {
        self.context = context
    }

    public struct Report: Sendable {
        public var examined = 0
        public var fulfilled: [String] = []
        /// Sessions that could not be applied, with the reason; the others were still examined.
        public var failed: [(session: String, reason: String)] = []
    }

    public func run(hours: Int = 72) throws -> Report {
        var report = Report()
        let since = Int64(context.clock.now.timeIntervalSince1970) - Int64(hours) * 3600
        var after: String?
        repeat {
            var query = [("status", "complete"), ("created[gte]", String(since)), ("limit", "100")]
            if let after { query.append(("starting_after", after)) }
            let page = try context.stripe.get("/v1/checkout/sessions", query: query)
            let sessions = try page.array("data")
            for object in sessions {
                report.examined += 1
                // One session that cannot be applied must not leave the others unexamined.
                do {
                    let session = try CheckoutFulfilment.Session(object)
                    guard session.sells, session.isPaid, try needsFulfilment(session.id) else { continue }
                    let fulfilment = CheckoutFulfilment(context: context, actor: "reconcile")
                    let purchase = try fulfilment.purchase(of: session)
                    let subscription = try fulfilment.unknownSubscription(of: session)
                    try context.store.transaction { connection in
                        try fulfilment.apply(session, proposed: .paid, purchase: purchase, subscription: subscription, on: connection)
                    }
                    report.fulfilled.append(session.id)
                    context.logger.notice("reconciled a session the webhook had not fulfilled", metadata: ["session": "\(session.id)"])
                } catch let error as DatabaseError where error.isUnavailable {
                    throw error  // nothing else will work either
                } catch {
                    let id = (try? object.string("id")) ?? "session \(report.examined)"
                    report.failed.append((id, "\(error)"))
                    context.logger.error("reconcile: session not applied", metadata: ["session": "\(id)", "error": "\(error)"])
                }
            }
            after = (try? page.optionalBool("has_more")) == true ? try sessions.last?.optionalString("id") : nil
        } while after != nil
        return report
    }

    private func needsFulfilment(_ sessionID: String) throws -> Bool {
        let store = context.store
        return try store.withConnection { connection in
            guard let order = try OrderRepository(connection, prefix: store.prefix).find(sessionID: sessionID) else { return true }
            if order.status != .paid { return order.status == .pending }
            return try GrantRepository(connection, prefix: store.prefix).grants(orderID: order.id).isEmpty
        }
    }
}
