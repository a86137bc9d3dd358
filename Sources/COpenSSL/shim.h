// OpenSSL's libcrypto: HMAC, digests, secure random bytes, Ed25519 (EVP).
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
