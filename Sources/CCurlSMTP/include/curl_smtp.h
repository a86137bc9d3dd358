#ifndef PFC_CURL_SMTP_H
#define PFC_CURL_SMTP_H

#include <stddef.h>

// libcurl's options are set through a variadic function Swift cannot call, so the one SMTP
// conversation we need is written here in C and called from Swift as a plain function.

/// How the SMTP connection is protected.
typedef enum {
    PFC_SMTP_PLAIN = 0,     // smtp://, no TLS (a local relay)
    PFC_SMTP_STARTTLS = 1,  // smtp:// upgraded with STARTTLS, required
    PFC_SMTP_TLS = 2        // smtps://, TLS from the first byte
} pfc_smtp_security;

/// Sends one message (RFC 5322 text, CRLF line ends) to one recipient.
/// Returns 0 on success; otherwise a libcurl error code, with a message in `error` (at least
/// 256 bytes). `ca_file` may be NULL (the system's CAs); `user` NULL means no AUTH.
int pfc_smtp_send(const char *host, int port, pfc_smtp_security security, const char *ca_file,
                  const char *user, const char *password, const char *from, const char *to,
                  const char *message, size_t length, long timeout_seconds, char *error);

#endif
