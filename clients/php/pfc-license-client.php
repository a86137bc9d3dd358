<?php
/**
 * PaymentsFCGI license client for WordPress plugins: one file, no Composer.
 *
 * Include it from your plugin's main file and make one client:
 *
 *     require_once __DIR__ . '/pfc-license-client.php';
 *     $license = new PFC_License_Client(array(
 *         'store'      => 'https://shop.example.com/payments',   // where PaymentsFCGI answers
 *         'public_key' => 'BASE64…',                             // GET /payments/license/public-key
 *         'product'    => 'pro-plugin',                          // the catalogue product
 *         'file'       => __FILE__,                              // the plugin's main file
 *         'version'    => '1.0.0',                               // the running version
 *     ));
 *     if ($license->is_licensed()) { … }
 *
 * What it does: activate, verify and deactivate with wp_remote_post; trust an answer only when
 * its Ed25519 signature verifies and it is about this key, this site and this product (and
 * echoes the nonce sent); cache the verdict for the answer's cache_ttl and keep trusting it,
 * offline, until its valid_until; treat 429, 503, network failures and anything unsigned as
 * "unknown" (the last good verdict stands); offer updates through WordPress's update transient
 * and "View details" (plugins_api) from the service's get_version; show an admin notice for an
 * expired, disabled or refunded license. Nothing it does throws into WordPress.
 *
 * PHP 7.4 to 8.3 (sodium is bundled with PHP since 7.2). GPL-2.0-or-later, like WordPress.
 */

if (!defined('ABSPATH')) {
    exit;
}

