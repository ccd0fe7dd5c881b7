/* SPDX-License-Identifier: MIT */
/*
 * parse_internal.h — what parse.c (the matcher) and parse_json.c (the printer)
 * share: the message templates, whose field segments are also the JSON order.
 */
#ifndef WGMON_PARSE_INTERNAL_H
#define WGMON_PARSE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

enum parse_seg_type {
	SEG_END = 0,
	SEG_LIT,       /* literal text */
	SEG_PEER,      /* %llu peer id      → ev->peer */
	SEG_ENDPOINT,  /* %pISpfsc          → ev->endpoint, ev->endpoint_text */
	SEG_ADDR_C,    /* %pISc             → ev->addr, ev->addr_text */
	SEG_ADDR_FULL, /* %pI4 or %pI6      → ev->addr, ev->addr_text */
	SEG_ERROR,     /* %d                → ev->n[0] */
	SEG_ATTEMPTS,  /* %d                → ev->n[0] */
	SEG_SECONDS,   /* %d                → ev->n[0] */
	SEG_TRY,       /* %d                → ev->n[1] */
	SEG_NONCE,     /* %llu              → ev->n[0] */
	SEG_NONCE_MAX, /* %llu              → ev->n[1] */
	SEG_KEYPAIR,   /* %llu              → ev->n[0] */
	SEG_COUNT,     /* %d                → ev->n[0] */
	SEG_VERSION,   /* WIREGUARD_VERSION → ev->version */
	SEG__COUNT
};

struct parse_seg {
	uint8_t type; /* enum parse_seg_type */
	uint8_t len;  /* SEG_LIT: bytes of text */
	const char *text;
};

/* The field bit (enum parse_field) each segment type fills; 0 for literals. */
extern const uint16_t parse_seg_field[SEG__COUNT];
/* For each event kind, one template of it (all templates of a kind share fields). */
extern const struct parse_seg *const parse_msg_segs[];

/* %pI6c into buf (≥ 48 bytes, not NUL-terminated); returns the length. */
size_t parse_addr6_compressed(const uint8_t a[16], char *buf);

#endif /* WGMON_PARSE_INTERNAL_H */
