/// Every migration the binary knows, in order. Append only: a shipped migration never changes.
public enum Schema {
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "audit log",
            statements: [
                // Append-only record of every state change: what, before → after, who, when.
                """
                CREATE TABLE IF NOT EXISTS {prefix}audit_log (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    occurred_at DATETIME(6) NOT NULL,
                    subject_type VARCHAR(32) NOT NULL,
                    subject_id VARCHAR(191) NOT NULL,
                    action VARCHAR(64) NOT NULL,
                    before_state VARCHAR(64) NULL,
                    after_state VARCHAR(64) NULL,
                    actor VARCHAR(191) NOT NULL,
                    detail TEXT NULL,
                    KEY {prefix}audit_subject (subject_type, subject_id),
                    KEY {prefix}audit_time (occurred_at)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """
            ]),
        Migration(
            version: 2, name: "webhook ledger, catalogue, orders, licenses, credits",
            statements: [
                // Every Stripe event we were sent, once: the primary key is what makes delivery
                // exactly-once. The payload is kept so a failed event can be replayed after an upgrade.
                """
                CREATE TABLE IF NOT EXISTS {prefix}events (
                    id VARCHAR(255) CHARACTER SET ascii NOT NULL PRIMARY KEY,
                    type VARCHAR(100) NOT NULL,
                    livemode TINYINT(1) NOT NULL,
                    api_version VARCHAR(64) NULL,
                    created_at BIGINT NOT NULL,
                    received_at DATETIME(6) NOT NULL,
                    outcome VARCHAR(16) NOT NULL,
                    error TEXT NULL,
                    payload MEDIUMBLOB NULL,
                    KEY {prefix}events_outcome (outcome, received_at)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // What a Stripe price grants. `product` is the seller's own name for it.
                """
                CREATE TABLE IF NOT EXISTS {prefix}products (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    product VARCHAR(64) CHARACTER SET ascii NOT NULL,
                    name VARCHAR(191) NOT NULL,
                    kind VARCHAR(16) NOT NULL,
                    stripe_price_id VARCHAR(255) CHARACTER SET ascii NULL,
                    tier VARCHAR(64) NULL,
                    activation_limit INT NULL,
                    duration_days INT NULL,
                    credits BIGINT NULL,
                    entitlement VARCHAR(191) NULL,
                    UNIQUE KEY {prefix}products_product (product),
                    UNIQUE KEY {prefix}products_price (stripe_price_id)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                """
                CREATE TABLE IF NOT EXISTS {prefix}customers (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    email VARCHAR(191) NULL,
                    stripe_customer_id VARCHAR(255) CHARACTER SET ascii NULL,
                    created_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}customers_stripe (stripe_customer_id),
                    KEY {prefix}customers_email (email)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // One row per Checkout Session: the session id is the order's business key.
                """
                CREATE TABLE IF NOT EXISTS {prefix}orders (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    session_id VARCHAR(255) CHARACTER SET ascii NOT NULL,
                    customer_id BIGINT UNSIGNED NULL,
                    status VARCHAR(24) NOT NULL,
                    mode VARCHAR(16) NOT NULL,
                    payment_intent VARCHAR(255) CHARACTER SET ascii NULL,
                    subscription VARCHAR(255) CHARACTER SET ascii NULL,
                    amount_total BIGINT NOT NULL,
                    amount_refunded BIGINT NOT NULL DEFAULT 0,
                    currency CHAR(3) CHARACTER SET ascii NOT NULL,
                    client_reference_id VARCHAR(255) NULL,
                    metadata TEXT NULL,
                    attention TEXT NULL,
                    livemode TINYINT(1) NOT NULL,
                    created_at DATETIME(6) NOT NULL,
                    updated_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}orders_session (session_id),
                    KEY {prefix}orders_payment_intent (payment_intent),
                    KEY {prefix}orders_customer (customer_id)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // One grant per order line: (order, line) is unique, so no delivery or event
                // about the same session can grant twice.
                """
                CREATE TABLE IF NOT EXISTS {prefix}grants (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    order_id BIGINT UNSIGNED NOT NULL,
                    line INT NOT NULL,
                    product VARCHAR(64) CHARACTER SET ascii NOT NULL,
                    kind VARCHAR(16) NOT NULL,
                    quantity INT NOT NULL,
                    license_id BIGINT UNSIGNED NULL,
                    credits BIGINT NULL,
                    entitlement VARCHAR(191) NULL,
                    created_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}grants_line (order_id, line)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // Keys are never stored: only a selector (to find the row) and a keyed hash of
                // the whole key (to check it), so a dump of this table reveals no usable key.
                """
                CREATE TABLE IF NOT EXISTS {prefix}licenses (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    selector CHAR(16) CHARACTER SET ascii NOT NULL,
                    verifier BINARY(32) NOT NULL,
                    product VARCHAR(64) CHARACTER SET ascii NOT NULL,
                    tier VARCHAR(64) NULL,
                    activation_limit INT NOT NULL,
                    status VARCHAR(16) NOT NULL,
                    expires_at DATETIME(6) NULL,
                    customer_id BIGINT UNSIGNED NULL,
                    order_id BIGINT UNSIGNED NULL,
                    created_at DATETIME(6) NOT NULL,
                    updated_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}licenses_selector (selector),
                    KEY {prefix}licenses_order (order_id)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // Append-only: a balance is the sum; (source, source_id) makes each entry once-only.
                """
                CREATE TABLE IF NOT EXISTS {prefix}credit_ledger (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    customer_id BIGINT UNSIGNED NOT NULL,
                    delta BIGINT NOT NULL,
                    kind VARCHAR(16) NOT NULL,
                    source VARCHAR(32) NOT NULL,
                    source_id VARCHAR(255) NOT NULL,
                    created_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}credit_source (source, source_id),
                    KEY {prefix}credit_customer (customer_id)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
            ]),
        Migration(
            version: 3, name: "outbox",
            statements: [
                // Messages to send (license emails, notifications to WordPress), written in the same
                // transaction as what they announce, delivered later by the outbox deliverer.
                // `sealed` holds a secret (a license key) encrypted until delivery, then erased.
                """
                CREATE TABLE IF NOT EXISTS {prefix}outbox (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    kind VARCHAR(32) NOT NULL,
                    dedupe_key VARCHAR(191) CHARACTER SET ascii NOT NULL,
                    recipient VARCHAR(191) NULL,
                    payload TEXT NOT NULL,
                    sealed VARBINARY(512) NULL,
                    created_at DATETIME(6) NOT NULL,
                    next_attempt_at DATETIME(6) NOT NULL,
                    attempts INT NOT NULL DEFAULT 0,
                    claimed_by VARCHAR(64) NULL,
                    claimed_until DATETIME(6) NULL,
                    delivered_at DATETIME(6) NULL,
                    dead_at DATETIME(6) NULL,
                    last_error TEXT NULL,
                    UNIQUE KEY {prefix}outbox_dedupe (dedupe_key),
                    KEY {prefix}outbox_due (delivered_at, dead_at, next_attempt_at)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """
            ]),
        Migration(
            version: 4, name: "payments, disputes, subscriptions",
            statements: [
                // One row per PaymentIntent (its business key), with the latest state by Stripe's
                // event time; `payment_history` keeps every status seen.
                """
                CREATE TABLE IF NOT EXISTS {prefix}payments (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    payment_intent VARCHAR(255) CHARACTER SET ascii NOT NULL,
                    status VARCHAR(32) NOT NULL,
                    amount BIGINT NOT NULL,
                    currency CHAR(3) CHARACTER SET ascii NOT NULL,
                    amount_refunded BIGINT NOT NULL DEFAULT 0,
                    stripe_customer_id VARCHAR(255) CHARACTER SET ascii NULL,
                    failure_code VARCHAR(64) NULL,
                    failure_message TEXT NULL,
                    receipt_url TEXT NULL,
                    risk_level VARCHAR(32) NULL,
                    risk_score INT NULL,
                    status_event_created BIGINT NOT NULL DEFAULT 0,
                    created_at DATETIME(6) NOT NULL,
                    updated_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}payments_intent (payment_intent)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                """
                CREATE TABLE IF NOT EXISTS {prefix}payment_history (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    payment_intent VARCHAR(255) CHARACTER SET ascii NOT NULL,
                    event_id VARCHAR(255) CHARACTER SET ascii NOT NULL,
                    status VARCHAR(32) NOT NULL,
                    event_created BIGINT NOT NULL,
                    UNIQUE KEY {prefix}payment_history_event (event_id),
                    KEY {prefix}payment_history_intent (payment_intent, event_created)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                """
                CREATE TABLE IF NOT EXISTS {prefix}disputes (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    dispute VARCHAR(255) CHARACTER SET ascii NOT NULL,
                    payment_intent VARCHAR(255) CHARACTER SET ascii NULL,
                    status VARCHAR(32) NOT NULL,
                    amount BIGINT NOT NULL,
                    currency CHAR(3) CHARACTER SET ascii NOT NULL,
                    reason VARCHAR(64) NULL,
                    status_event_created BIGINT NOT NULL DEFAULT 0,
                    created_at DATETIME(6) NOT NULL,
                    updated_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}disputes_dispute (dispute),
                    KEY {prefix}disputes_intent (payment_intent)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                """
                CREATE TABLE IF NOT EXISTS {prefix}subscriptions (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    subscription VARCHAR(255) CHARACTER SET ascii NOT NULL,
                    stripe_customer_id VARCHAR(255) CHARACTER SET ascii NULL,
                    status VARCHAR(32) NOT NULL,
                    current_period_end DATETIME(6) NULL,
                    cancel_at_period_end TINYINT(1) NOT NULL DEFAULT 0,
                    status_event_created BIGINT NOT NULL DEFAULT 0,
                    created_at DATETIME(6) NOT NULL,
                    updated_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}subscriptions_subscription (subscription)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
            ]),
        Migration(
            version: 5, name: "activations and rate limits",
            statements: [
                // One row per (license, canonical site): re-activating a site finds its row.
                """
                CREATE TABLE IF NOT EXISTS {prefix}activations (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    activation_id CHAR(24) CHARACTER SET ascii NOT NULL,
                    license_id BIGINT UNSIGNED NOT NULL,
                    site VARCHAR(255) NOT NULL,
                    kind VARCHAR(16) NOT NULL,
                    first_seen DATETIME(6) NOT NULL,
                    last_seen DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}activations_site (license_id, site),
                    UNIQUE KEY {prefix}activations_public (activation_id)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // Fixed-window counters shared by every worker and process.
                """
                CREATE TABLE IF NOT EXISTS {prefix}rate_limits (
                    bucket VARCHAR(191) CHARACTER SET ascii NOT NULL PRIMARY KEY,
                    window_start BIGINT NOT NULL,
                    hits INT NOT NULL
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
            ]),
        Migration(
            version: 6, name: "checkout: key display window, promotion codes",
            statements: [
                // A new key, sealed, for the success page's short window; erased after it.
                "ALTER TABLE {prefix}licenses ADD COLUMN IF NOT EXISTS display_sealed VARBINARY(256) NULL, ADD COLUMN IF NOT EXISTS display_until DATETIME(6) NULL",
                "ALTER TABLE {prefix}products ADD COLUMN IF NOT EXISTS allow_promotion_codes TINYINT(1) NOT NULL DEFAULT 0",
            ]),
        Migration(
            version: 7, name: "checkouts we created, refund requests, key rotation requests, RFC-length emails, exact idempotency keys",
            statements: [
                // Every Checkout Session and PaymentIntent this service asked Stripe for, with what
                // was asked: fulfilment grants what was bought (never what metadata claims), the
                // success page calls Stripe only for sessions of ours, a WooCommerce order is bound
                // to its session here (never by a caller's reference), and `browser_proof` (a hash
                // of the cookie the checkout form set) lets only that browser see the new key.
                """
                CREATE TABLE IF NOT EXISTS {prefix}checkouts (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    stripe_id VARCHAR(255) CHARACTER SET ascii NOT NULL,
                    kind VARCHAR(16) NOT NULL,
                    product VARCHAR(64) CHARACTER SET ascii NULL,
                    price_id VARCHAR(255) CHARACTER SET ascii NULL,
                    quantity INT NULL,
                    amount BIGINT NULL,
                    currency CHAR(3) CHARACTER SET ascii NULL,
                    woocommerce_order BIGINT UNSIGNED NULL,
                    browser_proof BINARY(32) NULL,
                    created_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}checkouts_stripe (stripe_id),
                    KEY {prefix}checkouts_woocommerce (woocommerce_order)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // Refunds asked for through the API, recorded before Stripe is called: the caller's
                // Idempotency-Key (compared byte for byte) makes a retried request the same refund.
                """
                CREATE TABLE IF NOT EXISTS {prefix}refund_requests (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    idempotency_key VARCHAR(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
                    payment_intent VARCHAR(255) CHARACTER SET ascii NOT NULL,
                    amount BIGINT NULL,
                    reason VARCHAR(32) NULL,
                    refund VARCHAR(255) CHARACTER SET ascii NULL,
                    status VARCHAR(32) NOT NULL,
                    refunded_amount BIGINT NULL,
                    actor VARCHAR(191) NOT NULL,
                    created_at DATETIME(6) NOT NULL,
                    updated_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}refund_requests_key (idempotency_key)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // A buyer's request for a new key: the link emailed to them carries a token whose
                // hash is kept here; only that link (once, before it expires) rotates the key.
                """
                CREATE TABLE IF NOT EXISTS {prefix}key_rotation_requests (
                    token_hash BINARY(32) NOT NULL PRIMARY KEY,
                    license_id BIGINT UNSIGNED NOT NULL,
                    created_at DATETIME(6) NOT NULL,
                    expires_at DATETIME(6) NOT NULL,
                    used_at DATETIME(6) NULL,
                    KEY {prefix}key_rotation_license (license_id)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // Addresses up to RFC 5321's 254 characters.
                "ALTER TABLE {prefix}customers MODIFY email VARCHAR(254) NULL",
                "ALTER TABLE {prefix}outbox MODIFY recipient VARCHAR(254) NULL",
                // Idempotency and dedupe keys compare byte for byte (`Job-1`, `job-1` and `jób-1`
                // are three keys), and a consumption's key is scoped by its customer.
                "ALTER TABLE {prefix}credit_ledger MODIFY source_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
                "UPDATE {prefix}credit_ledger SET source_id = CONCAT(customer_id, ':', source_id) WHERE source = 'consume' AND source_id NOT LIKE CONCAT(customer_id, ':%')",
            ]),
        Migration(
            version: 8, name: "one customer per email, every Stripe customer id attached to it",
            statements: [
                // A buyer's Stripe customer ids (one per subscription checkout, say) all lead to the
                // one customer.
                """
                CREATE TABLE IF NOT EXISTS {prefix}customer_stripe_ids (
                    stripe_customer_id VARCHAR(255) CHARACTER SET ascii NOT NULL PRIMARY KEY,
                    customer_id BIGINT UNSIGNED NOT NULL,
                    created_at DATETIME(6) NOT NULL,
                    KEY {prefix}customer_stripe_ids_customer (customer_id)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                "INSERT IGNORE INTO {prefix}customer_stripe_ids (stripe_customer_id, customer_id, created_at) SELECT stripe_customer_id, id, created_at FROM {prefix}customers WHERE stripe_customer_id IS NOT NULL",
                // Rows of one email (trimmed, any case) are merged into the oldest, keeping every
                // order, license, ledger entry and Stripe customer id.
                "UPDATE {prefix}orders o JOIN {prefix}customers c ON c.id = o.customer_id JOIN (SELECT LOWER(TRIM(email)) AS e, MIN(id) AS keep FROM {prefix}customers WHERE email IS NOT NULL AND TRIM(email) <> '' GROUP BY LOWER(TRIM(email))) k ON k.e = LOWER(TRIM(c.email)) SET o.customer_id = k.keep WHERE c.id <> k.keep",
                "UPDATE {prefix}licenses l JOIN {prefix}customers c ON c.id = l.customer_id JOIN (SELECT LOWER(TRIM(email)) AS e, MIN(id) AS keep FROM {prefix}customers WHERE email IS NOT NULL AND TRIM(email) <> '' GROUP BY LOWER(TRIM(email))) k ON k.e = LOWER(TRIM(c.email)) SET l.customer_id = k.keep WHERE c.id <> k.keep",
                "UPDATE {prefix}credit_ledger l JOIN {prefix}customers c ON c.id = l.customer_id JOIN (SELECT LOWER(TRIM(email)) AS e, MIN(id) AS keep FROM {prefix}customers WHERE email IS NOT NULL AND TRIM(email) <> '' GROUP BY LOWER(TRIM(email))) k ON k.e = LOWER(TRIM(c.email)) SET l.customer_id = k.keep WHERE c.id <> k.keep",
                "UPDATE {prefix}customer_stripe_ids s JOIN {prefix}customers c ON c.id = s.customer_id JOIN (SELECT LOWER(TRIM(email)) AS e, MIN(id) AS keep FROM {prefix}customers WHERE email IS NOT NULL AND TRIM(email) <> '' GROUP BY LOWER(TRIM(email))) k ON k.e = LOWER(TRIM(c.email)) SET s.customer_id = k.keep WHERE c.id <> k.keep",
                // A consumption's key is its customer's: keys follow their entries to the kept row.
                "UPDATE IGNORE {prefix}credit_ledger SET source_id = CONCAT(customer_id, SUBSTRING(source_id, LOCATE(':', source_id))) WHERE source = 'consume'",
                "DELETE c FROM {prefix}customers c JOIN (SELECT LOWER(TRIM(email)) AS e, MIN(id) AS keep FROM {prefix}customers WHERE email IS NOT NULL AND TRIM(email) <> '' GROUP BY LOWER(TRIM(email))) k ON k.e = LOWER(TRIM(c.email)) WHERE c.id <> k.keep",
                "UPDATE {prefix}customers SET email = NULLIF(LOWER(TRIM(email)), '')",
                // Emails are stored normalised and compared byte for byte: one row per address.
                """
                ALTER TABLE {prefix}customers DROP INDEX IF EXISTS {prefix}customers_email, DROP INDEX IF EXISTS {prefix}customers_stripe,
                    DROP COLUMN IF EXISTS stripe_customer_id, MODIFY email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
                    ADD UNIQUE KEY IF NOT EXISTS {prefix}customers_email_unique (email)
                """,
            ]),
        Migration(
            version: 9, name: "subscription plans, invoices per paid period, refunds, sites typed at checkout",
            statements: [
                // What a subscription is on: its plan (price, catalogue product), quantity and period.
                """
                ALTER TABLE {prefix}subscriptions ADD COLUMN IF NOT EXISTS customer_id BIGINT UNSIGNED NULL,
                    ADD COLUMN IF NOT EXISTS price_id VARCHAR(255) CHARACTER SET ascii NULL, ADD COLUMN IF NOT EXISTS product VARCHAR(64) CHARACTER SET ascii NULL,
                    ADD COLUMN IF NOT EXISTS quantity INT NULL, ADD COLUMN IF NOT EXISTS current_period_start DATETIME(6) NULL
                """,
                // One row per subscription invoice: its period, what was paid and by which
                // PaymentIntent, and the credits it granted — so a refund or a dispute of a renewal
                // takes back exactly that period.
                """
                CREATE TABLE IF NOT EXISTS {prefix}invoices (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    invoice VARCHAR(255) CHARACTER SET ascii NOT NULL,
                    subscription VARCHAR(255) CHARACTER SET ascii NULL,
                    customer_id BIGINT UNSIGNED NULL,
                    billing_reason VARCHAR(32) NULL,
                    period_start DATETIME(6) NULL,
                    period_end DATETIME(6) NULL,
                    amount_paid BIGINT NOT NULL,
                    currency CHAR(3) CHARACTER SET ascii NOT NULL,
                    payment_intent VARCHAR(255) CHARACTER SET ascii NULL,
                    amount_refunded BIGINT NOT NULL DEFAULT 0,
                    created_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}invoices_invoice (invoice),
                    KEY {prefix}invoices_payment_intent (payment_intent),
                    KEY {prefix}invoices_subscription (subscription, period_start)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // Refunds as Stripe reports them, so a refund that fails after it was counted is
                // taken back.
                """
                CREATE TABLE IF NOT EXISTS {prefix}refunds (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    refund VARCHAR(255) CHARACTER SET ascii NOT NULL,
                    payment_intent VARCHAR(255) CHARACTER SET ascii NULL,
                    amount BIGINT NOT NULL,
                    status VARCHAR(32) NOT NULL,
                    status_event_created BIGINT NOT NULL,
                    created_at DATETIME(6) NOT NULL,
                    updated_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}refunds_refund (refund),
                    KEY {prefix}refunds_payment_intent (payment_intent)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // The site a buyer typed at checkout, activated on the license they get.
                "ALTER TABLE {prefix}orders ADD COLUMN IF NOT EXISTS site_url VARCHAR(2048) NULL",
            ]),
        Migration(
            version: 10, name: "decisions write the rows they depend on: seat counter per license, balance per customer",
            statements: [
                // Bumped by every activation and deactivation: on a Galera cluster, where a row lock
                // holds on one node only, two seat decisions on different nodes then write the same
                // row and the second fails certification (1213) and is retried, instead of both
                // counting the same free seat.
                "ALTER TABLE {prefix}licenses ADD COLUMN IF NOT EXISTS seat_version BIGINT UNSIGNED NOT NULL DEFAULT 0",
                // The sum of each customer's credit ledger, kept in step with every entry: a spend
                // is one guarded UPDATE of this row, so two spends anywhere in a cluster conflict.
                """
                CREATE TABLE IF NOT EXISTS {prefix}credit_balances (
                    customer_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
                    balance BIGINT NOT NULL,
                    updated_at DATETIME(6) NOT NULL
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                """
                INSERT INTO {prefix}credit_balances (customer_id, balance, updated_at)
                SELECT customer_id, SUM(delta), UTC_TIMESTAMP(6) FROM {prefix}credit_ledger GROUP BY customer_id
                ON DUPLICATE KEY UPDATE balance = VALUES(balance), updated_at = VALUES(updated_at)
                """,
            ]),
        Migration(
            version: 11, name: "EDD item ids and plugin details on products, releases and their downloads",
            statements: [
                // What an EDD plugin sends (its numeric download id), and what WordPress shows in
                // "View details" (slug, homepage, description, banner, icon).
                """
                ALTER TABLE {prefix}products ADD COLUMN IF NOT EXISTS edd_item_id BIGINT UNSIGNED NULL,
                    ADD COLUMN IF NOT EXISTS slug VARCHAR(191) NULL, ADD COLUMN IF NOT EXISTS homepage VARCHAR(2048) NULL,
                    ADD COLUMN IF NOT EXISTS description TEXT NULL, ADD COLUMN IF NOT EXISTS banner_url VARCHAR(2048) NULL,
                    ADD COLUMN IF NOT EXISTS icon_url VARCHAR(2048) NULL,
                    ADD UNIQUE KEY IF NOT EXISTS {prefix}products_edd_item (edd_item_id)
                """,
                // One row per version of a product's package; the file lives outside the web root
                // (releases.directory) and is named here relative to it.
                """
                CREATE TABLE IF NOT EXISTS {prefix}releases (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    product VARCHAR(64) CHARACTER SET ascii NOT NULL,
                    version VARCHAR(32) CHARACTER SET ascii NOT NULL,
                    file VARCHAR(191) CHARACTER SET ascii NOT NULL,
                    size BIGINT UNSIGNED NOT NULL,
                    sha256 CHAR(64) CHARACTER SET ascii NOT NULL,
                    changelog MEDIUMTEXT NULL,
                    requires VARCHAR(16) CHARACTER SET ascii NULL,
                    tested VARCHAR(16) CHARACTER SET ascii NULL,
                    requires_php VARCHAR(16) CHARACTER SET ascii NULL,
                    released_at DATETIME(6) NOT NULL,
                    yanked_at DATETIME(6) NULL,
                    UNIQUE KEY {prefix}releases_version (product, version),
                    KEY {prefix}releases_latest (product, yanked_at, released_at)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // Downloads counted per release and license: one row each, incremented in place.
                """
                CREATE TABLE IF NOT EXISTS {prefix}release_downloads (
                    release_id BIGINT UNSIGNED NOT NULL,
                    license_id BIGINT UNSIGNED NOT NULL,
                    downloads BIGINT UNSIGNED NOT NULL,
                    first_at DATETIME(6) NOT NULL,
                    last_at DATETIME(6) NOT NULL,
                    PRIMARY KEY (release_id, license_id)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
            ]),
        Migration(
            version: 12, name: "admin accounts and sessions, erased customers",
            statements: [
                // People who may use the admin page: a scrypt hash, never the password; an optional
                // TOTP secret and the last step used (a code works once).
                """
                CREATE TABLE IF NOT EXISTS {prefix}admin_users (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
                    password_hash VARCHAR(255) CHARACTER SET ascii NOT NULL,
                    totp_secret VARBINARY(64) NULL,
                    totp_last_step BIGINT NOT NULL DEFAULT 0,
                    created_at DATETIME(6) NOT NULL,
                    updated_at DATETIME(6) NOT NULL,
                    UNIQUE KEY {prefix}admin_users_email (email)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // Server-side sessions: the cookie holds a random token, this table its SHA-256, so a
                // dump of the table signs nobody in.
                """
                CREATE TABLE IF NOT EXISTS {prefix}admin_sessions (
                    token_hash BINARY(32) NOT NULL PRIMARY KEY,
                    admin_id BIGINT UNSIGNED NOT NULL,
                    created_at DATETIME(6) NOT NULL,
                    expires_at DATETIME(6) NOT NULL,
                    KEY {prefix}admin_sessions_admin (admin_id),
                    KEY {prefix}admin_sessions_expiry (expires_at)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
                """,
                // When a customer's personal data was erased (GDPR art. 17); ids and amounts stay.
                "ALTER TABLE {prefix}customers ADD COLUMN IF NOT EXISTS anonymised_at DATETIME(6) NULL",
            ]),
    ]
}
