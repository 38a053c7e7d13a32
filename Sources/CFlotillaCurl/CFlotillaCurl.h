/// libcurl for the Flotilla node agent.
/// curl_easy_setopt/curl_easy_getinfo are variadic, which Swift cannot call, so every use goes
/// through a small typed wrapper here. The response body is collected by a C write callback into
/// a bounded buffer so Swift never hands a closure to C.
#ifndef CFLOTILLA_CURL_H
#define CFLOTILLA_CURL_H

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

/// Growable, size-limited response body buffer filled by flotilla_curl_write.
typedef struct {
    unsigned char *data;
    size_t length;
    size_t capacity;
    size_t limit;
    int overflowed;
} flotilla_curl_buffer;

static size_t flotilla_curl_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
    flotilla_curl_buffer *buffer = (flotilla_curl_buffer *)userdata;
    size_t count = size * nmemb;
    if (count > buffer->limit - buffer->length) {
        buffer->overflowed = 1;
        return 0;
    }
    if (buffer->length + count > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 4096;
        while (capacity < buffer->length + count) capacity *= 2;
        unsigned char *grown = (unsigned char *)realloc(buffer->data, capacity);
        if (!grown) return 0;
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->length, ptr, count);
    buffer->length += count;
    return count;
}

/// Empties the buffer (keeps the allocation) before a new request.
static inline void flotilla_curl_buffer_clear(flotilla_curl_buffer *buffer) {
    buffer->length = 0;
    buffer->overflowed = 0;
}

/// Releases the buffer's storage.
static inline void flotilla_curl_buffer_free(flotilla_curl_buffer *buffer) {
    free(buffer->data);
    buffer->data = NULL;
    buffer->length = 0;
    buffer->capacity = 0;
}

static inline CURLcode flotilla_curl_capture_body(CURL *handle, flotilla_curl_buffer *buffer) {
    CURLcode rc = curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, flotilla_curl_write);
    if (rc != CURLE_OK) return rc;
    return curl_easy_setopt(handle, CURLOPT_WRITEDATA, (void *)buffer);
}

static inline CURLcode flotilla_curl_set_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode flotilla_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode flotilla_curl_set_headers(CURL *handle, struct curl_slist *headers) {
    return curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
}

static inline CURLcode flotilla_curl_set_error_buffer(CURL *handle, char *buffer) {
    return curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, buffer);
}

/// Sets a PEM blob option (for example CURLOPT_CAINFO_BLOB); curl copies the bytes.
static inline CURLcode flotilla_curl_set_blob(CURL *handle, CURLoption option, const void *data, size_t length) {
    struct curl_blob blob;
    blob.data = (void *)data;
    blob.len = length;
    blob.flags = CURL_BLOB_COPY;
    return curl_easy_setopt(handle, option, &blob);
}

/// Sets a POST body; curl copies it, so the caller's buffer may be freed afterwards.
static inline CURLcode flotilla_curl_set_post_body(CURL *handle, const void *data, size_t length) {
    CURLcode rc = curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)length);
    if (rc != CURLE_OK) return rc;
    return curl_easy_setopt(handle, CURLOPT_COPYPOSTFIELDS, data);
}

static inline long flotilla_curl_response_code(CURL *handle) {
    long code = 0;
    if (curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) return 0;
    return code;
}

#endif
