<?php
require __DIR__ . '/db.php';
// The webhook peer in PHP-FPM: for a checkout.session.completed that names its product, the same
// signature check and exactly the same statements, in the same order and one transaction, as
// PaymentsFCGI's POST /stripe/webhook (event claim, customer, order, audit, license with a new
// key stored as selector + HMAC, the key sealed with AES-256-GCM in the email outbox and again
// for the success page, grant, notification). Persistent PDO connections, server-side prepared statements.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function answer(int $status, string $body): never {
    http_response_code($status);
    header('Content-Type: application/json; charset=utf-8');
    echo $body;
    exit;
}

function signature_ok(string $header, string $body, string $secret, int $now): bool {
    $timestamp = null; $signatures = [];
    foreach (explode(',', $header) as $part) {
        [$k, $v] = array_pad(explode('=', trim($part), 2), 2, '');
        if ($k === 't') $timestamp = ctype_digit($v) ? (int)$v : null;
        if ($k === 'v1') $signatures[] = $v;
    }
    if ($timestamp === null || abs($now - $timestamp) > 300) return false;
    $expected = hash_hmac('sha256', $timestamp . '.' . $body, $secret);
    foreach ($signatures as $s) if (hash_equals($expected, $s)) return true;
    return false;
}

function new_key(): string {
    $bytes = random_bytes(17); $buffer = 0; $bits = 0; $values = [];
    for ($i = 0; $i < 17 && count($values) < 26; $i++) {
        $buffer = (($buffer << 8) | ord($bytes[$i])) & 0xFFFFF; $bits += 8;
        while ($bits >= 5 && count($values) < 26) { $bits -= 5; $values[] = ($buffer >> $bits) & 31; }
    }
    $p = 32;
    foreach ($values as $v) { $t = ($p + $v) % 32; if ($t === 0) $t = 32; $p = (2 * $t) % 33; }
    $hybrid = (33 - $p) % 32;
    $values[] = $hybrid;
    $values[] = ord(hash('sha256', pack('C*', ...$values), true)[0]) >> 3;
    return implode('', array_map(fn($v) => ALPHABET[$v], $values));
}

$now = time();
$body = file_get_contents('php://input');
if (!signature_ok($_SERVER['HTTP_STRIPE_SIGNATURE'] ?? '', $body, getenv('PFC_WEBHOOK_SECRET'), $now)) {
    answer(400, '{"error":{"code":"bad_signature","message":"the Stripe-Signature does not match"}}');
}
$event = json_decode($body, true);
if (!is_array($event) || !isset($event['id'], $event['type'], $event['data']['object'])) {
    answer(400, '{"error":{"code":"invalid_request","message":"not a Stripe event"}}');
}
$session = $event['data']['object'];
if ($event['type'] !== 'checkout.session.completed' || $session['payment_status'] !== 'paid' || empty($session['metadata']['product'])) {
    answer(400, '{"error":{"code":"unsupported","message":"this peer handles paid checkout sessions that name a product"}}');
}
$db = db();
$stamp = fn() => DateTime::createFromFormat('U.u', sprintf('%.6F', microtime(true)))->format('Y-m-d H:i:s.u');
$q = function (string $sql, array $values) use ($db) { $s = $db->prepare($sql); $s->execute($values); return $s; };

