import MariaStore

extension CheckoutFulfilment {
    /// A Checkout Session (or an Elements PaymentIntent) as far as fulfilment needs it.
    public struct Session: Sendable {
        public let id: String
        public let mode: String
        /// `open`, `complete` or `expired`; nil for a PaymentIntent.
        public let status: String?
        public let paymentStatus: String
        public let amountTotal: Int64
        /// nil only for a setup-mode session, which collects a payment method and sells nothing.
        public let currency: String?
        public let stripeCustomerID: String?
        public let email: String?
        public let clientReferenceID: String?
        public let paymentIntent: String?
        public let subscription: String?
        public let metadata: [String: String]
        public let livemode: Bool
        /// The site the buyer typed at checkout (a Checkout custom field `site_url`, or
        /// `metadata[site_url]` from the shop's form), activated on the license they get.
        public var siteURL: String? = nil

        /// A purchase that is not a Checkout Session (a PaymentIntent from Stripe Elements).
        public init(
            id: String, mode: String, paymentStatus: String, amountTotal: Int64, currency: String, stripeCustomerID: String?,
            email: String?, clientReferenceID: String?, paymentIntent: String?, subscription: String?,
            metadata: [String: String], livemode: Bool
        ) {
            self.id = id
            self.mode = mode
            self.status = nil
            self.paymentStatus = paymentStatus
            self.amountTotal = amountTotal
            self.currency = currency
            self.stripeCustomerID = stripeCustomerID
            self.email = email
            self.clientReferenceID = clientReferenceID
            self.paymentIntent = paymentIntent
            self.subscription = subscription
            self.metadata = metadata
            self.livemode = livemode
        }

        public init(_ object: JSONObject) throws(JSONObject.ShapeError) {
            id = try object.string("id")
            mode = try object.string("mode")
            status = try object.optionalString("status")
            paymentStatus = try object.string("payment_status")
            amountTotal = try object.optionalInt("amount_total") ?? 0
            // Stripe sends `currency: null` for setup-mode sessions (another integration on the
            // same account may create them): nothing is sold, so nothing is read.
            if let code = try object.optionalString("currency") {
                guard code.utf8.count == 3, code.allSatisfy(\.isLetter) else {
                    throw JSONObject.ShapeError(path: "\(object.path).currency", problem: "expected a three-letter ISO currency code")
                }
                currency = code.uppercased()
            } else if mode == "setup" {
                currency = nil
            } else {
                throw JSONObject.ShapeError(path: "\(object.path).currency", problem: "is missing")
            }
            stripeCustomerID = try object.reference("customer")
            let detailsEmail = try object.optionalObject("customer_details")?.optionalString("email")
            let sessionEmail = try object.optionalString("customer_email")
            email = detailsEmail ?? sessionEmail
            clientReferenceID = try object.optionalString("client_reference_id")
            paymentIntent = try object.reference("payment_intent")
            subscription = try object.reference("subscription")
            metadata = try object.stringMap("metadata")
            livemode = try object.optionalBool("livemode") ?? false
            var typed = metadata["site_url"]
            if object.has("custom_fields") {
                for field in try object.array("custom_fields") where ["site_url", "site", "website"].contains(try field.optionalString("key") ?? "") {
                    if let value = try field.optionalObject("text")?.optionalString("value"), !value.isEmpty { typed = value }
                }
            }
            siteURL = typed.flatMap { $0.isEmpty || $0.utf8.count > 2048 ? nil : $0 }
        }

        /// Paid, or nothing to pay (a 100 % coupon): the grants are due.
        public var isPaid: Bool { paymentStatus == "paid" || paymentStatus == "no_payment_required" }

        /// A session that sells something (setup-mode sessions only save a payment method).
        public var sells: Bool { mode != "setup" && currency != nil }

        /// Whether the buyer finished the checkout (a PaymentIntent always counts as finished).
        public var isComplete: Bool { status == nil || status == "complete" }
    }
}
