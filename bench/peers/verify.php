<?php
require __DIR__ . '/db.php';
// The license-verify peer in PHP-FPM: the same statements, checks and signed answer as
// PaymentsFCGI's POST /license/verify, with persistent PDO connections and prepared statements.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function canonical_key(string $text): ?string {
    $s = strtoupper(str_replace(['-', ' ', "\t"], '', $text));
    if (strlen($s) === 31 && str_starts_with($s, 'PFC')) $s = substr($s, 3);
    if (strlen($s) !== 28) return null;
    $s = strtr($s, ['I' => '1', 'L' => '1', 'O' => '0']);
    $values = [];
    for ($i = 0; $i < 28; $i++) {
        $v = strpos(ALPHABET, $s[$i]);
        if ($v === false) return null;
        $values[] = $v;
    }
    $p = 32;
    for ($i = 0; $i < 26; $i++) { $t = ($p + $values[$i]) % 32; if ($t === 0) $t = 32; $p = (2 * $t) % 33; }
    $hybrid = (33 - $p) % 32;
    $digest = hash('sha256', pack('C*', ...array_merge(array_slice($values, 0, 26), [$hybrid])), true);
    if ($values[26] !== $hybrid || $values[27] !== (ord($digest[0]) >> 3)) return null;
    return $s;
}

function site(string $url): ?string {
    $parts = parse_url(str_contains($url, '://') ? $url : 'https://' . $url);
    if (!$parts || empty($parts['host'])) return null;
    $host = strtolower(rtrim($parts['host'], '.'));
    if (str_starts_with($host, 'www.')) $host = substr($host, 4);
    $path = strtolower(trim(preg_replace('#/+#', '/', $parts['path'] ?? ''), '/'));
    $path = preg_replace('#(^|/)(index\.php|wp-admin|wp-login\.php)$#', '', $path);
    return $host . ($path === '' ? '' : '/' . $path);
}

header('Content-Type: application/json; charset=utf-8');
header('Cache-Control: no-store');
$key = canonical_key($_POST['license_key'] ?? '');
$site = site($_POST['site_url'] ?? '');
if ($site === null) { http_response_code(400); echo '{"error":{"code":"invalid_request","message":"site_url"}}'; exit; }
$db = db();
$now = gmdate('Y-m-d H:i:s');
// One statement reads the license and its seats, outside a transaction, as PaymentsFCGI does.
$find = $db->prepare('SELECT l.id, l.verifier, l.product, l.tier, l.activation_limit, l.status, l.expires_at,
    a.activation_id, a.site, a.kind, a.last_seen FROM pfc_licenses l LEFT JOIN pfc_activations a ON a.license_id = l.id
    WHERE l.selector = ? ORDER BY a.id');
$find->execute([$key === null ? '~' : substr($key, 0, 10)]);
$rows = $find->fetchAll(PDO::FETCH_ASSOC);
$license = $rows[0] ?? null;
$expected = hash_hmac('sha256', 'pfc-license-v1:' . ($key ?? 'decoy'), getenv('PFC_PEPPER'), true);
$answer = ['status' => 'invalid', 'product' => null, 'tier' => null, 'expires_at' => null, 'activation_limit' => null,
           'activations' => null, 'activations_left' => null, 'site' => $site, 'activation_id' => null];
if ($license && $key !== null && hash_equals($license['verifier'], $expected)) {
    $cutoff = time() - 90 * 86400;
    $activations = array_filter($rows, fn($a) => $a['activation_id'] !== null && strtotime($a['last_seen'] . ' UTC') >= $cutoff);
    $production = count(array_filter($activations, fn($a) => $a['kind'] === 'production'));
    $mine = array_values(array_filter($activations, fn($a) => $a['site'] === $site));
    $answer = ['status' => $mine ? 'active' : 'site_inactive', 'product' => $license['product'], 'tier' => $license['tier'],
               'expires_at' => $license['expires_at'], 'activation_limit' => (int)$license['activation_limit'],
               'activations' => $production, 'activations_left' => max(0, $license['activation_limit'] - $production),
               'site' => $site, 'activation_id' => $mine ? $mine[0]['activation_id'] : null];
    if ($mine && strtotime($mine[0]['last_seen'] . ' UTC') < time() - 3600) {
        $db->prepare('UPDATE pfc_activations SET last_seen = ? WHERE license_id = ? AND site = ?')->execute([$now, $license['id'], $site]);
    }
}
$answer += ['cache_ttl' => 43200, 'issued_at' => gmdate('Y-m-d\TH:i:s\Z'), 'valid_until' => gmdate('Y-m-d\TH:i:s\Z', time() + 72 * 3600),
            'nonce' => $_POST['nonce'] ?? null];
$body = json_encode($answer, JSON_UNESCAPED_SLASHES);
static $secret = null;
$secret ??= sodium_crypto_sign_secretkey(sodium_crypto_sign_seed_keypair(hex2bin(getenv('PFC_SIGNING_SEED'))));
header('X-License-Signature: ' . base64_encode(sodium_crypto_sign_detached($body, $secret)));
echo $body;