if (!class_exists('PFC_License_Client')) {

    class PFC_License_Client
    {
        /** Verdicts a trusted answer can carry (README: License API). */
        const BAD_STANDING = array('expired', 'disabled', 'refunded', 'suspended');

        /** Seconds a get_version answer is reused before the service is asked again. */
        const VERSION_TTL = 10800;

        /** Seconds to wait before asking again after the service could not answer. */
        const RETRY_SECONDS = 300;

        /** @var array */
        private $config;
        /** @var string */
        private $option;
        /** @var string plugin_basename of the plugin's main file (folder/file.php) */
        private $basename = '';
        /** @var string the plugin's slug (its folder) */
        private $slug = '';

        public function __construct(array $config)
        {
            $this->config = array_merge(array(
                'store' => '', 'public_key' => '', 'product' => '', 'item_id' => 0, 'file' => '', 'version' => '0',
                'key_prefix' => 'PFC', 'name' => '', 'timeout' => 15,
            ), $config);
            $this->config['store'] = rtrim((string) $this->config['store'], '/');
            $this->option = 'pfc_license_' . preg_replace('/[^a-z0-9_]/', '_', strtolower((string) $this->config['product']));
            try {
                if ($this->config['file'] !== '' && function_exists('plugin_basename')) {
                    $this->basename = plugin_basename($this->config['file']);
                    $this->slug = dirname($this->basename) !== '.' ? dirname($this->basename) : basename($this->basename, '.php');
                }
                add_filter('pre_set_site_transient_update_plugins', array($this, 'offer_update'));
                add_filter('plugins_api', array($this, 'plugin_information'), 10, 3);
                add_action('admin_notices', array($this, 'admin_notice'));
            } catch (\Throwable $e) {
                // A client that cannot hook in is a client without updates, never a broken site.
            }
        }

        // ---- license ---------------------------------------------------------------------

        /** Activates $key for this site and remembers it. Returns the status ('active', …, 'unknown'). */
        public function activate(string $key): string
        {
            $key = trim($key);
            $result = $this->ask('activate', $key);
            if ($result['trusted']) {
                $this->save(array('key' => $key, 'answer' => $result['answer'], 'checked_at' => time()));
                // Version answers given before the key was active carry no package.
                delete_option($this->option . '_version');
            }
            return $result['status'];
        }

        /** Frees this site's seat and forgets the key. Returns the status. */
        public function deactivate(): string
        {
            $state = $this->state();
            if ($state['key'] === '') {
                return 'site_inactive';
            }
            $result = $this->ask('deactivate', $state['key']);
            if ($result['trusted']) {
                delete_option($this->option);
                delete_option($this->option . '_version');
            }
            return $result['status'];
        }

        /** Asks the service now (not the cache). Returns the status; 'unknown' keeps the last good verdict. */
        public function verify(): string
        {
            $state = $this->state();
            if ($state['key'] === '') {
                return 'unknown';
            }
            $result = $this->ask('verify', $state['key']);
            if ($result['trusted']) {
                $state['answer'] = $result['answer'];
                $state['checked_at'] = time();
                $state['retry_at'] = 0;
                $this->save($state);
                return $result['status'];
            }
            // Not asked again for a few minutes: a service that is down must not slow every page.
            $state['retry_at'] = time() + self::RETRY_SECONDS;
            $this->save($state);
            return $this->trusted_status($state);
        }

        /**
         * The verdict: the cached one while its cache_ttl runs, else asked again; when the service
         * cannot be asked, the last trusted verdict until its valid_until, then 'unknown'.
         */
        public function status(): string
        {
            try {
                $state = $this->state();
                if ($state['key'] === '') {
                    return 'unknown';
                }
                $answer = $state['answer'];
                if ((is_array($answer) && time() < (int) $state['checked_at'] + (int) ($answer['cache_ttl'] ?? 0)) || time() < $state['retry_at']) {
                    return $this->trusted_status($state);
                }
                return $this->verify();
            } catch (\Throwable $e) {
                return 'unknown';
            }
        }

        /** Whether the plugin may run its licensed features on this site. */
        public function is_licensed(): bool
        {
            return $this->status() === 'active';
        }

        /** The key this site uses ('' when none). */
        public function key(): string
        {
            return $this->state()['key'];
        }

        /** The last trusted answer (array), or null. */
        public function last_answer()
        {
            return $this->state()['answer'];
        }

        // ---- updates ---------------------------------------------------------------------

        /** pre_set_site_transient_update_plugins: offers the service's newest release. */
        public function offer_update($transient)
        {
            try {
                if (!is_object($transient) || $this->basename === '') {
                    return $transient;
                }
                $info = $this->version_info(false);
                if ($info === null) {
                    return $transient;
                }
                $item = $this->update_item($info);
                if (version_compare((string) $this->config['version'], (string) $info['new_version'], '<')) {
                    if (!isset($transient->response) || !is_array($transient->response)) {
                        $transient->response = array();
                    }
                    $transient->response[$this->basename] = $item;
                } else {
                    if (!isset($transient->no_update) || !is_array($transient->no_update)) {
                        $transient->no_update = array();
                    }
                    $item->new_version = (string) $this->config['version'];
                    $transient->no_update[$this->basename] = $item;
                }
            } catch (\Throwable $e) {
                // No update offered this time.
            }
            return $transient;
        }

        /** plugins_api: "View details" for this plugin. */
        public function plugin_information($result, $action = '', $args = null)
        {
            try {
                if ($action !== 'plugin_information' || !is_object($args) || !isset($args->slug) || $args->slug !== $this->slug) {
                    return $result;
                }
                $info = $this->version_info(true);
                if ($info === null) {
                    return $result;
                }
                $details = $this->update_item($info);
                $details->name = (string) ($info['name'] ?? $this->config['name']);
                $details->version = (string) $info['new_version'];
                $details->homepage = (string) ($info['homepage'] ?? '');
                $details->last_updated = (string) ($info['last_updated'] ?? '');
                $details->download_link = (string) ($info['package'] ?? '');
                $details->sections = $this->unserialized($info['sections'] ?? '');
                $details->author = isset($info['author']) ? (string) $info['author'] : '';
                // Not a wordpress.org plugin: no link to a page there.
                $details->external = true;
                return $details;
            } catch (\Throwable $e) {
                return $result;
            }
        }

        /**
         * The service's get_version answer, trusted (signed, about this product, our nonce), or null.
         * Reused for VERSION_TTL unless $fresh.
         */
        public function version_info(bool $fresh)
        {
            try {
                $cached = get_option($this->option . '_version');
                if (!$fresh && is_array($cached) && isset($cached['info'], $cached['at']) && time() < (int) $cached['at'] + self::VERSION_TTL) {
                    return $cached['info'];
                }
                $nonce = bin2hex(random_bytes(16));
                $body = array(
                    'edd_action' => 'get_version', 'license' => $this->state()['key'], 'url' => home_url(),
                    'slug' => $this->slug, 'version' => (string) $this->config['version'], 'nonce' => $nonce,
                );
                if ((int) $this->config['item_id'] > 0) {
                    $body['item_id'] = (string) (int) $this->config['item_id'];
                } else {
                    $body['item_name'] = (string) $this->config['product'];
                }
                $answer = $this->signed_post($this->config['store'] . '/edd', $body);
                if ($answer === null || ($answer['nonce'] ?? null) !== $nonce || ($answer['product'] ?? null) !== $this->config['product']
                    || !is_string($answer['new_version'] ?? null) || $answer['new_version'] === '') {
                    return is_array($cached) && isset($cached['info']) ? $cached['info'] : null;
                }
                update_option($this->option . '_version', array('info' => $answer, 'at' => time()), false);
                return $answer;
            } catch (\Throwable $e) {
                return null;
            }
        }

        /** What WordPress's update screens read about a release. */
        private function update_item(array $info)
        {
            $item = new \stdClass();
            $item->id = $this->basename;
            $item->slug = $this->slug;
            $item->plugin = $this->basename;
            $item->new_version = (string) $info['new_version'];
            $item->url = (string) ($info['homepage'] ?? '');
            $item->package = (string) ($info['package'] ?? '');
            $item->tested = (string) ($info['tested'] ?? '');
            $item->requires = (string) ($info['requires'] ?? '');
            $item->requires_php = (string) ($info['requires_php'] ?? '');
            $item->icons = $this->unserialized($info['icons'] ?? '');
            $item->banners = $this->unserialized($info['banners'] ?? '');
            return $item;
        }

        /** EDD's PHP-serialised arrays of strings, read without ever making objects. */
        private function unserialized($value): array
        {
            if (is_array($value)) {
                return $value;
            }
            if (!is_string($value) || $value === '' || strncmp($value, 'a:', 2) !== 0) {
                return array();
            }
            $array = @unserialize($value, array('allowed_classes' => false));
            if (!is_array($array)) {
                return array();
            }
            return array_filter($array, 'is_string');
        }

        // ---- notices ---------------------------------------------------------------------

        /** admin_notices: tells the site's administrators when the license stopped being good. */
        public function admin_notice()
        {
            try {
                if (!function_exists('current_user_can') || !current_user_can('manage_options')) {
                    return;
                }
                $state = $this->state();
                $status = $this->trusted_status($state);
                if (!in_array($status, self::BAD_STANDING, true)) {
                    return;
                }
                $name = $this->config['name'] !== '' ? $this->config['name'] : $this->config['product'];
                $messages = array(
                    'expired' => '%s: your license has expired. Renew it to keep receiving updates.',
                    'disabled' => '%s: your license was disabled. Contact the seller.',
                    'refunded' => '%s: your license was refunded and no longer works on this site.',
                    'suspended' => '%s: your license is suspended while a payment dispute is open.',
                );
                printf('<div class="notice notice-error"><p>%s</p></div>', esc_html(sprintf($messages[$status], $name)));
            } catch (\Throwable $e) {
                // No notice rather than a broken admin page.
            }
        }

        // ---- the wire --------------------------------------------------------------------

        /**
         * One license call, checked as README's pfc_license_check does: signed, about this key,
         * this site and this product, our nonce, still within valid_until.
         * Returns array('status' => …, 'trusted' => bool, 'answer' => array|null).
         */
        private function ask(string $action, string $key): array
        {
            $unknown = array('status' => 'unknown', 'trusted' => false, 'answer' => null);
            try {
                $nonce = bin2hex(random_bytes(16));
                $site = home_url();
                $answer = $this->signed_post($this->config['store'] . '/license/' . $action, array(
                    'license_key' => $key, 'site_url' => $site, 'product' => (string) $this->config['product'], 'nonce' => $nonce,
                ));
                if ($answer === null || !is_string($answer['status'] ?? null)
                    || ($answer['nonce'] ?? null) !== $nonce || ($answer['site_url'] ?? null) !== $site
                    || ($answer['key_id'] ?? null) !== self::key_id($key, (string) $this->config['key_prefix'])
                    || (($answer['product'] ?? null) !== $this->config['product'] && $answer['status'] !== 'wrong_product')
                    || strtotime((string) ($answer['valid_until'] ?? '')) < time()) {
                    return $unknown;
                }
                return array('status' => $answer['status'], 'trusted' => true, 'answer' => $answer);
            } catch (\Throwable $e) {
                return $unknown;
            }
        }

        /** POSTs a form; the decoded answer when it is a 200 signed by the store's key, else null. */
        private function signed_post(string $url, array $body)
        {
            $response = wp_remote_post($url, array('timeout' => (int) $this->config['timeout'], 'body' => $body));
            if (is_wp_error($response) || (int) wp_remote_retrieve_response_code($response) !== 200) {
                return null;
            }
            $raw = (string) wp_remote_retrieve_body($response);
            $signature = base64_decode((string) wp_remote_retrieve_header($response, 'x-license-signature'), true);
            $public = base64_decode((string) $this->config['public_key'], true);
            if ($signature === false || strlen($signature) !== SODIUM_CRYPTO_SIGN_BYTES
                || $public === false || strlen($public) !== SODIUM_CRYPTO_SIGN_PUBLICKEYBYTES
                || !sodium_crypto_sign_verify_detached($signature, $raw, $public)) {
                return null;
            }
            $answer = json_decode($raw, true);
            return is_array($answer) ? $answer : null;
        }

        /** SHA-256 of a key as the server identifies it: upper case, no prefix, '-' or spaces, I/L as 1, O as 0. */
        public static function key_id(string $key, string $prefix = 'PFC'): string
        {
            $k = strtoupper(str_replace(array('-', ' ', "\t"), '', $key));
            $p = strtoupper($prefix);
            if (strlen($k) === 28 + strlen($p) && strncmp($k, $p, strlen($p)) === 0) {
                $k = substr($k, strlen($p));
            }
            return hash('sha256', strtr($k, 'ILO', '110'));
        }

        /** The last trusted status while its valid_until lasts, else 'unknown'. */
        private function trusted_status(array $state): string
        {
            $answer = $state['answer'];
            if (!is_array($answer) || !is_string($answer['status'] ?? null) || strtotime((string) ($answer['valid_until'] ?? '')) < time()) {
                return 'unknown';
            }
            return $answer['status'];
        }

        private function state(): array
        {
            $state = get_option($this->option);
            return array(
                'key' => is_array($state) && is_string($state['key'] ?? null) ? $state['key'] : '',
                'answer' => is_array($state) && is_array($state['answer'] ?? null) ? $state['answer'] : null,
                'checked_at' => is_array($state) ? (int) ($state['checked_at'] ?? 0) : 0,
                'retry_at' => is_array($state) ? (int) ($state['retry_at'] ?? 0) : 0,
            );
        }

        private function save(array $state)
        {
            update_option($this->option, $state, false);
        }
    }
}
