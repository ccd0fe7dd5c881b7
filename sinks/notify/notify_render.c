/* SPDX-License-Identifier: MIT */
/*
 * notify_render.c — payloads: the native JSON object of a note, the replaced tool's
 * {"peer": "ip:port"}, the HMAC-SHA256 signature of a body (OpenSSL libcrypto), and URLs
 * redacted for logs and figures. Pure functions of their arguments: any thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sinks/notify/notify_internal.h"

#define ENDPOINT_TEXT_MAX 64 /* parse_endpoint_format(): 64 bytes always suffice */

/* A bounded JSON writer: once something does not fit, it stays full and the result is 0. */
struct jw {
	char *p;
	size_t cap, len;
	bool full;
};

static void jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->full || n >= w->cap - w->len) {
		w->full = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void jw_lit(struct jw *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0; /* overlong, surrogate, or beyond Unicode */
	return len;
}

/* A JSON string: quotes, escapes, and U+FFFD for bytes that are not UTF-8. */
static void jw_str(struct jw *w, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), run;
	char esc[8];

	jw_put(w, "\"", 1);
	for (size_t i = 0; i < n; i += run) {
		run = 1;
		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)s[i];
			jw_put(w, esc, 2);
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
			jw_put(w, esc, 6);
		} else if (s[i] < 0x80) {
			jw_put(w, (const char *)s + i, 1);
		} else if ((run = utf8_seq(s + i, n - i)) != 0) {
			jw_put(w, (const char *)s + i, run);
		} else {
			run = 1;
			jw_lit(w, "\\ufffd");
		}
	}
	jw_put(w, "\"", 1);
}

static void jw_key_str(struct jw *w, const char *key, const char *val)
{
	jw_put(w, ",\"", 2);
	jw_lit(w, key);
	jw_put(w, "\":", 2);
	jw_str(w, val);
}

static void jw_key_endpoint(struct jw *w, const char *key, const struct parse_endpoint *ep)
{
	char text[ENDPOINT_TEXT_MAX];

	if (ep->af != PARSE_AF_INET && ep->af != PARSE_AF_INET6)
		return;
	if (!parse_endpoint_format(ep, PARSE_STYLE_ENDPOINT, text, sizeof(text))) {
		w->full = true;
		return;
	}
	jw_key_str(w, key, text);
}

static void jw_key_state(struct jw *w, const char *key, int state)
{
	const char *name = state >= 0 ? shm_state_name(state) : NULL;

	if (name)
		jw_key_str(w, key, name);
}

size_t notify_render_native(const struct notify_note *n, char *buf, size_t cap)
{
	struct jw w = {.p = buf, .cap = cap};
	char num[48];

	if (!cap || !notify_type_name(n->type))
		return 0;
	jw_lit(&w, "{\"type\":");
	jw_str(&w, notify_type_name(n->type));
	jw_key_str(&w, "host", n->host ? n->host : "");
	if (n->iface && n->iface[0])
		jw_key_str(&w, "iface", n->iface);
	if (n->has_peer) {
		snprintf(num, sizeof(num), ",\"peer\":%" PRIu64, n->peer);
		jw_lit(&w, num);
	}
	if (n->tenant)
		jw_key_str(&w, "tenant", n->tenant);
	jw_key_endpoint(&w, "endpoint", &n->endpoint);
	jw_key_endpoint(&w, "previous_endpoint", &n->prev_endpoint);
	jw_key_state(&w, "state", n->state);
	jw_key_state(&w, "previous_state", n->prev_state);
	snprintf(num, sizeof(num), ",\"time\":%" PRIu64 ".%06" PRIu64 "}", n->time / 1000000000u,
	         n->time % 1000000000u / 1000u);
	jw_lit(&w, num);
	if (w.full)
		return 0;
	buf[w.len] = '\0';
	return w.len;
}

/*
 * The replaced tool posted httpx's json= of {"peer": f"{ip}:{port}"}, ip and port being the two
 * halves of the endpoint as the kernel printed it: Python's json.dumps() with its default
 * separators (", " and ": "). The endpoint text is ASCII, so ensure_ascii changes nothing.
 */
size_t notify_render_manager(const struct notify_note *n, char *buf, size_t cap)
{
	struct jw w = {.p = buf, .cap = cap};
	char text[ENDPOINT_TEXT_MAX];

	if (!cap || n->type != NOTIFY_ENDPOINT_CHANGED ||
	    (n->endpoint.af != PARSE_AF_INET && n->endpoint.af != PARSE_AF_INET6))
		return 0;
	if (!parse_endpoint_format(&n->endpoint, PARSE_STYLE_ENDPOINT, text, sizeof(text)))
		return 0;
	jw_lit(&w, "{\"peer\": ");
	jw_str(&w, text);
	jw_lit(&w, "}");
	if (w.full)
		return 0;
	buf[w.len] = '\0';
	return w.len;
}

int notify_sign(const char *key, size_t key_len, const char *body, size_t len,
                char hex[NOTIFY_SIG_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (key_len > INT32_MAX ||
	    !HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)body, len, md, &md_len) ||
	    md_len * 2 != NOTIFY_SIG_HEX_LEN)
		return -EINVAL;
	for (unsigned int i = 0; i < md_len; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[NOTIFY_SIG_HEX_LEN] = '\0';
	return 0;
}

void notify_url_redact(const char *url, char *out, size_t cap)
{
	const char *auth = strstr(url, "://"), *end, *at, *path_end;
	size_t n = 0;

	if (!cap)
		return;
	if (!auth) {
		snprintf(out, cap, "(not a URL)");
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	at = memrchr(auth, '@', (size_t)(end - auth));
	path_end = end + strcspn(end, "?#");
	n = (size_t)snprintf(out, cap, "%.*s%.*s%.*s%s", (int)(auth - url), url,
	                     (int)(end - (at ? at + 1 : auth)), at ? at + 1 : auth,
	                     (int)(path_end - end), end, *path_end ? "?..." : "");
	(void)n; /* truncation is fine: the result is for display */
}
