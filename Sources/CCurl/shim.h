// Typed wrappers around libcurl's variadic calls, which Swift cannot call.
// Everything else about libcurl is used from Swift directly.
#ifndef HERALD_CCURL_SHIM_H
#define HERALD_CCURL_SHIM_H
#include <curl/curl.h>

typedef size_t (*herald_curl_data_callback)(char *data, size_t size, size_t count, void *userdata);

static inline CURLcode herald_curl_setopt_long(CURL *h, CURLoption option, long value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode herald_curl_setopt_string(CURL *h, CURLoption option, const char *value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode herald_curl_setopt_pointer(CURL *h, CURLoption option, void *value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode herald_curl_setopt_slist(CURL *h, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode herald_curl_setopt_mime(CURL *h, curl_mime *mime) {
    return curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
}
static inline CURLcode herald_curl_setopt_callback(CURL *h, CURLoption option, herald_curl_data_callback fn) {
    return curl_easy_setopt(h, option, fn);
}
typedef int (*herald_curl_debug_callback)(CURL *h, curl_infotype type, char *data, size_t size, void *userdata);

static inline CURLcode herald_curl_setopt_debug(CURL *h, herald_curl_debug_callback fn, void *userdata) {
    CURLcode rc = curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, fn);
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_DEBUGDATA, userdata);
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    return rc;
}
typedef int (*herald_curl_progress_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode herald_curl_setopt_progress(CURL *h, herald_curl_progress_callback fn, void *userdata) {
    CURLcode rc = curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, fn);
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_XFERINFODATA, userdata);
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    return rc;
}
typedef curl_socket_t (*herald_curl_opensocket_callback)(void *userdata, curlsocktype purpose, struct curl_sockaddr *address);

static inline CURLcode herald_curl_setopt_opensocket(CURL *h, herald_curl_opensocket_callback fn, void *userdata) {
    CURLcode rc = curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, fn);
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, userdata);
    return rc;
}
static inline CURLcode herald_curl_getinfo_long(CURL *h, CURLINFO info, long *out) {
    return curl_easy_getinfo(h, info, out);
}
static inline CURLcode herald_curl_getinfo_double(CURL *h, CURLINFO info, double *out) {
    return curl_easy_getinfo(h, info, out);
}
#endif
