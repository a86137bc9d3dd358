<?php
// Drives a real WordPress (Debian's package) from the command line, as its own screens and
// cron would: php wordpress_site.php CONFIG_NAME HOST COMMAND [ARGUMENTS…]. CONFIG_NAME picks
// /etc/wordpress/config-CONFIG_NAME.php (Debian's wp-config.php reads WORDPRESS_CONFIG), HOST is
// the site's host:port. Prints one JSON object. PHP warnings and notices go where WordPress sends
// them (WP_DEBUG_LOG), which the tests read.
[$script, $config, $host, $command] = array_slice($argv, 0, 4);
$arguments = array_slice($argv, 4);
$_SERVER['WORDPRESS_CONFIG'] = $config;
$_SERVER['HTTP_HOST'] = $host;
$_SERVER['SERVER_NAME'] = explode(':', $host)[0];
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
if ($command === 'install') {
    define('WP_INSTALLING', true);
}
require '/usr/share/wordpress/wp-load.php';

function out($value) {
    echo json_encode($value, JSON_UNESCAPED_SLASHES), "\n";
    exit(0);
}

function as_admin() {
    wp_set_current_user(1);
}

/** WordPress's own update check for plugins (wp_update_plugins), asked now; returns what it offers. */
function update_check() {
    delete_site_transient('update_plugins');
    wp_update_plugins();
    $saved = get_site_transient('update_plugins');
    $offers = array();
    foreach ((array) ($saved->response ?? array()) as $file => $item) {
        $offers[$file] = array('new_version' => $item->new_version, 'package' => $item->package ?? '');
    }
    return $offers;
}

switch ($command) {
case 'install':
    require_once ABSPATH . 'wp-admin/includes/upgrade.php';
    $result = wp_install('PaymentsFCGI test site', 'admin', 'admin@example.com', true, '', 'admin-password-for-tests');
    require_once ABSPATH . 'wp-admin/includes/plugin.php';
    $activated = activate_plugins($arguments);
    out(array('installed' => !is_wp_error($result), 'activated' => !is_wp_error($activated)));

case 'edd-activate':
    out(array('message' => edd_style_activate($arguments[0])));
case 'edd-check':
    out(array('check' => edd_style_check($arguments[0])));
case 'edd-deactivate':
    out(array('result' => edd_style_deactivate($arguments[0])));
case 'edd-raw':
    $answer = edd_style_license_call($arguments[0], $arguments[1]);
    out(array('success' => $answer->success, 'license' => $answer->license, 'error' => isset($answer->error) ? $answer->error : null));

case 'pfc-activate':
    out(array('status' => $GLOBALS['example_pro_license']->activate($arguments[0])));
case 'pfc-verify':
    out(array('status' => $GLOBALS['example_pro_license']->verify()));
case 'pfc-status':
    out(array('status' => $GLOBALS['example_pro_license']->status(), 'licensed' => $GLOBALS['example_pro_license']->is_licensed()));
case 'pfc-expire-cache':
    // As if cache_ttl had passed: the next status() asks the service again.
    $option = 'pfc_license_' . preg_replace('/[^a-z0-9_]/', '_', $arguments[0]);
    $state = get_option($option);
    $state['checked_at'] = 0;
    $state['retry_at'] = 0;
    update_option($option, $state, false);
    out(array('ok' => true));
case 'pfc-deactivate':
    out(array('status' => $GLOBALS['example_pro_license']->deactivate()));

case 'update-check':
    out(array('offers' => (object) update_check()));

case 'upgrade':
    // What wp-admin/update.php loads before it runs the upgrader.
    require_once ABSPATH . 'wp-admin/includes/admin.php';
    require_once ABSPATH . 'wp-admin/includes/class-wp-upgrader.php';
    as_admin();
    update_check();
    $upgrader = new Plugin_Upgrader(new Automatic_Upgrader_Skin());
    $was_active = is_plugin_active($arguments[0]);
    $result = $upgrader->upgrade($arguments[0]);
    $messages = $upgrader->skin->get_upgrade_messages();
    // As update.php does next (action=activate-plugin): a plugin that was active is activated again.
    if ($result === true && $was_active) {
        activate_plugin($arguments[0]);
    }
    wp_clean_plugins_cache();
    $data = get_plugin_data(WP_PLUGIN_DIR . '/' . $arguments[0], false, false);
    out(array('result' => $result === true, 'error' => is_wp_error($result) ? $result->get_error_code() : null,
              'messages' => $messages, 'version' => $data['Version'], 'active' => is_plugin_active($arguments[0])));

case 'download':
    // What the upgrader does with a package address (download_url), on any store port.
    require_once ABSPATH . 'wp-admin/includes/file.php';
    $port = (int) parse_url($arguments[0], PHP_URL_PORT);
    add_filter('http_allowed_safe_ports', function ($ports) use ($port) { $ports[] = $port; return $ports; });
    $file = download_url($arguments[0]);
    if (is_wp_error($file)) {
        out(array('error' => $file->get_error_code(), 'status' => $file->get_error_data()));
    }
    $hash = hash_file('sha256', $file);
    unlink($file);
    out(array('sha256' => $hash));

case 'version-from':
    // The client's get_version from another store address (the same service behind Apache).
    $client = new PFC_License_Client(array(
        'store' => $arguments[0], 'public_key' => $arguments[1], 'product' => $arguments[2], 'file' => WP_PLUGIN_DIR . '/' . $arguments[3],
        'version' => '0',
    ));
    update_option('pfc_license_' . preg_replace('/[^a-z0-9_]/', '_', $arguments[2]) . '_version', null);
    $info = $client->version_info(true);
    out(array('new_version' => $info['new_version'] ?? null, 'package' => $info['package'] ?? null));

case 'auth-cookie':
    $expiration = time() + 3600;
    out(array('name' => AUTH_COOKIE, 'value' => wp_generate_auth_cookie(1, $expiration, 'auth'),
              'logged_in_name' => LOGGED_IN_COOKIE, 'logged_in' => wp_generate_auth_cookie(1, $expiration, 'logged_in')));

case 'notices':
    as_admin();
    ob_start();
    do_action('admin_notices');
    out(array('html' => ob_get_clean()));

default:
    out(array('error' => 'unknown command ' . $command));
}
