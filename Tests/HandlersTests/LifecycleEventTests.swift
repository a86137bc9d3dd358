import Foundation
import Handlers
import MariaStore
import TestSupport
import Testing

/// Payments, refunds, disputes and subscriptions from the real payloads, one event at a
/// time and then in random orders.
@Suite("Stripe webhook: payments, refunds, disputes, subscriptions")
struct LifecycleEventTests {
    let harness: ServiceFixture

    init() throws { harness = try ServiceFixture() }

    func deliver(_ fixture: String) throws -> String? {
        let response = try harness.deliver(fixture)
        #expect(response.status.code == 200, "\(fixture): \(String(decoding: response.body, as: UTF8.self))")
        return harness.status(response)
    }

    func value(_ sql: String) throws -> String? { try harness.value(sql) }
    func count(_ table: String, _ condition: String = "1 = 1") throws -> Int64 { try harness.count(table, condition) }

    @Test func paymentIntentOutcomesAreRecordedWithHistory() throws {
        #expect(try deliver("payment_intent.processing") == "processed")
        #expect(try value("SELECT status AS v FROM pfc_payments WHERE payment_intent = 'pi_3SnKpaySepa0000002'") == "processing")
        #expect(try deliver("payment_intent.payment_failed") == "processed")
        #expect(try value("SELECT failure_code AS v FROM pfc_payments WHERE payment_intent = 'pi_3SnKpayFail0000003'") == "generic_decline")
        #expect(try value("SELECT failure_message AS v FROM pfc_payments WHERE payment_intent = 'pi_3SnKpayFail0000003'") == "Your card was declined.")
    }

    @Test func olderPaymentStateNeverOverwritesNewer() throws {
        // succeeded (later) arrives before processing (earlier) for the same PaymentIntent.
        let succeeded = try StripeFixtures.variant(
            "payment_intent.succeeded", event: ["id": "evt_pi_late_ok", "created": 1_767_300_000],
            object: ["id": "pi_3SnKpaySepa0000002"])
        #expect(harness.status(harness.deliver(succeeded)) == "processed")
        #expect(try deliver("payment_intent.processing") == "processed")
        #expect(try value("SELECT status AS v FROM pfc_payments WHERE payment_intent = 'pi_3SnKpaySepa0000002'") == "succeeded")
        let history = try harness.context.store.withConnection { try PaymentRepository($0, prefix: .standard).statusHistory("pi_3SnKpaySepa0000002") }
        #expect(history == ["processing", "succeeded"])
    }

    @Test func chargeCarriesRiskAndReceipt() throws {
        #expect(try deliver("charge.succeeded") == "processed")
        #expect(try value("SELECT CONCAT(risk_level, ' ', risk_score) AS v FROM pfc_payments WHERE payment_intent = 'pi_3SnKpayCard0000001'") == "normal 32")
        #expect(try value("SELECT receipt_url AS v FROM pfc_payments") == "https://pay.stripe.com/receipts/payment/CAcaFwoVYWNjdF8xU25LdGVzdA000001")
    }

    @Test func fullRefundRefundsTheOrderAndItsLicense() throws {
        #expect(try deliver("checkout.session.completed.payment_card") == "processed")
        #expect(try deliver("charge.refunded.full") == "processed")
        #expect(try value("SELECT status AS v FROM pfc_orders") == "refunded")
        #expect(try value("SELECT amount_refunded AS v FROM pfc_orders") == "4900")
        #expect(try value("SELECT status AS v FROM pfc_licenses") == "refunded")
        #expect(try count("outbox", "kind = 'notification' AND payload LIKE '%grant.revoked%'") == 1)
        #expect(try count("audit_log", "subject_type = 'license' AND after_state = 'refunded'") == 1)
    }

    @Test func partialRefundKeepsTheGrants() throws {
        #expect(try deliver("checkout.session.completed.payment_card") == "processed")
        #expect(try deliver("charge.refunded.partial") == "processed")
        #expect(try value("SELECT status AS v FROM pfc_orders") == "paid")
        #expect(try value("SELECT amount_refunded AS v FROM pfc_orders") == "1000")
        #expect(try value("SELECT status AS v FROM pfc_licenses") == "active")
    }

