<?php
/**
 * Plugin Name: EDD-style Sample
 * Description: A licensed plugin as EDD's Software Licensing documentation tells authors to write
 *   one: the store URL, a numeric item id and the item's name; activate, check and deactivate
 *   with wp_remote_post sending the name through rawurlencode() (so it arrives encoded twice);
 *   and an updater that asks get_version and unserialises sections, banners and icons. Written
 *   from that documentation for the tests (not EDD's code). Like older clients in the field, it
 *   reads whatever body comes back as EDD's JSON, whatever the status, so any answer that is not
 *   EDD-shaped shows up as a PHP warning in the debug log.
 * Version: 1.0
 */
if (!defined('ABSPATH')) { exit; }

define('EDD_STYLE_STORE_URL', 'STORE_URL');   // the tests put …/payments/edd here
define('EDD_STYLE_ITEM_ID', 123);
define('EDD_STYLE_ITEM_NAME', 'Sample Plugin');

/** The license calls, as the documentation's sample sends them. Returns the decoded answer (an object). */
function edd_style_license_call($action, $license) {
    $api_params = array(
        'edd_action'  => $action,
        'license'     => $license,
        'item_id'     => EDD_STYLE_ITEM_ID,
        'item_name'   => rawurlencode(EDD_STYLE_ITEM_NAME),
        'url'         => home_url(),
        'environment' => function_exists('wp_get_environment_type') ? wp_get_environment_type() : 'production',
    );
    $response = wp_remote_post(EDD_STYLE_STORE_URL, array('timeout' => 15, 'sslverify' => false, 'body' => $api_params));
    if (is_wp_error($response)) {
        return null;
    }
    return json_decode(wp_remote_retrieve_body($response));
}

/** What the sample's settings page does with an activation: a message, and the status kept. */
function edd_style_activate($license) {
    $license_data = edd_style_license_call('activate_license', $license);
    if (!$license_data) {
        return 'An error occurred, please try again.';
    }
    if (false === $license_data->success) {
        switch ($license_data->error) {
            case 'expired':
                return sprintf('Your license key expired on %s.', date_i18n(get_option('date_format'), strtotime($license_data->expires)));
            case 'disabled':
            case 'revoked':
                return 'Your license key has been disabled.';
            case 'missing':
                return 'Invalid license.';
            case 'invalid':
            case 'site_inactive':
                return 'Your license is not active for this URL.';
            case 'item_name_mismatch':
                return sprintf('This appears to be an invalid license key for %s.', EDD_STYLE_ITEM_NAME);
            case 'no_activations_left':
                return 'Your license key has reached its activation limit.';
            default:
                return 'An error occurred, please try again.';
        }
    }
    update_option('edd_style_license_key', $license);
    update_option('edd_style_license_status', $license_data->license);
    return 'valid: ' . $license_data->license . ' until ' . $license_data->expires . ', ' . $license_data->activations_left . ' left of '
        . $license_data->license_limit . ', site_count ' . $license_data->site_count;
}

/** The sample's check: valid or invalid. */
function edd_style_check($license) {
    $license_data = edd_style_license_call('check_license', $license);
    if (!$license_data) {
        return 'invalid';
    }
    return $license_data->license === 'valid' ? 'valid' : 'invalid (' . $license_data->license . ')';
}

function edd_style_deactivate($license) {
    $license_data = edd_style_license_call('deactivate_license', $license);
    if ($license_data && $license_data->license === 'deactivated') {
        delete_option('edd_style_license_status');
        return 'deactivated';
    }
    return 'failed';
}

/** An updater as the documentation describes the integration: get_version on the update check and for "View details". */
class EDD_Style_Updater {
    private $api_url;
    private $api_data;
    private $name;
    private $slug;
    private $version;

    public function __construct($api_url, $plugin_file, $api_data) {
        $this->api_url  = trailingslashit($api_url);
        $this->api_data = $api_data;
        $this->name     = plugin_basename($plugin_file);
        $this->slug     = basename($plugin_file, '.php');
        $this->version  = $api_data['version'];
        add_filter('pre_set_site_transient_update_plugins', array($this, 'check_update'));
        add_filter('plugins_api', array($this, 'plugins_api_filter'), 10, 3);
    }

    public function check_update($transient_data) {
        if (!is_object($transient_data)) {
            $transient_data = new stdClass();
        }
        $version_info = $this->api_request();
        if (false !== $version_info && is_object($version_info) && isset($version_info->new_version)) {
            $version_info->plugin = $this->name;
            if (version_compare($this->version, $version_info->new_version, '<')) {
                $transient_data->response[$this->name] = $version_info;
            } else {
                $transient_data->no_update[$this->name] = $version_info;
            }
            $transient_data->last_checked = time();
            $transient_data->checked[$this->name] = $this->version;
        }
        return $transient_data;
    }

    public function plugins_api_filter($_data, $_action = '', $_args = null) {
        if ('plugin_information' !== $_action || !isset($_args->slug) || $_args->slug !== $this->slug) {
            return $_data;
        }
        $api_response = $this->api_request();
        if (false !== $api_response) {
            $_data = $api_response;
            $_data->sections = (array) $_data->sections;
            $_data->banners = (array) $_data->banners;
            $_data->icons = (array) $_data->icons;
            $_data->external = true;
        }
        return $_data;
    }

    public function api_request() {
        $data = $this->api_data;
        $api_params = array(
            'edd_action'  => 'get_version',
            'license'     => !empty($data['license']) ? $data['license'] : '',
            'item_name'   => isset($data['item_name']) ? $data['item_name'] : false,
            'item_id'     => isset($data['item_id']) ? $data['item_id'] : false,
            'version'     => isset($data['version']) ? $data['version'] : false,
            'slug'        => $this->slug,
            'author'      => $data['author'],
            'url'         => home_url(),
            'beta'        => false,
            'php_version' => phpversion(),
            'wp_version'  => get_bloginfo('version'),
        );
        $request = wp_remote_post($this->api_url, array('timeout' => 15, 'sslverify' => false, 'body' => $api_params));
        if (is_wp_error($request)) {
            return false;
        }
        $request = json_decode(wp_remote_retrieve_body($request));
        if ($request && isset($request->sections)) {
            $request->sections = maybe_unserialize($request->sections);
        } else {
            $request = false;
        }
        if ($request && isset($request->banners)) {
            $request->banners = maybe_unserialize($request->banners);
        }
        if ($request && isset($request->icons)) {
            $request->icons = maybe_unserialize($request->icons);
        }
        return $request;
    }
}

add_action('init', function () {
    new EDD_Style_Updater(EDD_STYLE_STORE_URL, __FILE__, array(
        'version' => '1.0',
        'license' => trim((string) get_option('edd_style_license_key')),
        'item_id' => EDD_STYLE_ITEM_ID,
        'author'  => 'Sample Author',
        'beta'    => false,
    ));
});