$product = $session['metadata']['product'];
$received = $stamp();
$db->beginTransaction();
try {
    $q('INSERT INTO pfc_events (id, type, livemode, api_version, created_at, received_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)',
       [$event['id'], $event['type'], (int)$event['livemode'], $event['api_version'], $event['created'], $received, 'processed']);
    $at = $stamp();
    $customer = $q('SELECT id, email FROM pfc_customers WHERE stripe_customer_id = ? FOR UPDATE', [$session['customer']])->fetch();
    $email = $session['customer_details']['email'];
    if ($customer) { $customerID = $customer['id']; } else {
        $q('INSERT INTO pfc_customers (email, stripe_customer_id, created_at) VALUES (?, ?, ?)', [$email, $session['customer'], $at]);
        $customerID = (int)$db->lastInsertId();
    }
    $q('SELECT id, session_id, customer_id, status, mode, payment_intent, amount_total, amount_refunded, currency, attention, client_reference_id, created_at FROM pfc_orders WHERE session_id = ? FOR UPDATE', [$session['id']])->fetch();
    $q('INSERT INTO pfc_orders (session_id, customer_id, status, mode, payment_intent, subscription, amount_total, currency, client_reference_id, metadata, livemode, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
       [$session['id'], $customerID, 'paid', $session['mode'], $session['payment_intent'], $session['subscription'], $session['amount_total'],
        strtoupper($session['currency']), $session['client_reference_id'], json_encode($session['metadata'], JSON_UNESCAPED_SLASHES), (int)$session['livemode'], $at, $at]);
    $orderID = (int)$db->lastInsertId();
    $actor = 'stripe:' . $event['id'];
    $audit = 'INSERT INTO pfc_audit_log (occurred_at, subject_type, subject_id, action, before_state, after_state, actor, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';
    $q($audit, [$at, 'order', $session['id'], 'created', null, 'paid', $actor, null]);
    $item = $q('SELECT product, name, kind, stripe_price_id, tier, activation_limit, duration_days, credits, entitlement, allow_promotion_codes FROM pfc_products WHERE product = ?', [$product])->fetch();
    $key = new_key();
    $granted = $stamp();
    $expires = DateTime::createFromFormat('U.u', sprintf('%.6F', microtime(true) + 86400 * $item['duration_days']))->format('Y-m-d H:i:s.u');
    $q("INSERT INTO pfc_licenses (selector, verifier, product, tier, activation_limit, status, expires_at, customer_id, order_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)",
       [substr($key, 0, 10), hash_hmac('sha256', 'pfc-license-v1:' . $key, getenv('PFC_PEPPER'), true), $product, $item['tier'],
        $item['activation_limit'], $expires, $customerID, $orderID, $granted, $granted]);
    $licenseID = (int)$db->lastInsertId();
    $formatted = 'PFC-' . implode('-', str_split($key, 7));
    $nonce = random_bytes(12);
    $sealed = $nonce . openssl_encrypt($formatted, 'aes-256-gcm', hex2bin(getenv('PFC_SEALING_KEY')), OPENSSL_RAW_DATA, $nonce, $tag, "license:$licenseID") . $tag;
    $outbox = 'INSERT INTO pfc_outbox (kind, dedupe_key, recipient, payload, sealed, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id';
    $queued = $stamp();
    $q($outbox, ['license_email', "license-email:$licenseID", $email, json_encode(['license_id' => $licenseID, 'product' => $product,
       'product_name' => $item['name'], 'order' => $session['id']], JSON_UNESCAPED_SLASHES), $sealed, $queued, $queued]);
    // The success page's display copy: sealed again, for 60 minutes.
    $nonce = random_bytes(12);
    $display = $nonce . openssl_encrypt($formatted, 'aes-256-gcm', hex2bin(getenv('PFC_SEALING_KEY')), OPENSSL_RAW_DATA, $nonce, $tag, "license-display:$licenseID") . $tag;
    $until = DateTime::createFromFormat('U.u', sprintf('%.6F', microtime(true) + 3600))->format('Y-m-d H:i:s.u');
    $q('UPDATE pfc_licenses SET display_sealed = ?, display_until = ? WHERE id = ?', [$display, $until, $licenseID]);
    $q($audit, [$stamp(), 'license', (string)$licenseID, 'issued', null, 'active', $actor, "order {$session['id']}, product $product"]);
    $q('INSERT INTO pfc_grants (order_id, line, product, kind, quantity, license_id, credits, entitlement, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
       [$orderID, 0, $product, 'license', 1, $licenseID, null, null, $granted]);
    $q($outbox, ['notification', "grant.created:$orderID:0", null, json_encode(['type' => 'grant.created', 'order' => $session['id'], 'line' => 0,
       'product' => $product, 'kind' => 'license', 'quantity' => 1, 'customer_email' => $email, 'license_id' => $licenseID,
       'credits' => null, 'entitlement' => null], JSON_UNESCAPED_SLASHES), null, $granted, $granted]);
    $q('SELECT payment_intent, status, amount, currency, amount_refunded, failure_code, failure_message, receipt_url, risk_level, risk_score FROM pfc_payments WHERE payment_intent = ?', [$session['payment_intent']])->fetchAll();
    $q('SELECT dispute, payment_intent, status FROM pfc_disputes WHERE payment_intent = ? ORDER BY id', [$session['payment_intent']])->fetchAll();
    $db->commit();
} catch (PDOException $e) {
    $db->rollBack();
    if (($e->errorInfo[1] ?? 0) === 1062) answer(200, '{"status":"duplicate"}');
    answer(503, '{"error":{"code":"unavailable","message":"try again"}}');
}
answer(200, '{"status":"processed"}');
