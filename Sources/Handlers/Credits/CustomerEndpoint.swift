import Foundation
import MariaStore

/// `GET /customers/{email|cus_…}` — what a buyer holds, for the shop's own pages (API key):
/// subscriptions (plan, status, period end, cancellation, days left), licenses (product,
/// status, seats used of the limit, expiry — never keys), credits (balance and debt),
/// entitlements, and the payment methods Stripe has on file (brand, last 4, expiry; asked of
/// Stripe each time, never stored).
public enum CustomerEndpoint {
    public static func show(_ request: Request, _ context: Context) throws -> Response {
        try APIKeyCheck.require(request, context)
        let reference = request.pathParameters["reference"] ?? ""
        guard !reference.isEmpty, reference.utf8.count <= 254 else { throw APIError.invalidRequest("name a customer by email or Stripe customer id (cus_…)") }
        let store = context.store
        let now = context.clock.now
        let held = try store.withConnection { connection -> JSONValue? in
            let customers = CustomerRepository(connection, prefix: store.prefix)
            guard let id = try customers.find(reference: reference) else { return nil }
            let products = ProductRepository(connection, prefix: store.prefix)
            let sum = try CreditLedger(connection, prefix: store.prefix).creditBalance(customerID: id)
            let subscriptions = try SubscriptionRepository(connection, prefix: store.prefix).subscriptions(customerID: id).map { subscription -> JSONValue in
                let plan = try subscription.product.flatMap { try products.named($0) }
                let daysLeft = subscription.currentPeriodEnd.map { max(0, Int64(($0.timeIntervalSince(now) / 86_400).rounded(.up))) }
                return .object([
                    "subscription": .string(subscription.subscription), "product": subscription.product.map(JSONValue.string) ?? .null,
                    "plan": plan.map { .string($0.name) } ?? .null, "price": subscription.priceID.map(JSONValue.string) ?? .null,
                    "quantity": subscription.quantity.map { .int(Int64($0)) } ?? .null, "status": .string(subscription.status),
                    "current_period_end": subscription.currentPeriodEnd.map { .string(ISOTime.string($0)) } ?? .null,
                    "cancel_at_period_end": .bool(subscription.cancelAtPeriodEnd), "days_left": daysLeft.map(JSONValue.int) ?? .null,
                ])
            }
            let licenses = try LicenseRepository(connection, prefix: store.prefix).summaries(customerID: id).map { license -> JSONValue in
                .object([
                    "license_id": .int(license.id), "product": .string(license.product), "tier": license.tier.map(JSONValue.string) ?? .null,
                    "status": .string(LicenseService.standing(status: license.status, expiresAt: license.expiresAt, now: now).rawValue),
                    "seats_used": .int(Int64(license.seatsUsed)), "activation_limit": .int(Int64(license.activationLimit)),
                    "expires_at": license.expiresAt.map { .string(ISOTime.string($0)) } ?? .null,
                ])
            }
            let entitlements = try GrantRepository(connection, prefix: store.prefix).entitlements(customerID: id).map { held -> JSONValue in
                .object(["entitlement": .string(held.entitlement), "product": .string(held.product), "order": .string(held.order)])
            }
            return .object([
                "customer": .string(reference), "email": try customers.email(of: id).map(JSONValue.string) ?? .null,
                "stripe_customers": .array(try customers.stripeCustomers(customerID: id).map(JSONValue.string)),
                "credits": .object(["balance": .int(max(0, sum)), "debt": .int(max(0, -sum))]),
                "subscriptions": .array(subscriptions), "licenses": .array(licenses), "entitlements": .array(entitlements),
            ])
        }
        guard case .object(var pairs)? = held else { throw APIError.notFound(message: "no such customer") }
        let stripeCustomers =
            pairs.first { $0.0 == "stripe_customers" }.flatMap { pair -> [String]? in
                guard case .array(let ids) = pair.1 else { return nil }
                return ids.compactMap { if case .string(let id) = $0 { return id } else { return nil } }
            } ?? []
        pairs.append(("payment_methods", try paymentMethods(stripeCustomers, context: context)))
        return .json(.object(pairs))
    }

    /// The cards Stripe keeps for the buyer's Stripe customers (null when Stripe cannot be
    /// asked right now: the rest of the answer still stands).
    static func paymentMethods(_ customers: [String], context: Context) throws -> JSONValue {
        var methods: [JSONValue] = []
        do {
            for customer in customers.suffix(3) {
                let page = try context.stripe.get("/v1/customers/\(FormEncoding.escape(customer))/payment_methods", query: [("type", "card"), ("limit", "10")])
                for method in try page.array("data") {
                    guard let card = try method.optionalObject("card") else { continue }
                    methods.append(
                        .object([
                            "id": .string(try method.string("id")), "brand": try card.optionalString("brand").map(JSONValue.string) ?? .null,
                            "last4": try card.optionalString("last4").map(JSONValue.string) ?? .null,
                            "exp_month": try card.optionalInt("exp_month").map(JSONValue.int) ?? .null,
                            "exp_year": try card.optionalInt("exp_year").map(JSONValue.int) ?? .null,
                        ]))
                }
            }
        } catch let failure as StripeClient.Failure {
            context.logger.warning("payment methods unavailable", metadata: ["error": "\(failure)"])
            return .null
        } catch is JSONObject.ShapeError {
            return .null
        }
        return .array(methods)
    }
}