    @Test func refundBeforeTheOrderIsAppliedWhenTheOrderArrives() throws {
        #expect(try deliver("charge.refunded.full") == "processed")
        #expect(try count("orders") == 0)
        #expect(try deliver("checkout.session.completed.payment_card") == "processed")
        #expect(try value("SELECT status AS v FROM pfc_orders") == "refunded")
        #expect(try value("SELECT status AS v FROM pfc_licenses") == "refunded")
    }

    @Test func refundReversesCredits() throws {
        try harness.created(ServiceFixture.cardSession, product: "credit-pack", quantity: 2)
        let body = try StripeFixtures.variant("checkout.session.completed.payment_card", object: ["metadata": ["product": "credit-pack", "quantity": "2"]])
        #expect(harness.status(harness.deliver(body)) == "processed")
        #expect(try value("SELECT SUM(delta) AS v FROM pfc_credit_ledger") == "200")
        #expect(try deliver("charge.refunded.full") == "processed")
        #expect(try value("SELECT SUM(delta) AS v FROM pfc_credit_ledger") == "0")
        #expect(try count("credit_ledger", "kind = 'reversal'") == 1)
    }

    @Test func disputeSuspendsThenLostDisables() throws {
        #expect(try deliver("checkout.session.completed.payment_card") == "processed")
        #expect(try deliver("charge.dispute.created") == "processed")
        #expect(try value("SELECT status AS v FROM pfc_licenses") == "suspended")
        #expect(try deliver("charge.dispute.closed.lost") == "processed")
        #expect(try value("SELECT status AS v FROM pfc_licenses") == "disabled")
    }

    @Test func wonDisputeReinstates() throws {
        #expect(try deliver("checkout.session.completed.payment_card") == "processed")
        #expect(try deliver("charge.dispute.created") == "processed")
        let won = try StripeFixtures.variant("charge.dispute.closed.lost", event: ["id": "evt_dispute_won"], object: ["status": "won"])
        #expect(harness.status(harness.deliver(won)) == "processed")
        #expect(try value("SELECT status AS v FROM pfc_licenses") == "active")
    }

    @Test func subscriptionLicenseFollowsTheSubscription() throws {
        #expect(try deliver("checkout.session.completed.subscription") == "processed")
        #expect(try value("SELECT CONCAT(status, ' ', activation_limit) AS v FROM pfc_licenses") == "active 2")
        #expect(try deliver("customer.subscription.created") == "processed")
        // Period end 2026-02-01 12:06:40 plus 7 days' grace.
        #expect(try value("SELECT expires_at AS v FROM pfc_licenses") == "2026-02-08 12:06:40.000000")
        #expect(try deliver("customer.subscription.updated.cancel_at_period_end") == "processed")
        #expect(try value("SELECT cancel_at_period_end AS v FROM pfc_subscriptions") == "1")
        #expect(try deliver("customer.subscription.deleted") == "processed")
        #expect(try value("SELECT status AS v FROM pfc_subscriptions") == "canceled")
        // Cancelled: valid until the period end (the clock stands before it), no grace.
        #expect(try value("SELECT CONCAT(status, ' ', expires_at) AS v FROM pfc_licenses") == "active 2026-02-01 12:06:40.000000")
        // An ended subscription stays ended, whatever arrives after.
        #expect(try deliver("customer.subscription.updated.past_due") == "processed")
        #expect(try value("SELECT status AS v FROM pfc_subscriptions") == "canceled")
    }

    @Test func olderSubscriptionUpdateIsRecordedNotApplied() throws {
        #expect(try deliver("customer.subscription.updated.cancel_at_period_end") == "processed")
        #expect(try deliver("customer.subscription.created") == "processed")  // older
        #expect(try value("SELECT cancel_at_period_end AS v FROM pfc_subscriptions") == "1")
        #expect(try count("events", "outcome = 'processed'") == 2)
    }

