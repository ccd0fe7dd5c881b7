/* SPDX-License-Identifier: MIT */
/*
 * gen — deterministic synthetic WireGuard kernel lines, for `wgmon gen`, the
 * benchmarks and the tests. Same options and seed, same bytes, on any machine.
 *
 * Every message of ../shared/spec/kernel-messages.md §3 (M1–M38, the 5.6–5.7
 * legacy line and `net_ratelimit: N callbacks suppressed`) is produced with the
 * kernel's exact wording, for a fixed population of peers spread over
 * interfaces and hosts, inside the envelopes of spec §8, optionally with the
 * dynamic-debug decorations of spec §7 and a share of deliberately broken lines.
 * Alongside each line the generator keeps what it meant (struct gen_truth), so
 * a test can check the parser against it.
 *
 * A struct gen is owned by one thread at a time; the functions keep no global
 * state, so independent generators may run on different threads.
 */
#ifndef WGMON_GEN_H
#define WGMON_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "parse/parse.h"

/* Limits. */
#define GEN_LINE_MAX    8192 /* a buffer this big always holds one line */
#define GEN_HOST_MAX    63   /* generated host names are shorter */
#define GEN_VERSION_MAX 15   /* "1.0.20220627" */
#define GEN_EP_TEXT_MAX 80   /* the longest %pISpfsc token has 74 bytes */
#define GEN_PEERS_MAX   (1u << 24)
#define GEN_IFACES_MAX  100000u /* keeps every generated name within 15 bytes */
#define GEN_HOSTS_MAX   65536u

/*
 * Envelopes (spec §8). `bare` is the text the kernel printed; the others wrap
 * it the way /dev/kmsg, dmesg and rsyslog's forwarding templates do.
 */
enum gen_envelope {
	GEN_ENV_BARE = 0,    /* wireguard: wg0: … */
	GEN_ENV_KMSG,        /* 7,SEQ,USEC,-;…  (non-ASCII and '\' escaped as \xNN) */
	GEN_ENV_DMESG,       /* [ 5123.456789] … */
	GEN_ENV_RFC3164,     /* <7>Aug  2 11:31:16 HOST kernel: … */
	GEN_ENV_RFC3164_OLD, /* same, rsyslog < 8.2312 kept "[ 5123.456789] " in MSG */
	GEN_ENV_RFC3339,     /* <7>2025-08-22T11:31:16.482913+02:00 HOST kernel: … */
	GEN_ENV_RFC5424,     /* <7>1 TS HOST kernel - - -  … (two spaces) */
	GEN_ENV_RFC5424_OLD, /* <7>1 TS HOST kernel - - - [ 5128.457142] … */
	GEN_ENV_REPEATED,    /* <7>… HOST kernel: message repeated N times: [ …] */
	GEN_ENV_FILE,        /* kern.log / journalctl -k: the 3164 or 3339 form without <PRI> */
	GEN_ENV_MIX,         /* a realistic mix of all of the above, per line */
	GEN_ENV__COUNT
};

struct gen_opts {
	uint64_t lines;  /* gen_line() returns 0 after this many; 0: no limit */
	uint64_t peers;  /* 1 … GEN_PEERS_MAX distinct peer ids */
	uint64_t ifaces; /* 1 … GEN_IFACES_MAX interface names */
	uint64_t hosts;  /* 1 … GEN_HOSTS_MAX host names */
	uint64_t seed;
	int envelope;     /* enum gen_envelope */
	double malformed; /* 0 … 1: share of lines replaced by broken ones */
	double decorated; /* 0 … 1: share of debug lines with a dynamic-debug decoration */
};

/*
 * What the generator meant by the last line: the event the parser should
 * produce (kind != PARSE_EV_NONE), or the rejection a broken line was built to
 * provoke (reject != PARSE_OK; the parser may legitimately pick another reason,
 * it must only reject). Field meanings are those of struct parse_event.
 */
struct gen_truth {
	uint8_t kind;     /* enum parse_event_kind; PARSE_EV_NONE for a broken line */
	uint8_t reject;   /* enum parse_reject; PARSE_OK for a good line */
	uint8_t envelope; /* enum gen_envelope actually used (never GEN_ENV_MIX) */
	uint8_t decorated;
	uint16_t fields; /* enum parse_field bits */
	uint32_t repeat; /* 1, or N of "message repeated N times" */
	uint64_t peer;
	uint64_t n[2];
	struct parse_endpoint endpoint;
	struct parse_endpoint addr;
	char iface[PARSE_IFACE_MAX + 1]; /* "" when the message has none */
	char host[GEN_HOST_MAX + 1];     /* "" when the envelope carries none */
	char version[GEN_VERSION_MAX + 1];
	char endpoint_text[GEN_EP_TEXT_MAX]; /* as printed, without the enclosing "(" ")" */
	char addr_text[GEN_EP_TEXT_MAX];
};

struct gen;

/* Defaults: 1000 lines, 100 peers, 4 interfaces, 1 host, seed 1, mix, nothing broken. */
void gen_opts_default(struct gen_opts *o);

/*
 * gen_new() - a generator for `o` (copied). Allocates the peer population
 * (about 56 bytes per peer). Returns 0, or -EINVAL for out-of-range options
 * and -ENOMEM.
 */
__attribute__((warn_unused_result)) int gen_new(const struct gen_opts *o, struct gen **out);

/* Frees a generator; NULL is fine. */
void gen_free(struct gen *g);

/*
 * gen_line() - the next line, without its "\n", NUL-terminated in `buf`.
 * Returns its length (snprintf-like: at most cap - 1 bytes are stored; a
 * GEN_LINE_MAX buffer always suffices), or 0 once opts.lines lines were made.
 * Never allocates.
 */
size_t gen_line(struct gen *g, char *buf, size_t cap);

/* What the last gen_line() meant; valid until the next gen_line(). */
const struct gen_truth *gen_truth(const struct gen *g);

/* The envelope named `name` ("bare", "kmsg", …, "mix"), or -1. */
int gen_envelope_lookup(const char *name);
/* Its name, or NULL when out of range. */
const char *gen_envelope_name(int envelope);

/*
 * gen_endpoint_format() - the generator's own rendering of %pISpfsc
 * (PARSE_STYLE_ENDPOINT), %pISc (PARSE_STYLE_COMPRESSED) and %pI6 / %pI4
 * (PARSE_STYLE_UNCOMPRESSED), written independently of parse/ so that each
 * checks the other. Returns the length (NUL-terminated), or 0 if cap < 80.
 */
size_t gen_endpoint_format(const struct parse_endpoint *ep, int style, char *buf, size_t cap);

#endif /* WGMON_GEN_H */
