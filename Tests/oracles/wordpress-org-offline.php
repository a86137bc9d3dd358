<?php
/**
 * Plugin Name: WordPress.org, offline
 * Description: The tests' WordPress has no network: its own update checks (core, plugins, themes)
 *   get WordPress.org's answer for "nothing new" from here instead of failing, as they would on a
 *   site whose checks succeed. Everything else (the store on this machine) goes out as usual.
 */
add_filter('pre_http_request', function ($preempt, $args, $url) {
    if (parse_url($url, PHP_URL_HOST) !== 'api.wordpress.org') {
        return $preempt;
    }
    $path = (string) parse_url($url, PHP_URL_PATH);
    if (strpos($path, '/plugins/update-check/') === 0) {
        $body = array('plugins' => array(), 'translations' => array(), 'no_update' => array());
    } elseif (strpos($path, '/themes/update-check/') === 0) {
        $body = array('themes' => array(), 'translations' => array(), 'no_update' => array());
    } elseif (strpos($path, '/core/version-check/') === 0) {
        $body = array('offers' => array(), 'translations' => array());
    } else {
        return new WP_Error('http_request_failed', 'offline');
    }
    return array('headers' => array(), 'body' => wp_json_encode($body), 'response' => array('code' => 200, 'message' => 'OK'),
                 'cookies' => array(), 'filename' => null);
}, 10, 3);
