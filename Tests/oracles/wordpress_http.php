<?php
// The few WordPress functions a plugin's license check uses, as WordPress defines their
// behaviour (wp_remote_post returns an array or a WP_Error; the retrieve helpers read it;
// home_url is the site's address), implemented with PHP's own HTTP stream so that the
// README's code runs unchanged outside WordPress.
// Usage: php wordpress_http.php README_BLOCK.php ACTION STORE PUBLIC_KEY KEY PRODUCT SITE
// Prints the check's result as JSON; any PHP warning or error makes the run fail.
set_error_handler(function ($severity, $message, $file, $line) {
    if (!(error_reporting() & $severity)) { return false; }  // silenced with @, as WordPress's HTTP layer does
    fwrite(STDERR, "PHP $severity: $message at $file:$line\n");
    exit(3);
});

class WP_Error {
    public $message;
    public function __construct($code = '', $message = '') { $this->message = $message; }
}

function is_wp_error($thing) { return $thing instanceof WP_Error; }

function home_url() { return $GLOBALS['pfc_site']; }

function wp_remote_post($url, $args = []) {
    $context = stream_context_create(['http' => [
        'method' => 'POST', 'ignore_errors' => true, 'timeout' => $args['timeout'] ?? 5,
        'header' => "Content-Type: application/x-www-form-urlencoded\r\n",
        'content' => http_build_query($args['body'] ?? []),
    ]]);
    $body = @file_get_contents($url, false, $context);
    if ($body === false || empty($http_response_header)) { return new WP_Error('http_request_failed', 'no answer'); }
    $code = (int) explode(' ', $http_response_header[0])[1];
    $headers = [];
    foreach (array_slice($http_response_header, 1) as $line) {
        $parts = explode(':', $line, 2);
        if (count($parts) === 2) { $headers[strtolower(trim($parts[0]))] = trim($parts[1]); }
    }
    return ['response' => ['code' => $code], 'body' => $body, 'headers' => $headers];
}

function wp_remote_retrieve_response_code($response) { return is_array($response) ? $response['response']['code'] : ''; }
function wp_remote_retrieve_body($response) { return is_array($response) ? $response['body'] : ''; }
function wp_remote_retrieve_header($response, $name) {
    return is_array($response) ? ($response['headers'][strtolower($name)] ?? '') : '';
}

[$script, $block, $action, $store, $publicKey, $key, $product, $site] = $argv;
$GLOBALS['pfc_site'] = $site;
require $block;
$result = pfc_license_check($action, $store, $publicKey, $key, $product);
echo json_encode(['status' => $result['status'], 'trusted' => $result['trusted']]);
