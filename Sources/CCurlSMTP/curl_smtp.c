#include "curl_smtp.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

struct upload {
    const char *data;
    size_t left;
};

static size_t read_message(char *buffer, size_t size, size_t count, void *context) {
    struct upload *upload = context;
    size_t room = size * count;
    size_t n = upload->left < room ? upload->left : room;
    memcpy(buffer, upload->data, n);
    upload->data += n;
    upload->left -= n;
    return n;
}

int pfc_smtp_send(const char *host, int port, pfc_smtp_security security, const char *ca_file,
                  const char *user, const char *password, const char *from, const char *to,
                  const char *message, size_t length, long timeout_seconds, char *error) {
    error[0] = '\0';
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(error, 256, "curl_easy_init failed");
        return CURLE_FAILED_INIT;
    }
    char url[600];
    snprintf(url, sizeof url, "%s://%s:%d", security == PFC_SMTP_TLS ? "smtps" : "smtp", host, port);
    char from_path[520], to_path[520];
    snprintf(from_path, sizeof from_path, "<%s>", from);
    snprintf(to_path, sizeof to_path, "<%s>", to);
    struct curl_slist *recipients = curl_slist_append(NULL, to_path);
    struct upload upload = { message, length };
    char curl_error[CURL_ERROR_SIZE] = "";

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for timeouts
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds * 3);
    if (security == PFC_SMTP_STARTTLS) curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
    if (user) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, password ? password : "");
    }
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from_path);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);

    CURLcode result = curl_easy_perform(curl);
    if (result != CURLE_OK) {
        snprintf(error, 256, "%s", curl_error[0] ? curl_error : curl_easy_strerror(result));
    }
    curl_slist_free_all(recipients);
    curl_easy_cleanup(curl);
    return (int)result;
}