    @Test func paidInvoiceGrantsThePlansCreditsOnce() throws {
        #expect(try deliver("invoice.paid") == "processed")
        #expect(try value("SELECT SUM(delta) AS v FROM pfc_credit_ledger") == "50")
        // invoice.payment_succeeded about the same invoice is not a second grant.
        #expect(try deliver("invoice.payment_succeeded") == "ignored")
        let again = try StripeFixtures.variant("invoice.paid", event: ["id": "evt_invoice_paid_again"])
        #expect(harness.status(harness.deliver(again)) == "processed")
        #expect(try value("SELECT SUM(delta) AS v FROM pfc_credit_ledger") == "50")
    }

    @Test func failedRenewalQueuesTheEmail() throws {
        #expect(try deliver("invoice.payment_failed") == "processed")
        #expect(try count("outbox", "kind = 'payment_failed_email'") == 1)
    }

    // MARK: Any order

    static let paymentEvents = [
        "checkout.session.completed.payment_card", "payment_intent.succeeded", "charge.succeeded", "charge.refunded.partial",
        "charge.refunded.full", "charge.dispute.created", "charge.dispute.closed.lost",
    ]

    static let subscriptionEvents = [
        "checkout.session.completed.subscription", "customer.subscription.created", "invoice.paid",
        "customer.subscription.updated.cancel_at_period_end", "customer.subscription.deleted",
        "customer.subscription.updated.past_due", "invoice.payment_failed",
    ]

    /// 200 seeded random orderings each (every one of the 5,040 with PFC_LONG_TESTS=1).
    static func orderings(of events: [String], seed: UInt64) -> [[String]] {
        if ProcessInfo.processInfo.environment["PFC_LONG_TESTS"] == "1" { return permutations(events) }
        var random = WebhookSignatureOracleTests.SeededRandom(state: seed)
        return (0..<200).map { _ in events.shuffled(using: &random) }
    }

    static func permutations(_ items: [String]) -> [[String]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { i -> [[String]] in
            var rest = items
            let first = rest.remove(at: i)
            return permutations(rest).map { [first] + $0 }
        }
    }

    @Test func paymentRefundAndDisputeEventsEndTheSameInAnyOrder() throws {
        for ordering in Self.orderings(of: Self.paymentEvents, seed: 7) {
            try harness.reset()
            for fixture in ordering { _ = try deliver(fixture) }
            let label = ordering.joined(separator: " → ")
            #expect(try value("SELECT CONCAT(status, ' ', amount_refunded) AS v FROM pfc_orders") == "refunded 4900", "\(label)")
            #expect(try value("SELECT GROUP_CONCAT(status) AS v FROM pfc_licenses") == "refunded", "\(label)")
            #expect(try value("SELECT CONCAT(status, ' ', amount_refunded, ' ', risk_level) AS v FROM pfc_payments") == "succeeded 4900 normal", "\(label)")
            #expect(try value("SELECT status AS v FROM pfc_disputes") == "lost", "\(label)")
            #expect(try count("events", "outcome = 'processed'") == 7, "\(label)")
        }
    }

    @Test func subscriptionEventsEndTheSameInAnyOrder() throws {
        for ordering in Self.orderings(of: Self.subscriptionEvents, seed: 11) {
            try harness.reset()
            for fixture in ordering { _ = try deliver(fixture) }
            let label = ordering.joined(separator: " → ")
            #expect(
                try value("SELECT CONCAT(status, ' ', current_period_end) AS v FROM pfc_subscriptions") == "canceled 2026-02-01 12:06:40.000000", "\(label)")
            #expect(try value("SELECT GROUP_CONCAT(CONCAT(status, ' ', expires_at)) AS v FROM pfc_licenses") == "active 2026-02-01 12:06:40.000000", "\(label)")
            #expect(try value("SELECT SUM(delta) AS v FROM pfc_credit_ledger") == "50", "\(label)")
            #expect(try count("outbox", "kind = 'payment_failed_email'") == 1, "\(label)")
            #expect(try count("events", "outcome = 'processed'") == 7, "\(label)")
        }
    }
}
