<?php
/**
 * Plugin Name: Example Pro
 * Description: A licensed plugin that activates its key and updates itself from PaymentsFCGI.
 * Version: 1.0.0
 * Requires PHP: 7.4
 */
if (!defined('ABSPATH')) { exit; }
require_once __DIR__ . '/pfc-license-client.php';   // copied from clients/php/

$GLOBALS['example_pro_license'] = new PFC_License_Client(array(
    'store'      => 'https://shop.example.com/payments',
    'public_key' => 'PUBLIC_KEY_BASE64',              // GET /payments/license/public-key
    'product'    => 'example-pro',                    // the catalogue product
    'file'       => __FILE__,
    'version'    => '1.0.0',
    'name'       => 'Example Pro',
));

// The settings screen calls $GLOBALS['example_pro_license']->activate($key) with what the customer pasted.
add_action('init', function () {
    if ($GLOBALS['example_pro_license']->is_licensed()) {
        // … the licensed features …
    }
});
