// The database's own bound on this machine: the statements of a license verify or of a webhook,
// sent by the cheapest client there is (C, MariaDB Connector/C, text protocol, no web server,
// no HTTP, no crypto), from THREADS connections for SECONDS. Whatever an implementation does on
// top, through nginx, cannot go faster than this.
//
// Build: cc -O2 -o db-bound db-bound.c $(pkg-config --cflags --libs libmariadb) -lpthread
// Run:   db-bound verify|webhook SOCKET THREADS SECONDS [KEYS_FILE]
//        prints "OPERATIONS PER_SECOND CLIENT_CPU_US_PER_OPERATION"
#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char *mode, *socket_path;
static double seconds;
static char (*selectors)[11];
static int selector_count;
static long long run_id;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void query(MYSQL *db, const char *sql) {
    if (mysql_query(db, sql) != 0) { fprintf(stderr, "db-bound: %s\n  in: %.120s\n", mysql_error(db), sql); exit(1); }
    MYSQL_RES *result = mysql_store_result(db);
    if (result) mysql_free_result(result);
}

static unsigned long long insert(MYSQL *db, const char *sql) {
    query(db, sql);
    return mysql_insert_id(db);
}

static void verify(MYSQL *db, unsigned seed) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT l.id, l.verifier, l.product, l.tier, l.activation_limit, l.status, l.expires_at, a.activation_id, a.site, a.kind, "
             "a.last_seen FROM pfc_licenses l LEFT JOIN pfc_activations a ON a.license_id = l.id WHERE l.selector = '%s' ORDER BY a.id",
             selectors[rand_r(&seed) % selector_count]);
    query(db, sql);
}

// The statements PaymentsFCGI runs for a paid checkout.session.completed (see the general log
// or bench/peers/webhook.php), with fixed stand-ins for the key material.
static void webhook(MYSQL *db, int thread, long n) {
    char id[64], sql[1024];
    const char *at = "UTC_TIMESTAMP(6)";
    snprintf(id, sizeof id, "b%lldt%dn%ld", run_id, thread, n);
    query(db, "START TRANSACTION");
    snprintf(sql, sizeof sql, "INSERT INTO pfc_events (id, type, livemode, api_version, created_at, received_at, outcome) VALUES "
             "('evt_%s', 'checkout.session.completed', 0, '2026-05-27.dahlia', 1767268840, %s, 'processed')", id, at); query(db, sql);
    snprintf(sql, sizeof sql, "SELECT id, email FROM pfc_customers WHERE stripe_customer_id = 'cus_%s' FOR UPDATE", id); query(db, sql);
    snprintf(sql, sizeof sql, "INSERT INTO pfc_customers (email, stripe_customer_id, created_at) VALUES ('buyer@example.com', 'cus_%s', %s)", id, at);
    unsigned long long customer = insert(db, sql);
    snprintf(sql, sizeof sql, "SELECT id, session_id, customer_id, status, mode, payment_intent, amount_total, amount_refunded, currency, "
             "attention, client_reference_id, created_at FROM pfc_orders WHERE session_id = 'cs_test_%s' FOR UPDATE", id); query(db, sql);
    snprintf(sql, sizeof sql, "INSERT INTO pfc_orders (session_id, customer_id, status, mode, payment_intent, subscription, amount_total, "
             "currency, client_reference_id, metadata, livemode, created_at, updated_at) VALUES ('cs_test_%s', %llu, 'paid', 'payment', "
             "'pi_%s', NULL, 4900, 'USD', 'order-1001', '{\"order_ref\":\"order-1001\",\"product\":\"bench-license\"}', 0, %s, %s)",
             id, customer, id, at, at);
    unsigned long long order = insert(db, sql);
    snprintf(sql, sizeof sql, "INSERT INTO pfc_audit_log (occurred_at, subject_type, subject_id, action, before_state, after_state, actor, "
             "detail) VALUES (%s, 'order', 'cs_test_%s', 'created', NULL, 'paid', 'stripe:evt_%s', NULL)", at, id, id); query(db, sql);
    query(db, "SELECT product, name, kind, stripe_price_id, tier, activation_limit, duration_days, credits, entitlement, "
              "allow_promotion_codes FROM pfc_products WHERE product = 'bench-license'");
    // A selector no seeded key has: 'Z' plus the order id in base 10, padded.
    snprintf(sql, sizeof sql, "INSERT INTO pfc_licenses (selector, verifier, product, tier, activation_limit, status, expires_at, customer_id, "
             "order_id, created_at, updated_at) VALUES ('Z%09llu', UNHEX(SHA2('%s', 256)), 'bench-license', 'pro', 3, 'active', "
             "%s + INTERVAL 365 DAY, %llu, %llu, %s, %s)", order % 1000000000ULL, id, at, customer, order, at, at);
    unsigned long long license = insert(db, sql);
    snprintf(sql, sizeof sql, "INSERT INTO pfc_outbox (kind, dedupe_key, recipient, payload, sealed, created_at, next_attempt_at) VALUES "
             "('license_email', 'license-email:%llu', 'buyer@example.com', '{\"license_id\":%llu,\"product\":\"bench-license\","
             "\"product_name\":\"Bench plugin, 3 sites, one year\",\"order\":\"cs_test_%s\"}', RANDOM_BYTES(63), %s, %s) "
             "ON DUPLICATE KEY UPDATE id = id", license, license, id, at, at); query(db, sql);
    snprintf(sql, sizeof sql, "UPDATE pfc_licenses SET display_sealed = RANDOM_BYTES(63), display_until = %s + INTERVAL 1 HOUR WHERE id = %llu",
             at, license); query(db, sql);
    snprintf(sql, sizeof sql, "INSERT INTO pfc_audit_log (occurred_at, subject_type, subject_id, action, before_state, after_state, actor, "
             "detail) VALUES (%s, 'license', '%llu', 'issued', NULL, 'active', 'stripe:evt_%s', 'order cs_test_%s, product bench-license')",
             at, license, id, id); query(db, sql);
    snprintf(sql, sizeof sql, "INSERT INTO pfc_grants (order_id, line, product, kind, quantity, license_id, credits, entitlement, created_at) "
             "VALUES (%llu, 0, 'bench-license', 'license', 1, %llu, NULL, NULL, %s)", order, license, at); query(db, sql);
    snprintf(sql, sizeof sql, "INSERT INTO pfc_outbox (kind, dedupe_key, recipient, payload, sealed, created_at, next_attempt_at) VALUES "
             "('notification', 'grant.created:%llu:0', NULL, '{\"type\":\"grant.created\",\"order\":\"cs_test_%s\",\"line\":0,"
             "\"product\":\"bench-license\",\"kind\":\"license\",\"quantity\":1,\"customer_email\":\"buyer@example.com\","
             "\"license_id\":%llu,\"credits\":null,\"entitlement\":null}', NULL, %s, %s) ON DUPLICATE KEY UPDATE id = id",
             order, id, license, at, at); query(db, sql);
    snprintf(sql, sizeof sql, "SELECT payment_intent, status, amount, currency, amount_refunded, failure_code, failure_message, receipt_url, "
             "risk_level, risk_score FROM pfc_payments WHERE payment_intent = 'pi_%s'", id); query(db, sql);
    snprintf(sql, sizeof sql, "SELECT dispute, payment_intent, status FROM pfc_disputes WHERE payment_intent = 'pi_%s' ORDER BY id", id);
    query(db, sql);
    query(db, "COMMIT");
}

