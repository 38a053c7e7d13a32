/// OpenSSL libcrypto for the Flotilla node agent: P-256 keys, PKCS#10 requests, certificate
/// fingerprints and validity, Ed25519 verification and SHA-256 (called directly from Swift).
/// Wrappers exist only where the OpenSSL API is a macro or variadic, plus test-only signing.
#ifndef CFLOTILLA_CRYPTO_H
#define CFLOTILLA_CRYPTO_H

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <time.h>

/// Generates a fresh NIST P-256 key pair (EVP_EC_gen is a variadic macro).
static inline EVP_PKEY *flotilla_generate_p256(void) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/// Returns the bytes held by a memory BIO (BIO_get_mem_data is a macro).
static inline long flotilla_bio_contents(BIO *bio, const unsigned char **out) {
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    *out = (const unsigned char *)data;
    return length;
}

/// Adds a UTF-8 commonName entry to a distinguished name.
static inline int flotilla_name_add_common_name(X509_NAME *name, const char *value) {
    return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0);
}

/// Converts an ASN1_TIME to seconds since the Unix epoch. Returns 1 on success.
static inline int flotilla_asn1_time_to_unix(const ASN1_TIME *time, int64_t *out) {
    struct tm tm;
    if (ASN1_TIME_to_tm(time, &tm) != 1) return 0;
    *out = (int64_t)timegm(&tm);
    return 1;
}

/// Validity window of a certificate in Unix seconds. Returns 1 on success.
static inline int flotilla_x509_validity(const X509 *certificate, int64_t *not_before, int64_t *not_after) {
    return flotilla_asn1_time_to_unix(X509_get0_notBefore(certificate), not_before)
        && flotilla_asn1_time_to_unix(X509_get0_notAfter(certificate), not_after);
}

/// TEST AND TOOLING ONLY (the agent never signs): the Ed25519 public key of a raw 32-byte private
/// key (seed). Returns 1 on success. Being static inline, it costs the agent binary nothing.
static inline int flotilla_test_ed25519_public_key(const uint8_t seed[32], uint8_t public_key[32]) {
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (!key) return 0;
    size_t length = 32;
    int ok = EVP_PKEY_get_raw_public_key(key, public_key, &length) == 1 && length == 32;
    EVP_PKEY_free(key);
    return ok;
}

/// TEST AND TOOLING ONLY: signs `message` with the Ed25519 private key `seed` (64-byte signature).
/// Returns 1 on success.
static inline int flotilla_test_ed25519_sign(const uint8_t seed[32], const uint8_t *message, size_t length,
                                             uint8_t signature[64]) {
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (!key) return 0;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    size_t signature_length = 64;
    int ok = context && EVP_DigestSignInit(context, NULL, NULL, NULL, key) == 1
        && EVP_DigestSign(context, signature, &signature_length, message, length) == 1 && signature_length == 64;
    EVP_MD_CTX_free(context);
    EVP_PKEY_free(key);
    return ok;
}

#endif