static long total;
static pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *argument) {
    int thread = (int)(long)argument;
    MYSQL *db = mysql_init(NULL);
    if (!mysql_real_connect(db, NULL, "payments", "payments", "payments", 0, socket_path, 0)) {
        fprintf(stderr, "db-bound: %s\n", mysql_error(db));
        exit(1);
    }
    // PaymentsFCGI's session settings.
    query(db, "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION', tx_isolation = 'READ-COMMITTED'");
    long n = 0;
    double end = now() + seconds;
    while (now() < end) {
        if (strcmp(mode, "verify") == 0) verify(db, (unsigned)(thread * 7919 + n)); else webhook(db, thread, n);
        n++;
    }
    mysql_close(db);
    pthread_mutex_lock(&total_lock);
    total += n;
    pthread_mutex_unlock(&total_lock);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: db-bound verify|webhook SOCKET THREADS SECONDS [KEYS_FILE]\n"); return 2; }
    mode = argv[1];
    socket_path = argv[2];
    int threads = atoi(argv[3]);
    seconds = atof(argv[4]);
    run_id = (long long)time(NULL);
    if (strcmp(mode, "verify") == 0) {
        FILE *keys = argc > 5 ? fopen(argv[5], "r") : NULL;
        if (!keys) { fprintf(stderr, "db-bound: verify needs the keys file\n"); return 2; }
        selectors = malloc(sizeof *selectors * 100000);
        char line[256];
        // "PFC-AAAAAAA-BBBBBBB-… SITE": the selector is the first 10 symbols without dashes.
        while (selector_count < 100000 && fgets(line, sizeof line, keys)) {
            snprintf(selectors[selector_count++], 11, "%.7s%.3s", line + 4, line + 12);
        }
        fclose(keys);
    }
    mysql_library_init(0, NULL, NULL);
    pthread_t ids[512];
    double start = now();
    for (int i = 0; i < threads && i < 512; i++) pthread_create(&ids[i], NULL, worker, (void *)(long)i);
    for (int i = 0; i < threads && i < 512; i++) pthread_join(ids[i], NULL);
    double elapsed = now() - start;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
    printf("%ld %.1f %.1f\n", total, total / elapsed, total ? cpu * 1e6 / total : 0);
    return 0;
}
