/* SPDX-License-Identifier: MIT */
/*
 * parse.c — envelope → decoration → "wireguard: IFACE: " → message → event.
 *
 * Each stage is a small function over a cursor (p, end); a stage either moves
 * the cursor or names the reason the line is rejected. The 38 messages are
 * data (templates of literal text and typed fields, below), so adding one is a
 * table row. Nothing here allocates, locks, or reads past `end`.
 *
 * Speed comes from a few habits, not from a second parser. Bytes are
 * classified by one table lookup. Digits, literals and separators are read
 * eight at a time from a word (see "eight at once"), and where the length of
 * a field changes from line to line (octets, hex groups, numbers) the word
 * gives it without a branch, because a mispredicted branch costs more than
 * the arithmetic. The common forms of the interface name and the endpoint
 * have a fast reader that accepts exactly what the careful one does for them
 * and passes everything else, errors included, to the careful one, which then
 * names the reason.
 */
#include <stdbool.h>
#include <string.h>

#include "parse/parse.h"
#include "parse/parse_internal.h"

/* Internal verdict of a template that simply does not apply to the line. */
#define MISMATCH (-1)

struct cursor {
	const char *p;
	const char *end;
};

/* ------------------------------------------------------- character classes */

/*
 * One table lookup per byte instead of a chain of comparisons. Each class is
 * written once below as the predicate it stands for, and the table is built
 * from those predicates by the compiler.
 */
enum char_class {
	CC_DIGIT = 1 << 0,  /* 0-9 */
	CC_ALNUM = 1 << 1,  /* 0-9 A-Z a-z */
	CC_GLUE = 1 << 2,   /* may not follow a %llu: alnum, '_', ',', '.' ("1,000", "12a") */
	CC_XDIGIT = 1 << 3, /* hex digit, either case */
	CC_IFACE = 1 << 4,  /* dev_valid_name(): not NUL, '/', ':' or the kernel's isspace() */
	CC_HOST = 1 << 5,   /* syslog HOSTNAME: printable, no space, no DEL */
	CC_DECO = 1 << 6,   /* dynamic-debug decoration tokens: alnum and "_./-:" */
};

#define C_DIGIT(c)  ((c) >= '0' && (c) <= '9')
#define C_ALNUM(c)  (C_DIGIT(c) || ((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define C_LHEX(c)   (C_DIGIT(c) || ((c) >= 'a' && (c) <= 'f'))
#define C_XDIGIT(c) (C_LHEX(c) || ((c) >= 'A' && (c) <= 'F'))
#define C_SPACE(c)  ((c) == ' ' || ((c) >= '\t' && (c) <= '\r') || (c) == 0xA0)
#define C_IFACE(c)  ((c) && (c) != '/' && (c) != ':' && !C_SPACE(c))
#define C_HOST(c)   ((c) > ' ' && (c) != 0x7f)
#define C_GLUE(c)   (C_ALNUM(c) || (c) == '_' || (c) == ',' || (c) == '.')
#define C_DECO(c)   (C_ALNUM(c) || (c) == '_' || (c) == '.' || (c) == '/' || (c) == '-' || (c) == ':')
#define CC_OF(c)                                                                                   \
	((C_DIGIT(c) ? CC_DIGIT : 0) | (C_ALNUM(c) ? CC_ALNUM : 0) | (C_GLUE(c) ? CC_GLUE : 0) |   \
	 (C_XDIGIT(c) ? CC_XDIGIT : 0) | (C_IFACE(c) ? CC_IFACE : 0) | (C_HOST(c) ? CC_HOST : 0) | \
	 (C_DECO(c) ? CC_DECO : 0))
#define CC_ROW(c)                                                                                  \
	CC_OF(c), CC_OF(c + 1), CC_OF(c + 2), CC_OF(c + 3), CC_OF(c + 4), CC_OF(c + 5),            \
	        CC_OF(c + 6), CC_OF(c + 7), CC_OF(c + 8), CC_OF(c + 9), CC_OF(c + 10),             \
	        CC_OF(c + 11), CC_OF(c + 12), CC_OF(c + 13), CC_OF(c + 14), CC_OF(c + 15)

#define CC_TABLE                                                                                   \
	{                                                                                          \
		CC_ROW(0x00), CC_ROW(0x10), CC_ROW(0x20), CC_ROW(0x30), CC_ROW(0x40),              \
		        CC_ROW(0x50), CC_ROW(0x60), CC_ROW(0x70), CC_ROW(0x80), CC_ROW(0x90),      \
		        CC_ROW(0xa0), CC_ROW(0xb0), CC_ROW(0xc0), CC_ROW(0xd0), CC_ROW(0xe0),      \
		        CC_ROW(0xf0)                                                               \
	}

static const uint8_t char_classes[256] = CC_TABLE;
#undef CC_OF

/* The value of a hex digit as the kernel prints it (0-9 a-f), or NOT_HEX. */
#define NOT_HEX  0xff
#define CC_OF(c) (C_DIGIT(c) ? (c) - '0' : C_LHEX(c) ? (c) - 'a' + 10 : NOT_HEX)
static const uint8_t lower_hex[256] = CC_TABLE;
#undef CC_OF

static inline bool is(char b, enum char_class cls)
{
	return char_classes[(unsigned char)b] & cls;
}

static inline bool is_digit(char b)
{
	return is(b, CC_DIGIT);
}

/* The value of a hex digit of either case: '0'-'9' are 0x3_, 'a'-'f' and 'A'-'F' 0x_1-0x_6. */
static inline unsigned hex_digit(char b)
{
	return ((unsigned)b & 0xf) + ((unsigned)b >> 6) * 9;
}

/* ---------------------------------------------------------- eight at once */

/*
 * Where at least eight bytes remain before `end`, a word holds eight bytes of
 * the line: loaded with memcpy() (no alignment needed) in little-endian order,
 * so byte i of the text is byte i of the word and counting trailing zero bits
 * finds the first byte a scan stops at.
 */
#define ONES  (~(uint64_t)0 / 0xff) /* 0x0101010101010101 */
#define HIGHS (ONES * 0x80)
/* A word of eight given bytes, the first in the low byte (for masks and separators). */
#define WORD8(a, b, c, d, e, f, g, h)                                                              \
	((uint64_t)(a) | (uint64_t)(b) << 8 | (uint64_t)(c) << 16 | (uint64_t)(d) << 24 |          \
	 (uint64_t)(e) << 32 | (uint64_t)(f) << 40 | (uint64_t)(g) << 48 | (uint64_t)(h) << 56)

static inline uint64_t load64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint32_t load32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

/* 0x80 in the first byte of x below n (n ≤ 0x80); bytes after that one may be flagged wrongly. */
static inline uint64_t bytes_below(uint64_t x, unsigned n)
{
	return (x - ONES * n) & ~x & HIGHS;
}

/* 0x80 in the first byte of x equal to b (same caveat). */
static inline uint64_t bytes_equal(uint64_t x, unsigned char b)
{
	return bytes_below(x ^ (ONES * b), 1);
}

/* A non-zero byte wherever x does not hold an ASCII digit, exactly (nothing carries). */
static inline uint64_t bytes_nondigit(uint64_t x)
{
	return ((x & ONES * 0xf0) ^ ONES * '0') | (((x & ONES * 0x0f) + ONES * 6) & ONES * 0xf0);
}

/* The index of the first flagged byte of a non-zero mask. */
static inline unsigned first_flagged(uint64_t mask)
{
	return (unsigned)__builtin_ctzll(mask) / 8;
}

/* One bit per byte (bit i for byte i) of a mask whose flagged bytes are non-zero. */
static inline unsigned byte_bits(uint64_t mask)
{
	/* 0x80 in each non-zero byte (seven bits added, so nothing carries), then gathered. */
	mask = (((mask & ONES * 0x7f) + ONES * 0x7f) | mask) & HIGHS;
	return (unsigned)(((mask >> 7) * 0x0102040810204080ull) >> 56);
}

/*
 * Does x hold digits everywhere but at the separators? `seps` holds the
 * separator bytes where `mask` is 0xff ("dd:dd:dd" is a clock).
 */
static inline bool word_shape(uint64_t x, uint64_t mask, uint64_t seps)
{
	return (x & mask) == seps && !bytes_nondigit((x & ~mask) | (ONES * '0' & mask));
}

/* Masks of the first n bytes of a word. */
static const uint64_t first_bytes[9] = {
        0,
        0xff,
        0xffff,
        0xffffff,
        0xffffffff,
        0xffffffffff,
        0xffffffffffff,
        0xffffffffffffff,
        0xffffffffffffffff,
};

/*
 * The value of the n (1–8) leading digits of x. They are moved to the top of
 * the word, so whatever followed them falls out and zeros lead, then digit
 * pairs, quads and octets are combined with three multiplications.
 */
static inline uint64_t word_decimal(uint64_t x, unsigned n)
{
	x = (x - ONES * '0') << (8 * (8 - n));
	x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffull;
	x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffull;
	return (x * 10000 + (x >> 32)) & 0xffffffffull;
}

/*
 * The bytes at p as a word, zero past `end`. With fewer than eight left, the
 * word is the last eight bytes before `end`, shifted down: callers pass the
 * `floor` below which the line may not be read, and get `false` if even that
 * is not possible (p == end, or a line shorter than eight bytes from floor).
 */
static inline bool load_tail(const char *p, const char *end, const char *floor, uint64_t *x)
{
	if (end - p >= 8) {
		*x = load64(p);
		return true;
	}
	if (p >= end || end - floor < 8)
		return false;
	*x = load64(end - 8) >> (8 * (8 - (end - p)));
	return true;
}

/* The number of leading digits of x (0–8) and, if any, their value. */
static inline unsigned word_number(uint64_t x, uint64_t *v)
{
	uint64_t stop = bytes_nondigit(x);
	unsigned k = stop ? first_flagged(stop) : 8;

	*v = k ? word_decimal(x, k) : 0;
	return k;
}

/* Byte i of x. */
static inline unsigned char byte_of(uint64_t x, unsigned i)
{
	return (unsigned char)(x >> (8 * i));
}

/*
 * Are the n bytes at a and b equal? Both must be readable for n bytes. Words
 * (the last one overlapping its predecessor) instead of a call to memcmp():
 * most literals here differ from the line, if at all, in their first word.
 */
static inline __attribute__((always_inline)) bool text_eq(const char *a, const char *b, size_t n)
{
	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8)
			if (load64(a + i) != load64(b + i))
				return false;
		return load64(a + n - 8) == load64(b + n - 8);
	}
	if (n >= 4)
		return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Does the cursor stand at `lit` (n bytes, known at compile time)? */
static inline __attribute__((always_inline)) bool at(const struct cursor *c, const char *lit,
                                                     size_t n)
{
	return (size_t)(c->end - c->p) >= n && text_eq(c->p, lit, n);
}
#define AT(c, lit) at((c), (lit), sizeof(lit) - 1)

static void skip_spaces(struct cursor *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

/* The first byte at or after p that is not a digit (or end). */
static const char *skip_digits(const char *p, const char *end)
{
	for (; end - p >= 8; p += 8) {
		uint64_t stop = bytes_nondigit(load64(p));

		if (stop)
			return p + first_flagged(stop);
	}
	while (p < end && is_digit(*p))
		p++;
	return p;
}

/*
 * A fresh event. Only the header is cleared (kind, lengths, fields, repeat);
 * a field's storage is written when its bit in `fields` is set, and nothing
 * reads it otherwise. That keeps 150 bytes of stores off every line.
 */
static inline void event_clear(struct parse_event *ev)
{
	memset(ev, 0, offsetof(struct parse_event, peer));
	ev->repeat = 1;
	ev->host = NULL;
}

/* ---------------------------------------------------------------- numbers */

static const uint64_t powers_of_10[9] = {1,      10,      100,      1000,     10000,
                                         100000, 1000000, 10000000, 100000000};

/*
 * Count the decimal digits at p and return their value modulo 2^64. The
 * count is exact up to `max`; past that it only says "more than max", and the
 * scan stops early.
 */
static unsigned decimal_run(const char *p, const char *end, unsigned max, uint64_t *value)
{
	uint64_t v = 0;
	unsigned n = 0;

	for (; end - p >= 8 && n <= max; p += 8) {
		uint64_t x = load64(p), stop = bytes_nondigit(x);
		unsigned k = stop ? first_flagged(stop) : 8;

		if (k)
			v = v * powers_of_10[k] + word_decimal(x, k);
		n += k;
		if (k < 8)
			goto done;
	}
	for (; p < end && is_digit(*p) && n <= max; n++)
		v = v * 10 + (uint64_t)(*p++ - '0');
done:
	*value = v;
	return n;
}

/*
 * Decimal as %llu prints it: no sign, no leading zero, ≤ UINT64_MAX, and not
 * glued to further letters or digits ("0x1f", "1,000", "12a" are bad_number).
 */
static int number_u64(struct cursor *c, uint64_t *out)
{
	const char *p = c->p;
	uint64_t x, stop, v;
	unsigned n;

	if (p >= c->end)
		return PARSE_REJECT_TRUNCATED;
	if (c->end - p >= 8 && (stop = bytes_nondigit(x = load64(p)))) {
		/* The common case: fewer than eight digits, all in one word. */
		n = first_flagged(stop);
		if (!n)
			return PARSE_REJECT_BAD_NUMBER;
		v = word_decimal(x, n);
	} else {
		/* Up to 19 digits cannot overflow; the 20th is checked against UINT64_MAX as text. */
		n = decimal_run(p, c->end, 20, &v);
		if (!n || n > 20 || (n == 20 && memcmp(p, "18446744073709551615", 20) > 0))
			return PARSE_REJECT_BAD_NUMBER;
	}
	if (n > 1 && *p == '0')
		return PARSE_REJECT_BAD_NUMBER;
	p += n;
	if (p < c->end && is(*p, CC_GLUE))
		return PARSE_REJECT_BAD_NUMBER;
	c->p = p;
	*out = v;
	return PARSE_OK;
}

/* Decimal as %d prints it: an optional '-', then as above, within int range. */
static int number_int(struct cursor *c, int64_t *out)
{
	bool neg = c->p < c->end && *c->p == '-';
	uint64_t v;
	int rc;

	if (neg)
		c->p++;
	rc = number_u64(c, &v);
	if (rc)
		return rc;
	if (v > (neg ? 2147483648u : 2147483647u))
		return PARSE_REJECT_BAD_NUMBER;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return PARSE_OK;
}

/*
 * A bounded decimal at p (octet, port, flowinfo, scope): no leading zero, at
 * most `max` (≤ UINT32_MAX, so ten digits always tell). Returns its length, or
 * 0 if there is no such number; what follows it is the caller's business.
 * These are short, so a plain loop beats eight at once.
 */
static inline unsigned bounded_decimal(const char *p, const char *end, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	unsigned n = 0, d;

	while (n < 11 && p + n < end && (d = (unsigned)(unsigned char)p[n] - '0') < 10) {
		v = v * 10 + d;
		n++;
	}
	*out = v;
	return !n || (n > 1 && *p == '0') || v > max ? 0 : n;
}

/* A bounded decimal inside an address, not followed by a letter or digit. */
static bool endpoint_number(struct cursor *c, uint64_t max, uint64_t *out)
{
	unsigned n = bounded_decimal(c->p, c->end, max, out);

	if (!n || (c->p + n < c->end && is(c->p[n], CC_ALNUM)))
		return false;
	c->p += n;
	return true;
}

/* -------------------------------------------------------------- addresses */

/* a.b.c.d as %pI4 prints it: decimal octets, no leading zeros. */
static bool addr_v4(struct cursor *c, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		uint64_t octet;

		if (i && (c->p >= c->end || *c->p++ != '.'))
			return false;
		if (!endpoint_number(c, 255, &octet))
			return false;
		out[i] = (uint8_t)octet;
	}
	return true;
}

/*
 * The words w[0..n) of an address, with the "::" (if any) before word `gap`:
 * is this how the kernel's ip6_compressed_string() prints that address? It
 * writes the first longest run of ≥ 2 zero words as "::" (never a single
 * one), and ends v4-mapped and ISATAP addresses in dotted IPv4. If so, store
 * the address in network order.
 */
static bool addr_v6_finish(const uint16_t w[8], int n, int gap, bool dotted, uint8_t out[16])
{
	int head = gap < 0 ? n : gap, fill = gap < 0 ? 0 : 8 - n; /* "::" stands for `fill` zeros */
	unsigned zero = 0, runs, starts = 0, longest = 0;
	uint16_t full[8];
	bool v4;

	if (gap < 0 ? n != 8 : n > 7)
		return false;
	for (int i = 0; i < 8; i++) {
		full[i] = i < head ? w[i] : i < head + fill ? 0 : w[i - fill];
		zero |= (unsigned)!full[i] << i;
	}
	v4 = ((zero & 0x1f) == 0x1f && full[5] == 0xffff) ||
	     ((full[4] | 0x0200) == 0x0200 && full[5] == 0x5efe);
	if (dotted != v4)
		return false;
	if (v4)
		zero &= 0x3f; /* the dotted tail is never compressed */
	/* Bit i of `runs` stays set while words i … i + longest are all zero. */
	for (runs = zero; runs; runs &= runs >> 1) {
		starts = runs;
		longest++;
	}
	if (longest < 2 ? gap >= 0 : gap != __builtin_ctz(starts) || fill != (int)longest)
		return false;
	for (int i = 0; i < 8; i++) {
		out[2 * i] = (uint8_t)(full[i] >> 8);
		out[2 * i + 1] = (uint8_t)full[i];
	}
	return true;
}

/*
 * IPv6 text exactly as the kernel's %pI6c prints it, in one pass: groups of
 * lowercase hex without leading zeros, at most one "::", an optional dotted
 * IPv4 tail, and the kernel's choice of compression.
 */
static bool addr_v6_compressed(struct cursor *c, uint8_t out[16])
{
	uint16_t w[8] = {0};
	int n = 0, gap = -1;
	bool dotted = false;

	if (at(c, "::", 2)) {
		gap = 0;
		c->p += 2;
		if (c->p >= c->end || lower_hex[(unsigned char)*c->p] == NOT_HEX)
			goto finish;
	}
	while (n < 8) {
		const char *start = c->p;
		unsigned v = 0;

		while (c->p < c->end && c->p - start < 4 &&
		       lower_hex[(unsigned char)*c->p] != NOT_HEX)
			v = v * 16 + lower_hex[(unsigned char)*c->p++];
		if (c->p < c->end && *c->p == '.' && n <= 6) {
			uint8_t q[4];

			c->p = start; /* a dotted IPv4 tail: the last two words */
			if (!addr_v4(c, q))
				return false;
			w[n++] = (uint16_t)(q[0] << 8 | q[1]);
			w[n++] = (uint16_t)(q[2] << 8 | q[3]);
			dotted = true;
			break;
		}
		if (c->p == start || (c->p - start > 1 && *start == '0') ||
		    (c->p < c->end && is(*c->p, CC_XDIGIT)))
			return false;
		w[n++] = (uint16_t)v;
		if (n == 8 || !at(c, ":", 1))
			break;
		if (at(c, "::", 2)) {
			if (gap >= 0)
				return false;
			gap = n;
			c->p += 2;
			if (c->p >= c->end || lower_hex[(unsigned char)*c->p] == NOT_HEX)
				break;
			continue;
		}
		c->p++;
	}
finish:
	return addr_v6_finish(w, n, gap, dotted, out);
}

/*
 * The lowercase hex digits (as the kernel prints them) at the start of x: how
 * many (0–8) and, when there are at most four, their value. The low seven
 * bits of each byte are compared by adding, so nothing carries into the next
 * byte and every byte's answer is exact.
 */
static inline unsigned word_hex(uint64_t x, unsigned *value)
{
	uint64_t t = x & ONES * 0x7f, nib;
	uint64_t digit = (t + ONES * (0x80 - '0')) & ~(t + ONES * (0x80 - '9' - 1));
	uint64_t letter = (t + ONES * (0x80 - 'a')) & ~(t + ONES * (0x80 - 'f' - 1));
	uint64_t stop = ~((digit | letter) & ~x) & HIGHS;
	unsigned k = stop ? first_flagged(stop) : 8;

	if (!k || k > 4)
		return k;
	/* Nibbles ('a'-'f' have bit 6 set), moved to the top of four bytes, then paired. */
	nib = (x & ONES * 0x0f) + ((x >> 6) & ONES) * 9;
	nib = (nib << (8 * (4 - k))) & 0xffffffff;
	nib = ((nib << 4) | (nib >> 8)) & 0x00ff00ff;
	*value = (unsigned)(((nib << 8) | (nib >> 16)) & 0xffff);
	return k;
}

/*
 * The common IPv6 address, hex groups and at most one "::", a group per word.
 * It returns the end of exactly the text that addr_v6_compressed() accepts
 * without a dotted tail, and NULL for everything else (which that function
 * then reads, or names the error of). `floor` is the start of the endpoint.
 */
static const char *addr_v6_fast(const char *p, const char *end, const char *floor, uint8_t out[16])
{
	bool need_group = true;
	uint16_t w[8];
	int n = 0, gap = -1;

	if (end - p >= 2 && p[0] == ':' && p[1] == ':') {
		gap = 0;
		p += 2;
		need_group = false;
	}
	while (n < 8) {
		uint64_t x;
		unsigned k, v;

		if (!load_tail(p, end, floor, &x))
			return NULL;
		k = word_hex(x, &v);
		if (!k && !need_group)
			break; /* "::" ended the address */
		if (!k || k > 4 || (k > 1 && byte_of(x, 0) == '0'))
			return NULL;
		w[n++] = (uint16_t)v;
		p += k;
		if (n == 8 || byte_of(x, k) != ':')
			break; /* whatever follows must be "]:" */
		if (p + 1 < end && p[1] == ':') {
			if (gap >= 0)
				return NULL;
			gap = n;
			p += 2;
			need_group = false;
		} else {
			p++;
			need_group = true;
		}
	}
	return addr_v6_finish(w, n, gap, false, out) ? p : NULL;
}

/* %pI6: eight groups of exactly four lowercase hex digits. */
static bool addr_v6_full(struct cursor *c, uint8_t out[16])
{
	if (c->end - c->p < 39)
		return false;
	for (int i = 0; i < 8; i++) {
		unsigned v = 0;

		for (int j = 0; j < 4; j++) {
			unsigned h = lower_hex[(unsigned char)*c->p++];

			if (h == NOT_HEX)
				return false;
			v = v * 16 + h;
		}
		out[2 * i] = (uint8_t)(v >> 8);
		out[2 * i + 1] = (uint8_t)v;
		if (i < 7 && *c->p++ != ':')
			return false;
	}
	return true;
}

/* Where a failed address ended: at the end of the line it was cut short. */
static int addr_failure(const struct cursor *c)
{
	return c->p >= c->end ? PARSE_REJECT_TRUNCATED : PARSE_REJECT_BAD_ENDPOINT;
}

/*
 * An octet at p (1–3 digits, no leading zero, ≤ 255) and the separator after
 * it: the address of the byte after the separator, or NULL. Octets are short,
 * so the digits are simply read one by one, without a loop.
 */
static inline const char *octet(const char *p, const char *end, char sep, uint8_t *out)
{
	unsigned v, d;

	if (end - p < 4 || (v = (unsigned char)p[0] - '0') > 9)
		return NULL;
	if ((d = (unsigned char)p[1] - '0') > 9)
		return p[1] == sep ? (*out = (uint8_t)v, p + 2) : NULL;
	if (!v)
		return NULL;
	v = v * 10 + d;
	if ((d = (unsigned char)p[2] - '0') > 9)
		return p[2] == sep ? (*out = (uint8_t)v, p + 3) : NULL;
	v = v * 10 + d;
	return v <= 255 && p[3] == sep ? (*out = (uint8_t)v, p + 4) : NULL;
}

/* The value of the n (1–3) digits at p, with four bytes readable there. */
static inline unsigned small_decimal(const char *p, unsigned n)
{
	/* Moved to the top of the word, so a borrow from the byte after them falls out. */
	uint32_t y = (load32(p) - 0x30303030u) << (8 * (4 - n));

	return ((y >> 8) & 0xff) * 100 + ((y >> 16) & 0xff) * 10 + (y >> 24);
}

/* One bit per byte of x (bit i for byte i) that is not an ASCII digit. */
static inline unsigned nondigit_bits(uint64_t x)
{
	/* The low seven bits of a byte compared by adding: nothing carries out of a byte. */
	uint64_t t = x & ONES * 0x7f;
	uint64_t digit = (t + ONES * (0x80 - '0')) & ~(t + ONES * (0x80 - '9' - 1)) & ~x;

	return (unsigned)((((~digit & HIGHS) >> 7) * 0x0102040810204080ull) >> 56);
}

/*
 * "a.b.c.d:" from two words, when sixteen bytes are there: where the four
 * non-digits are gives the octets' lengths, so that no branch depends on
 * them (they change from line to line, and a mispredicted branch costs more
 * than this whole function). Returns the byte after ':', or NULL.
 */
static const char *quad_fast(const char *p, uint8_t addr[4])
{
	/* The least value of n digits without a leading zero ("0" itself is fine). */
	static const unsigned char least[4] = {0, 0, 10, 100};
	/* Four sentinels past the sixteen bytes: there are always four stops to find. */
	unsigned stops = nondigit_bits(load64(p)) | nondigit_bits(load64(p + 8)) << 8 | 0xfu << 16;
	unsigned s0, s1, s2, s3, n0, n1, n2, n3, v0, v1, v2, v3;

	s0 = (unsigned)__builtin_ctz(stops);
	stops &= stops - 1;
	s1 = (unsigned)__builtin_ctz(stops);
	stops &= stops - 1;
	s2 = (unsigned)__builtin_ctz(stops);
	stops &= stops - 1;
	s3 = (unsigned)__builtin_ctz(stops);
	n0 = s0, n1 = s1 - s0 - 1, n2 = s2 - s1 - 1, n3 = s3 - s2 - 1;
	if (n0 - 1 > 2 || n1 - 1 > 2 || n2 - 1 > 2 || n3 - 1 > 2 || p[s0] != '.' || p[s1] != '.' ||
	    p[s2] != '.' || p[s3] != ':')
		return NULL;
	v0 = small_decimal(p, n0);
	v1 = small_decimal(p + s0 + 1, n1);
	v2 = small_decimal(p + s1 + 1, n2);
	v3 = small_decimal(p + s2 + 1, n3);
	if (v0 - least[n0] > 255u - least[n0] || v1 - least[n1] > 255u - least[n1] ||
	    v2 - least[n2] > 255u - least[n2] || v3 - least[n3] > 255u - least[n3])
		return NULL;
	addr[0] = (uint8_t)v0;
	addr[1] = (uint8_t)v1;
	addr[2] = (uint8_t)v2;
	addr[3] = (uint8_t)v3;
	return p + s3 + 1;
}

/*
 * The common endpoints, "a.b.c.d:port" and "[v6]:port/flowinfo%scope", in one
 * pass each. They accept exactly what endpoint() below accepts for such text,
 * and nothing else: anything unusual, and every error, is left to it.
 */
static bool endpoint_v4_fast(struct cursor *c, struct parse_endpoint *ep)
{
	const char *p = c->p, *end = c->end;
	uint8_t addr[4];
	uint64_t x, port;
	unsigned k;

	if (end - p >= 16)
		p = quad_fast(p, addr);
	else if ((p = octet(p, end, '.', &addr[0])) && (p = octet(p, end, '.', &addr[1])) &&
	         (p = octet(p, end, '.', &addr[2])))
		p = octet(p, end, ':', &addr[3]);
	if (!p)
		return false;
	/* The port, from one word: digits, value and the byte after them. */
	if (!load_tail(p, end, c->p, &x))
		return false;
	k = word_number(x, &port);
	if (!k || k > 5 || (k > 1 && byte_of(x, 0) == '0') || port > 65535 ||
	    (p + k < end && is((char)byte_of(x, k), CC_ALNUM)))
		return false;
	memset(ep, 0, sizeof(*ep));
	ep->af = PARSE_AF_INET;
	memcpy(ep->addr, addr, sizeof(addr));
	ep->port = (uint16_t)port;
	c->p = p + k;
	return true;
}

/* "]:port/flowinfo%scope" after the address at `floor`: returns its end, or NULL. */
static const char *endpoint_v6_suffix(const char *p, const char *end, const char *floor,
                                      struct parse_endpoint *ep)
{
	static const struct {
		uint32_t max;
		char after;
	} parts[3] = {{65535, '/'}, {0x0FFFFFFF, '%'}, {UINT32_MAX, 0}};
	uint64_t x, v[3];

	if (end - p < 2 || p[0] != ']' || p[1] != ':')
		return NULL;
	p += 2;
	for (int i = 0; i < 3; i++) {
		unsigned k;

		if (!load_tail(p, end, floor, &x))
			return NULL;
		k = word_number(x, &v[i]);
		if (!k || k == 8 || (k > 1 && byte_of(x, 0) == '0') || v[i] > parts[i].max)
			return NULL;
		if (parts[i].after ? p + k >= end || byte_of(x, k) != parts[i].after
		                   : p + k < end && is((char)byte_of(x, k), CC_ALNUM))
			return NULL;
		p += k + (i < 2);
	}
	ep->port = (uint16_t)v[0];
	ep->flowinfo = (uint32_t)v[1];
	ep->scope = (uint32_t)v[2];
	return p;
}

static bool endpoint_v6_fast(struct cursor *c, struct parse_endpoint *ep)
{
	uint8_t addr[16];
	const char *p = addr_v6_fast(c->p + 1, c->end, c->p, addr);

	if (!p || !(p = endpoint_v6_suffix(p, c->end, c->p, ep)))
		return false;
	ep->af = PARSE_AF_INET6;
	ep->_pad = 0;
	memcpy(ep->addr, addr, sizeof(addr));
	c->p = p;
	return true;
}

/*
 * %pISpfsc: "a.b.c.d:port", "[v6c]:port/flowinfo%scope", or the unset forms
 * "(einval)" and (before 2019) "(invalid address)".
 */
static __attribute__((noinline)) int endpoint(struct cursor *c, struct parse_endpoint *ep)
{
	uint64_t port, flow, scope;

	if (c->p >= c->end)
		return PARSE_REJECT_TRUNCATED;
	if (*c->p == '[' ? endpoint_v6_fast(c, ep) : endpoint_v4_fast(c, ep))
		return PARSE_OK;
	if (*c->p == '(') {
		if (AT(c, "(einval)"))
			c->p += sizeof("(einval)") - 1;
		else if (AT(c, "(invalid address)"))
			c->p += sizeof("(invalid address)") - 1;
		else
			return addr_failure(c);
		*ep = (struct parse_endpoint){.af = PARSE_AF_UNSET};
		return PARSE_OK;
	}
	memset(ep, 0, sizeof(*ep));
	if (*c->p != '[') {
		if (!addr_v4(c, ep->addr) || !at(c, ":", 1))
			return addr_failure(c);
		c->p++;
		if (!endpoint_number(c, 65535, &port))
			return addr_failure(c);
		ep->af = PARSE_AF_INET;
		ep->port = (uint16_t)port;
		return PARSE_OK;
	}
	c->p++;
	if (!addr_v6_compressed(c, ep->addr))
		return addr_failure(c);
	if (!at(c, "]:", 2))
		return addr_failure(c);
	c->p += 2;
	if (!endpoint_number(c, 65535, &port) || !at(c, "/", 1))
		return addr_failure(c);
	c->p++;
	if (!endpoint_number(c, 0x0FFFFFFF, &flow) || !at(c, "%", 1))
		return addr_failure(c);
	c->p++;
	if (!endpoint_number(c, UINT32_MAX, &scope))
		return addr_failure(c);
	ep->af = PARSE_AF_INET6;
	ep->port = (uint16_t)port;
	ep->flowinfo = (uint32_t)flow;
	ep->scope = (uint32_t)scope;
	return PARSE_OK;
}

/* An inner address: %pISc (v4 or compressed v6) or %pI4 / %pI6 (M27/M28). */
static int inner_addr(struct cursor *c, int style, struct parse_endpoint *a)
{
	const char *start = c->p;

	memset(a, 0, sizeof(*a));
	if (addr_v4(c, a->addr)) {
		a->af = PARSE_AF_INET;
		return PARSE_OK;
	}
	c->p = start;
	if (style == PARSE_STYLE_UNCOMPRESSED ? addr_v6_full(c, a->addr)
	                                      : addr_v6_compressed(c, a->addr)) {
		a->af = PARSE_AF_INET6;
		return PARSE_OK;
	}
	return addr_failure(c);
}

/* -------------------------------------------------------------- messages */

/*
 * A message is a list of segments: literal text, or a typed field that
 * stores into the event. The field segments double as the JSON field order.
 */
/* Literal text is stored with seven NULs after it, so a word may be read at any of its bytes. */
#define LIT(s)                                                                                     \
	{                                                                                          \
		SEG_LIT, sizeof(s) - 1, s "\0\0\0\0\0\0\0"                                         \
	}
#define FLD(f)                                                                                     \
	{                                                                                          \
		(f), 0, NULL                                                                       \
	}
#define END                                                                                        \
	{                                                                                          \
		SEG_END, 0, NULL                                                                   \
	}

static const struct parse_seg m1[] = {LIT("Could not decrypt invalid cookie response"), END};
static const struct parse_seg m2[] = {LIT("No route to "), FLD(SEG_ENDPOINT), LIT(", error "),
                                      FLD(SEG_ERROR), END};
static const struct parse_seg m4[] = {LIT("Receiving cookie response from "), FLD(SEG_ENDPOINT),
                                      END};
static const struct parse_seg m5[] = {LIT("Invalid MAC of handshake, dropping packet from "),
                                      FLD(SEG_ENDPOINT), END};
static const struct parse_seg m6[] = {LIT("Invalid handshake initiation from "), FLD(SEG_ENDPOINT),
                                      END};
static const struct parse_seg m7[] = {LIT("Receiving handshake initiation from peer "),
                                      FLD(SEG_PEER),
                                      LIT(" ("),
                                      FLD(SEG_ENDPOINT),
                                      LIT(")"),
                                      END};
static const struct parse_seg m8[] = {LIT("Invalid handshake response from "), FLD(SEG_ENDPOINT),
                                      END};
static const struct parse_seg m9[] = {LIT("Receiving handshake response from peer "),
                                      FLD(SEG_PEER),
                                      LIT(" ("),
                                      FLD(SEG_ENDPOINT),
                                      LIT(")"),
                                      END};
static const struct parse_seg m10[] = {LIT("Receiving keepalive packet from peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m11[] = {LIT("Packet has unallowed src IP ("),
                                       FLD(SEG_ADDR_C),
                                       LIT(") from peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m12[] = {LIT("Packet is neither ipv4 nor ipv6 from peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m13[] = {LIT("Packet has incorrect size from peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m14[] = {LIT("Packet has invalid nonce "),
                                       FLD(SEG_NONCE),
                                       LIT(" (max "),
                                       FLD(SEG_NONCE_MAX),
                                       LIT(")"),
                                       END};
static const struct parse_seg m15[] = {LIT("Dropping handshake packet from "), FLD(SEG_ENDPOINT),
                                       END};
static const struct parse_seg m16[] = {LIT("Sending handshake initiation to peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m17[] = {LIT("Sending handshake response to peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m18[] = {
        LIT("Sending cookie response for denied handshake message for "), FLD(SEG_ENDPOINT), END};
static const struct parse_seg m19[] = {LIT("Sending keepalive packet to peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(")"),
                                       END};
static const struct parse_seg m20[] = {LIT("Handshake for peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(") did not complete after "),
                                       FLD(SEG_ATTEMPTS),
                                       LIT(" attempts, giving up"),
                                       END};
static const struct parse_seg m21[] = {LIT("Handshake for peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(") did not complete after "),
                                       FLD(SEG_SECONDS),
                                       LIT(" seconds, retrying (try "),
                                       FLD(SEG_TRY),
                                       LIT(")"),
                                       END};
static const struct parse_seg m22[] = {LIT("Retrying handshake with peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT(") because we stopped hearing back after "),
                                       FLD(SEG_SECONDS),
                                       LIT(" seconds"),
                                       END};
static const struct parse_seg m23[] = {LIT("Zeroing out all keys for peer "),
                                       FLD(SEG_PEER),
                                       LIT(" ("),
                                       FLD(SEG_ENDPOINT),
                                       LIT("), since we haven't received a new one in "),
                                       FLD(SEG_SECONDS),
                                       LIT(" seconds"),
                                       END};
static const struct parse_seg m24[] = {LIT("Peer "), FLD(SEG_PEER), LIT(" created"), END};
static const struct parse_seg m25[] = {LIT("Peer "),      FLD(SEG_PEER),      LIT(" ("),
                                       FLD(SEG_ENDPOINT), LIT(") destroyed"), END};
static const struct parse_seg m26[] = {LIT("Invalid IP packet"), END};
static const struct parse_seg m27[] = {LIT("No peer has allowed IPs matching "), FLD(SEG_ADDR_FULL),
                                       END};
static const struct parse_seg m29[] = {
        LIT("No valid endpoint has been configured or discovered for peer "), FLD(SEG_PEER), END};
static const struct parse_seg m30[] = {LIT("Interface destroyed"), END};
static const struct parse_seg m31[] = {LIT("Interface created"), END};
static const struct parse_seg m32[] = {LIT("Creating namespace exiting"), END};
static const struct parse_seg m33[] = {LIT("Keypair "), FLD(SEG_KEYPAIR),
                                       LIT(" destroyed for peer "), FLD(SEG_PEER), END};
static const struct parse_seg m34[] = {LIT("Keypair "), FLD(SEG_KEYPAIR), LIT(" created for peer "),
                                       FLD(SEG_PEER), END};
static const struct parse_seg m35[] = {LIT("WireGuard "), FLD(SEG_VERSION),
                                       LIT(" loaded. See www.wireguard.com for information."), END};
static const struct parse_seg m36[] = {
        LIT("Copyright (C) 2015-2019 Jason A. Donenfeld <Jason@zx2c4.com>. All Rights Reserved."),
        END};
static const struct parse_seg m37[] = {LIT("Could not create IPv4 socket"), END};
static const struct parse_seg m38[] = {LIT("Could not create IPv6 socket"), END};
static const struct parse_seg mgro[] = {LIT("Failed to give packet to userspace from peer "),
                                        FLD(SEG_PEER),
                                        LIT(" ("),
                                        FLD(SEG_ENDPOINT),
                                        LIT(")"),
                                        END};
static const struct parse_seg mrl[] = {LIT("net_ratelimit: "), FLD(SEG_COUNT),
                                       LIT(" callbacks suppressed"), END};

/* Per kind: a template whose fields give the JSON order. */
const struct parse_seg *const parse_msg_segs[PARSE_EV__COUNT] = {
        [PARSE_EV_COOKIE_DECRYPT_FAILED] = m1,
        [PARSE_EV_SEND_NO_ROUTE] = m2,
        [PARSE_EV_COOKIE_RESPONSE_RECEIVED] = m4,
        [PARSE_EV_HANDSHAKE_MAC_INVALID] = m5,
        [PARSE_EV_HANDSHAKE_INITIATION_INVALID] = m6,
        [PARSE_EV_HANDSHAKE_INITIATION_RECEIVED] = m7,
        [PARSE_EV_HANDSHAKE_RESPONSE_INVALID] = m8,
        [PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED] = m9,
        [PARSE_EV_KEEPALIVE_RECEIVED] = m10,
        [PARSE_EV_PACKET_SRC_UNALLOWED] = m11,
        [PARSE_EV_PACKET_NOT_IP] = m12,
        [PARSE_EV_PACKET_SIZE_INVALID] = m13,
        [PARSE_EV_PACKET_NONCE_INVALID] = m14,
        [PARSE_EV_HANDSHAKE_PACKET_DROPPED] = m15,
        [PARSE_EV_HANDSHAKE_INITIATION_SENT] = m16,
        [PARSE_EV_HANDSHAKE_RESPONSE_SENT] = m17,
        [PARSE_EV_COOKIE_RESPONSE_SENT] = m18,
        [PARSE_EV_KEEPALIVE_SENT] = m19,
        [PARSE_EV_HANDSHAKE_GAVE_UP] = m20,
        [PARSE_EV_HANDSHAKE_RETRY] = m21,
        [PARSE_EV_HANDSHAKE_RESTART] = m22,
        [PARSE_EV_KEYS_ZEROED] = m23,
        [PARSE_EV_PEER_CREATED] = m24,
        [PARSE_EV_PEER_DESTROYED] = m25,
        [PARSE_EV_XMIT_INVALID_PACKET] = m26,
        [PARSE_EV_XMIT_NO_ALLOWED_IPS] = m27,
        [PARSE_EV_XMIT_NO_ENDPOINT] = m29,
        [PARSE_EV_INTERFACE_DESTROYED] = m30,
        [PARSE_EV_INTERFACE_CREATED] = m31,
        [PARSE_EV_NETNS_EXITING] = m32,
        [PARSE_EV_KEYPAIR_DESTROYED] = m33,
        [PARSE_EV_KEYPAIR_CREATED] = m34,
        [PARSE_EV_MODULE_LOADED] = m35,
        [PARSE_EV_MODULE_BANNER] = m36,
        [PARSE_EV_SOCKET_CREATE_FAILED] = m37,
        [PARSE_EV_PACKET_GRO_DROPPED] = mgro,
        [PARSE_EV_RATELIMIT_SUPPRESSED] = mrl,
};

struct candidate {
	uint8_t kind;
	uint8_t family;
	const struct parse_seg *segs;
};

/* The interface messages, grouped by their first byte (the dispatch key). */
static const struct candidate by_c[] = {{PARSE_EV_COOKIE_DECRYPT_FAILED, 0, m1},
                                        {PARSE_EV_SOCKET_CREATE_FAILED, 4, m37},
                                        {PARSE_EV_SOCKET_CREATE_FAILED, 6, m38},
                                        {PARSE_EV_NETNS_EXITING, 0, m32},
                                        {0, 0, NULL}};
static const struct candidate by_n[] = {{PARSE_EV_SEND_NO_ROUTE, 0, m2},
                                        {PARSE_EV_XMIT_NO_ALLOWED_IPS, 0, m27},
                                        {PARSE_EV_XMIT_NO_ENDPOINT, 0, m29},
                                        {0, 0, NULL}};
static const struct candidate by_r[] = {{PARSE_EV_KEEPALIVE_RECEIVED, 0, m10},
                                        {PARSE_EV_HANDSHAKE_INITIATION_RECEIVED, 0, m7},
                                        {PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED, 0, m9},
                                        {PARSE_EV_COOKIE_RESPONSE_RECEIVED, 0, m4},
                                        {PARSE_EV_HANDSHAKE_RESTART, 0, m22},
                                        {0, 0, NULL}};
static const struct candidate by_i[] = {{PARSE_EV_HANDSHAKE_MAC_INVALID, 0, m5},
                                        {PARSE_EV_HANDSHAKE_INITIATION_INVALID, 0, m6},
                                        {PARSE_EV_HANDSHAKE_RESPONSE_INVALID, 0, m8},
                                        {PARSE_EV_XMIT_INVALID_PACKET, 0, m26},
                                        {PARSE_EV_INTERFACE_DESTROYED, 0, m30},
                                        {PARSE_EV_INTERFACE_CREATED, 0, m31},
                                        {0, 0, NULL}};
static const struct candidate by_p[] = {{PARSE_EV_PACKET_SRC_UNALLOWED, 0, m11},
                                        {PARSE_EV_PACKET_NOT_IP, 0, m12},
                                        {PARSE_EV_PACKET_SIZE_INVALID, 0, m13},
                                        {PARSE_EV_PACKET_NONCE_INVALID, 0, m14},
                                        {PARSE_EV_PEER_CREATED, 0, m24},
                                        {PARSE_EV_PEER_DESTROYED, 0, m25},
                                        {0, 0, NULL}};
static const struct candidate by_s[] = {{PARSE_EV_KEEPALIVE_SENT, 0, m19},
                                        {PARSE_EV_HANDSHAKE_INITIATION_SENT, 0, m16},
                                        {PARSE_EV_HANDSHAKE_RESPONSE_SENT, 0, m17},
                                        {PARSE_EV_COOKIE_RESPONSE_SENT, 0, m18},
                                        {0, 0, NULL}};
static const struct candidate by_h[] = {
        {PARSE_EV_HANDSHAKE_RETRY, 0, m21}, {PARSE_EV_HANDSHAKE_GAVE_UP, 0, m20}, {0, 0, NULL}};
static const struct candidate by_k[] = {
        {PARSE_EV_KEYPAIR_CREATED, 0, m34}, {PARSE_EV_KEYPAIR_DESTROYED, 0, m33}, {0, 0, NULL}};
static const struct candidate by_d[] = {{PARSE_EV_HANDSHAKE_PACKET_DROPPED, 0, m15}, {0, 0, NULL}};
static const struct candidate by_z[] = {{PARSE_EV_KEYS_ZEROED, 0, m23}, {0, 0, NULL}};
static const struct candidate by_f[] = {{PARSE_EV_PACKET_GRO_DROPPED, 0, mgro}, {0, 0, NULL}};
/* The messages without an interface. */
static const struct candidate module_msgs[] = {
        {PARSE_EV_MODULE_LOADED, 0, m35}, {PARSE_EV_MODULE_BANNER, 0, m36}, {0, 0, NULL}};
static const struct candidate ratelimit_msg[] = {{PARSE_EV_RATELIMIT_SUPPRESSED, 0, mrl},
                                                 {0, 0, NULL}};

/*
 * The interface messages by their first byte: a table rather than a switch,
 * whose indirect jump would be mispredicted whenever the message changes.
 */
static const struct candidate *const candidates_by_first[256] = {
        ['C'] = by_c, ['D'] = by_d, ['F'] = by_f, ['H'] = by_h, ['I'] = by_i, ['K'] = by_k,
        ['N'] = by_n, ['P'] = by_p, ['R'] = by_r, ['S'] = by_s, ['Z'] = by_z,
};

/* One field of a template: read it at the cursor into the event. */
static int field(struct cursor *c, int seg, struct parse_event *ev)
{
	const char *start = c->p;
	int64_t i;
	int rc;

	switch (seg) {
	case SEG_PEER: return number_u64(c, &ev->peer);
	case SEG_NONCE:
	case SEG_KEYPAIR: return number_u64(c, &ev->n[0]);
	case SEG_NONCE_MAX: return number_u64(c, &ev->n[1]);
	case SEG_ERROR:
	case SEG_ATTEMPTS:
	case SEG_SECONDS:
	case SEG_COUNT:
	case SEG_TRY:
		rc = number_int(c, &i);
		ev->n[seg == SEG_TRY] = (uint64_t)i;
		return rc;
	case SEG_ENDPOINT:
		rc = endpoint(c, &ev->endpoint);
		ev->endpoint_text = start;
		ev->endpoint_len = (uint8_t)(c->p - start);
		return rc;
	case SEG_ADDR_C:
	case SEG_ADDR_FULL:
		rc = inner_addr(
		        c, seg == SEG_ADDR_C ? PARSE_STYLE_COMPRESSED : PARSE_STYLE_UNCOMPRESSED,
		        &ev->addr);
		ev->addr_text = start;
		ev->addr_len = (uint8_t)(c->p - start);
		return rc;
	case SEG_VERSION:
		while (c->p < c->end && c->p - start <= PARSE_VERSION_MAX && *c->p != ' ' &&
		       (unsigned char)*c->p > ' ' && *c->p != 0x7f)
			c->p++;
		if (c->p == start || c->p - start > PARSE_VERSION_MAX)
			return c->p >= c->end ? PARSE_REJECT_TRUNCATED : MISMATCH;
		ev->version = start;
		ev->version_len = (uint8_t)(c->p - start);
		return PARSE_OK;
	}
	return MISMATCH;
}

/*
 * A literal segment: MISMATCH, or truncated when the line ends inside a
 * prefix of it. Compared a word at a time; a short one in a single word (a
 * template literal may be read a word at a time, see LIT()). `floor` is where
 * the message starts: a word that ends at `end` may be read from there.
 */
static inline int literal(struct cursor *c, const struct parse_seg *seg, const char *floor)
{
	size_t n = seg->len, avail = (size_t)(c->end - c->p);
	const char *p = c->p, *t = seg->text;
	uint64_t x, diff = 0;

	if (avail < n)
		return memcmp(p, t, avail) ? MISMATCH : PARSE_REJECT_TRUNCATED;
	if (n < 8) {
		if (!load_tail(p, c->end, floor, &x))
			return text_eq(p, t, n) ? (c->p += n, PARSE_OK) : MISMATCH;
		diff = (x ^ load64(t)) & first_bytes[n];
	} else {
		diff = !text_eq(p, t, n);
	}
	if (diff)
		return MISMATCH;
	c->p += n;
	return PARSE_OK;
}

/* Match one template against the whole rest of the line. */
static int template_match(struct cursor c, const struct parse_seg *segs, struct parse_event *ev,
                          size_t *progress)
{
	const char *begin = c.p;
	unsigned fields = 0;
	int rc = PARSE_OK;

	for (const struct parse_seg *seg = segs; seg->type != SEG_END; seg++) {
		if (seg->type == SEG_LIT) {
			rc = literal(&c, seg, begin);
		} else {
			fields |= parse_seg_field[seg->type];
			rc = field(&c, seg->type, ev);
		}
		if (rc)
			break;
	}
	if (!rc && c.p != c.end)
		rc = MISMATCH; /* trailing bytes: not this message */
	*progress = (size_t)(c.p - begin);
	if (!rc)
		ev->fields |= (uint16_t)fields;
	return rc;
}

/*
 * Try every candidate; the first that matches wins. If none does, the
 * failure of the candidate that got furthest names the reason (a line that
 * read "Peer 17" and then stopped is truncated, not unknown).
 */
static int message_match(struct cursor c, const struct candidate *cand, struct parse_event *ev)
{
	int best = PARSE_REJECT_UNKNOWN_MESSAGE;
	size_t best_progress = 0;

	for (; cand && cand->segs; cand++) {
		size_t progress;
		int rc = template_match(c, cand->segs, ev, &progress);

		if (rc == PARSE_OK) {
			ev->kind = cand->kind;
			if (cand->family) {
				ev->n[0] = cand->family;
				ev->fields |= PARSE_F_FAMILY;
			}
			return PARSE_OK;
		}
		if (progress > best_progress || (best == PARSE_REJECT_UNKNOWN_MESSAGE && rc > 0)) {
			best_progress = progress;
			best = rc == MISMATCH ? PARSE_REJECT_UNKNOWN_MESSAGE : rc;
		}
	}
	return best;
}

/* ------------------------------------------------------------- interface */

/*
 * Bytes that end the common interface name or need a closer look: the ':'
 * after it, the bytes dev_valid_name() forbids (NUL, '/', ' ', '\t'-'\r',
 * 0xa0), and, to keep this simple, the other control bytes and the '\\' of
 * a /dev/kmsg escape. Exact for the first flagged byte, which is all we use.
 */
static inline uint64_t iface_stops(uint64_t x)
{
	return bytes_below(x, ' ' + 1) | bytes_equal(x, '/') | bytes_equal(x, ':') |
	       bytes_equal(x, 0xa0) | bytes_equal(x, '\\');
}

/*
 * The common name: 1-15 plain bytes then ": ", found sixteen bytes at a time
 * and copied in one go. Anything else is left to iface(), which reads byte by
 * byte, unescapes, and names the error.
 */
static bool iface_fast(struct cursor *c, struct parse_event *ev)
{
	const char *p = c->p;
	unsigned stops, n;

	if (c->end - p < 18) /* a name of 15 bytes, ": ", and one byte to spare */
		return false;
	stops = byte_bits(iface_stops(load64(p))) | byte_bits(iface_stops(load64(p + 8))) << 8;
	n = (unsigned)__builtin_ctz(stops | 1u << 16);
	if (!n || n == 16 || p[n] != ':' || p[n + 1] != ' ' ||
	    (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.'))))
		return false;
	memcpy(ev->iface, p, sizeof(ev->iface));
	ev->iface[n] = '\0';
	ev->iface_len = (uint8_t)n;
	c->p = p + n + 2;
	return true;
}

/*
 * The interface name, up to the first ':' (which dev_valid_name forbids in
 * names), then ' '. /dev/kmsg escapes bytes as \xNN: undo that for kmsg lines.
 */
static int iface(struct cursor *c, bool kmsg, struct parse_event *ev)
{
	const char *p = c->p, *end = c->end;
	unsigned n = 0;

	for (; p < end && *p != ':'; p++) {
		char b = *p;

		if (kmsg && b == '\\') {
			if (end - p < 4 || p[1] != 'x' || !is(p[2], CC_XDIGIT) ||
			    !is(p[3], CC_XDIGIT))
				return PARSE_REJECT_BAD_IFACE;
			b = (char)(hex_digit(p[2]) << 4 | hex_digit(p[3]));
			p += 3;
		}
		if (!is(b, CC_IFACE) || n == PARSE_IFACE_MAX)
			return PARSE_REJECT_BAD_IFACE;
		ev->iface[n++] = b;
	}
	if (p >= end)
		return PARSE_REJECT_TRUNCATED;
	if (!n || (n == 1 && ev->iface[0] == '.') ||
	    (n == 2 && ev->iface[0] == '.' && ev->iface[1] == '.'))
		return PARSE_REJECT_BAD_IFACE;
	if (++p >= end)
		return PARSE_REJECT_TRUNCATED;
	if (*p++ != ' ')
		return PARSE_REJECT_BAD_IFACE;
	ev->iface[n] = '\0';
	ev->iface_len = (uint8_t)n;
	c->p = p;
	return PARSE_OK;
}

/* Everything after "wireguard: ": a module line, or "IFACE: message". */
static int wireguard_body(struct cursor c, bool kmsg, struct parse_event *ev)
{
	int rc;

	if (c.p < c.end && (*c.p == 'W' || *c.p == 'C') &&
	    (AT(&c, "WireGuard ") || AT(&c, "Copyright ")))
		return message_match(c, module_msgs, ev);
	rc = iface_fast(&c, ev) ? PARSE_OK : iface(&c, kmsg, ev);
	if (rc)
		return rc;
	if (c.p >= c.end)
		return PARSE_REJECT_TRUNCATED;
	return message_match(c, candidates_by_first[(unsigned char)*c.p], ev);
}

/* ------------------------------------------------------------ decoration */

/* Forget what a failed reading stored; keep what the envelope found. */
static void message_reset(struct parse_event *ev)
{
	const char *host = ev->host;
	uint8_t host_len = ev->host_len;

	event_clear(ev);
	ev->host = host;
	ev->host_len = host_len;
}

/* How far a failed reading got: later stages make better explanations. */
static int reject_depth(int rc)
{
	switch (rc) {
	case PARSE_REJECT_NOT_WIREGUARD: return 0;
	case PARSE_REJECT_BAD_IFACE: return 1;
	case PARSE_REJECT_UNKNOWN_MESSAGE: return 2;
	default: return 3;
	}
}

#define WIREGUARD_PREFIX "wireguard: "

/*
 * The optional dynamic-debug decoration (spec §7), then "wireguard: ".
 * "<intr> " or "[tid] " may come first; then one space-free word of
 * colon-terminated tokens (module, function, file, line) and a space. With
 * the m flag and an interface named "wireguard", "wireguard: " can open both
 * readings, so both are tried and the one that parses the whole line wins.
 */
static int decorated(struct cursor c, bool kmsg, struct parse_event *ev)
{
	struct cursor word;
	int plain = PARSE_REJECT_NOT_WIREGUARD, deco;

	if (c.p < c.end && *c.p != 'w') { /* not the plain "wireguard: " of most lines */
		if (AT(&c, "<intr> ")) {
			c.p += sizeof("<intr> ") - 1;
		} else if (AT(&c, "[")) {
			const char *q = skip_digits(c.p + 1, c.end);

			if (q > c.p + 1 && q + 1 < c.end && q[0] == ']' && q[1] == ' ')
				c.p = q + 2;
		}
	}
	if (AT(&c, WIREGUARD_PREFIX)) {
		struct cursor body = {c.p + sizeof(WIREGUARD_PREFIX) - 1, c.end};

		plain = wireguard_body(body, kmsg, ev);
		if (plain == PARSE_OK)
			return PARSE_OK;
	}
	word = c;
	while (word.p < word.end && is(*word.p, CC_DECO))
		word.p++;
	if (word.p == c.p || word.p[-1] != ':' || word.p >= word.end || *word.p != ' ')
		goto no_decoration;
	word.p++;
	if (!AT(&word, WIREGUARD_PREFIX))
		goto no_decoration;
	word.p += sizeof(WIREGUARD_PREFIX) - 1;
	message_reset(ev); /* undo the first reading */
	deco = wireguard_body(word, kmsg, ev);
	if (deco == PARSE_OK || reject_depth(deco) >= reject_depth(plain))
		return deco;
no_decoration:
	if (plain == PARSE_REJECT_NOT_WIREGUARD && AT(&c, "net_ratelimit: "))
		return message_match(c, ratelimit_msg, ev);
	return plain;
}

/* "[ 5123.456789]" and/or "[ T1234]" / "[ C3]" (CONFIG_PRINTK_CALLER). */
static bool kernel_timestamp(struct cursor *c)
{
	const char *p = c->p + 1, *frac;

	if (!AT(c, "["))
		return false;
	while (p < c->end && *p == ' ')
		p++;
	if (p >= c->end || !is_digit(*p))
		return false;
	p = skip_digits(p, c->end);
	if (p >= c->end || *p++ != '.')
		return false;
	frac = p;
	p = skip_digits(p, c->end);
	if (p - frac != 6 || p >= c->end || *p != ']')
		return false;
	c->p = p + 1;
	return true;
}

static bool kernel_caller(struct cursor *c)
{
	const char *p = c->p + 1;
	const char *digits;

	if (!AT(c, "["))
		return false;
	while (p < c->end && *p == ' ')
		p++;
	if (p >= c->end || (*p != 'T' && *p != 'C'))
		return false;
	digits = ++p;
	p = skip_digits(p, c->end);
	if (p == digits || p >= c->end || *p != ']')
		return false;
	c->p = p + 1;
	return true;
}

/* The kernel's text after any envelope: timestamp, caller, decoration. */
static int kernel_text(struct cursor c, bool kmsg, struct parse_event *ev)
{
	bool stamped;

	skip_spaces(&c);
	if (c.p < c.end && *c.p == '[') { /* most lines have neither */
		stamped = kernel_timestamp(&c);
		if (kernel_caller(&c) || stamped) {
			if (!AT(&c, " "))
				return PARSE_REJECT_NOT_WIREGUARD;
			skip_spaces(&c);
		}
	}
	return decorated(c, kmsg, ev);
}

/* rsyslog's " message repeated N times: [ MSG]" around a syslog MSG. */
static int syslog_msg(struct cursor c, struct parse_event *ev)
{
	int64_t n;
	int rc;

	skip_spaces(&c);
	if (!AT(&c, "message repeated "))
		return kernel_text(c, false, ev);
	c.p += sizeof("message repeated ") - 1;
	rc = number_int(&c, &n);
	if (rc)
		return rc;
	if (n < 1)
		return PARSE_REJECT_BAD_NUMBER;
	if (!AT(&c, " times: ["))
		return c.end - c.p < 9 ? PARSE_REJECT_TRUNCATED : PARSE_REJECT_NOT_WIREGUARD;
	c.p += sizeof(" times: [") - 1;
	if (c.p >= c.end || c.end[-1] != ']')
		return PARSE_REJECT_TRUNCATED;
	c.end--;
	rc = kernel_text(c, false, ev);
	ev->repeat = (uint32_t)n;
	ev->fields |= PARSE_F_REPEAT;
	return rc;
}

/* ------------------------------------------------------------- envelopes */

/* Two digits known to be digits. */
static inline unsigned d2(const char *p)
{
	return (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
}

static unsigned days_in_month(unsigned month, unsigned year_or_0)
{
	static const unsigned char days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month != 2 || !year_or_0)
		return days[month - 1];
	return year_or_0 % 4 == 0 && (year_or_0 % 100 || year_or_0 % 400 == 0) ? 29 : 28;
}

/* "hh:mm:ss" (eight bytes known to be there) */
static bool clock_time(const char *p, unsigned max_sec)
{
	return word_shape(load64(p), WORD8(0, 0, 0xff, 0, 0, 0xff, 0, 0),
	                  WORD8(0, 0, ':', 0, 0, ':', 0, 0)) &&
	       d2(p) < 24 && d2(p + 3) < 60 && d2(p + 6) <= max_sec;
}

/* "Jan" … "Dec" as 1 … 12, or 0. */
static unsigned month_3164(const char *p)
{
#define MON(a, b, c) ((unsigned)(a) << 16 | (unsigned)(b) << 8 | (unsigned)(c))
	switch (MON((unsigned char)p[0], (unsigned char)p[1], (unsigned char)p[2])) {
	case MON('J', 'a', 'n'): return 1;
	case MON('F', 'e', 'b'): return 2;
	case MON('M', 'a', 'r'): return 3;
	case MON('A', 'p', 'r'): return 4;
	case MON('M', 'a', 'y'): return 5;
	case MON('J', 'u', 'n'): return 6;
	case MON('J', 'u', 'l'): return 7;
	case MON('A', 'u', 'g'): return 8;
	case MON('S', 'e', 'p'): return 9;
	case MON('O', 'c', 't'): return 10;
	case MON('N', 'o', 'v'): return 11;
	case MON('D', 'e', 'c'): return 12;
	default: return 0;
	}
#undef MON
}

/* RFC 3164 "Mmm dd hh:mm:ss " (the day space-padded); no year, so Feb 29 is fine. */
static int date_3164(struct cursor *c)
{
	const char *p = c->p;
	unsigned month, day;

	if (c->end - p < 16)
		return PARSE_REJECT_TRUNCATED;
	month = month_3164(p);
	if (!month || p[3] != ' ' || p[6] != ' ' || p[15] != ' ')
		return PARSE_REJECT_BAD_ENVELOPE;
	if (p[4] == ' ' && is_digit(p[5]))
		day = (unsigned)(p[5] - '0');
	else if (is_digit(p[4]) && is_digit(p[5]))
		day = d2(p + 4);
	else
		return PARSE_REJECT_BAD_ENVELOPE;
	if (!day || day > days_in_month(month, 0) || !clock_time(p + 7, 59))
		return PARSE_REJECT_BAD_ENVELOPE;
	c->p = p + 16;
	return PARSE_OK;
}

/* RFC 3339 "YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm) " */
static int date_3339(struct cursor *c)
{
	const char *p = c->p;
	unsigned year, month, day;

	if (c->end - p < 21)
		return PARSE_REJECT_TRUNCATED;
	/* "YYYY-MM-", "DDThh:mm", then ":ss" as the end of an overlapping "hh:mm:ss" */
	if (!word_shape(load64(p), WORD8(0, 0, 0, 0, 0xff, 0, 0, 0xff),
	                WORD8(0, 0, 0, 0, '-', 0, 0, '-')) ||
	    !word_shape(load64(p + 8), WORD8(0, 0, 0xff, 0, 0, 0xff, 0, 0),
	                WORD8(0, 0, 'T', 0, 0, ':', 0, 0)) ||
	    p[16] != ':' || !is_digit(p[17]) || !is_digit(p[18]))
		return PARSE_REJECT_BAD_ENVELOPE;
	year = d2(p) * 100 + d2(p + 2);
	month = d2(p + 5);
	day = d2(p + 8);
	if (!month || month > 12 || !day || day > days_in_month(month, year ?: 2000) ||
	    d2(p + 11) > 23 || d2(p + 14) > 59 || d2(p + 17) > 60)
		return PARSE_REJECT_BAD_ENVELOPE;
	p += 19;
	if (*p == '.') {
		const char *digits = ++p;

		p = skip_digits(p, c->end);
		if (p == digits || p - digits > 9)
			return PARSE_REJECT_BAD_ENVELOPE;
	}
	if (p < c->end && *p == 'Z') {
		p++;
	} else {
		if (c->end - p < 6 || (*p != '+' && *p != '-') || !is_digit(p[1]) ||
		    !is_digit(p[2]) || p[3] != ':' || !is_digit(p[4]) || !is_digit(p[5]) ||
		    d2(p + 1) > 23 || d2(p + 4) > 59)
			return PARSE_REJECT_BAD_ENVELOPE;
		p += 6;
	}
	if (p >= c->end || *p != ' ')
		return PARSE_REJECT_BAD_ENVELOPE;
	c->p = p + 1;
	return PARSE_OK;
}

/* A space-free token; returns its length (0 if none) and skips one space. */
static size_t token(struct cursor *c, const char **start)
{
	const char *p = c->p;

	while (p < c->end && *p != ' ')
		p++;
	*start = c->p;
	c->p = p < c->end ? p + 1 : p;
	return (size_t)(p - *start);
}

/* The bytes of x that cannot be in a HOSTNAME; exact for the first one. */
static inline uint64_t host_stops(uint64_t x)
{
	return bytes_below(x, 0x21) | bytes_equal(x, 0x7f);
}

/* The first byte at or after p that cannot be in a HOSTNAME (or end). */
static const char *host_end(const char *p, const char *end)
{
	/* Most names end within two words: look at both without a loop. */
	if (end - p >= 16) {
		unsigned stops = byte_bits(host_stops(load64(p))) |
		                 byte_bits(host_stops(load64(p + 8))) << 8;

		if (stops)
			return p + __builtin_ctz(stops);
		p += 16;
	}
	for (; end - p >= 8; p += 8) {
		uint64_t stop = host_stops(load64(p));

		if (stop)
			return p + first_flagged(stop);
	}
	while (p < end && is(*p, CC_HOST))
		p++;
	return p;
}

static int hostname(struct cursor *c, struct parse_event *ev)
{
	const char *h = c->p, *p = host_end(h, c->end);

	if (p < c->end && *p != ' ')
		return PARSE_REJECT_BAD_ENVELOPE;
	if (p == h || p >= c->end)
		return PARSE_REJECT_TRUNCATED;
	if (p - h > PARSE_HOST_MAX)
		return PARSE_REJECT_BAD_ENVELOPE;
	c->p = p + 1;
	if (p - h == 1 && h[0] == '-')
		return PARSE_OK; /* RFC 5424 NILVALUE: no host */
	ev->host = h;
	ev->host_len = (uint8_t)(p - h);
	return PARSE_OK;
}

/* The syslog TAG: only the kernel ("kernel:" or "kernel[0]:") logs WireGuard lines. */
static int kernel_tag(struct cursor *c)
{
	if (AT(c, "kernel:")) {
		c->p += sizeof("kernel:") - 1;
	} else if (AT(c, "kernel[")) {
		c->p += sizeof("kernel[") - 1;
		c->p = skip_digits(c->p, c->end);
		if (!AT(c, "]:"))
			return PARSE_REJECT_NOT_WIREGUARD;
		c->p += 2;
	} else {
		return c->p >= c->end ? PARSE_REJECT_TRUNCATED : PARSE_REJECT_NOT_WIREGUARD;
	}
	return PARSE_OK;
}

/* After an RFC 3164 or RFC 3339 date: "HOST TAG MSG". */
static int syslog_3164_rest(struct cursor c, struct parse_event *ev)
{
	int rc = hostname(&c, ev);

	if (!rc)
		rc = kernel_tag(&c);
	return rc ? rc : syslog_msg(c, ev);
}

/* RFC 5424 STRUCTURED-DATA: "-" or one or more [id param="value"…] elements. */
static int structured_data(struct cursor *c)
{
	if (AT(c, "-")) {
		c->p++;
		return PARSE_OK;
	}
	if (!AT(c, "["))
		return PARSE_REJECT_BAD_ENVELOPE;
	while (AT(c, "[")) {
		bool quoted = false;

		for (c->p++; c->p < c->end; c->p++) {
			if (quoted && *c->p == '\\' && c->p + 1 < c->end)
				c->p++;
			else if (*c->p == '"')
				quoted = !quoted;
			else if (!quoted && *c->p == ']')
				break;
		}
		if (c->p >= c->end)
			return PARSE_REJECT_TRUNCATED;
		c->p++;
	}
	return PARSE_OK;
}

/* "<PRI>1 TIMESTAMP HOST APP-NAME PROCID MSGID SD MSG", APP-NAME = kernel. */
static int syslog_5424(struct cursor c, struct parse_event *ev)
{
	const char *t;
	size_t n;
	int rc;

	if (AT(&c, "- "))
		c.p += 2;
	else if ((rc = date_3339(&c)))
		return rc;
	if ((rc = hostname(&c, ev)))
		return rc;
	n = token(&c, &t);
	if (n != 6 || !text_eq(t, "kernel", 6))
		return c.p >= c.end ? PARSE_REJECT_TRUNCATED : PARSE_REJECT_NOT_WIREGUARD;
	token(&c, &t); /* PROCID */
	token(&c, &t); /* MSGID */
	if (c.p >= c.end)
		return PARSE_REJECT_TRUNCATED;
	if ((rc = structured_data(&c)))
		return rc;
	return syslog_msg(c, ev);
}

/* "<PRI>": 1–3 digits, at most 191 (facility 23, severity 7). */
static int syslog_pri(struct cursor *c, unsigned *pri)
{
	const char *p = c->p + 1;
	unsigned v = 0;
	int n = 0;

	if (c->end - c->p >= 3 && is_digit(p[0]) && p[1] == '>') { /* the kernel's "<7>" */
		*pri = (unsigned)(p[0] - '0');
		c->p += 3;
		return PARSE_OK;
	}
	while (p < c->end && is_digit(*p) && n < 4)
		v = v * 10 + (unsigned)(*p++ - '0'), n++;
	if (!n || n > 3 || p >= c->end || *p != '>' || v > 191 || (n > 1 && c->p[1] == '0'))
		return PARSE_REJECT_BAD_ENVELOPE;
	c->p = p + 1;
	*pri = v;
	return PARSE_OK;
}

static bool looks_like_3339(const struct cursor *c)
{
	return c->end - c->p >= 5 && is_digit(c->p[0]) && is_digit(c->p[1]) && is_digit(c->p[2]) &&
	       is_digit(c->p[3]) && c->p[4] == '-';
}

static bool looks_like_3164(const struct cursor *c)
{
	return c->end - c->p >= 4 && c->p[0] >= 'A' && c->p[0] <= 'Z' && c->p[1] >= 'a' &&
	       c->p[1] <= 'z' && c->p[2] >= 'a' && c->p[2] <= 'z' && c->p[3] == ' ';
}

/* The envelopes with a date: RFC 5424, RFC 3339 (rsyslog), RFC 3164, or none. */
static int syslog_after_pri(struct cursor c, struct parse_event *ev)
{
	int rc;

	if (AT(&c, "1 "))
		return syslog_5424((struct cursor){c.p + 2, c.end}, ev);
	if (looks_like_3339(&c)) {
		rc = date_3339(&c);
		return rc ? rc : syslog_3164_rest(c, ev);
	}
	if (looks_like_3164(&c)) {
		rc = date_3164(&c);
		return rc ? rc : syslog_3164_rest(c, ev);
	}
	return kernel_text(c, false, ev); /* /proc/kmsg, dmesg -r */
}

/* A header field of /dev/kmsg: 1–20 digits and the ',' after it. */
static bool kmsg_field(struct cursor *c)
{
	const char *p = skip_digits(c->p, c->end);

	if (p == c->p || p - c->p > 20 || p >= c->end || *p != ',')
		return false;
	c->p = p + 1;
	return true;
}

/*
 * /dev/kmsg: "PREFIX,SEQ,USEC,FLAG[,more];TEXT" (Documentation/ABI/testing/dev-kmsg).
 * `digits` is where the digits of PREFIX end; only PREFIX's value matters.
 */
static int kmsg_record(struct cursor c, const char *digits, struct parse_event *ev)
{
	uint64_t prefix = (uint64_t)(*c.p - '0');
	const char *fields;

	if (digits - c.p > 20 || digits >= c.end || *digits != ',')
		return PARSE_REJECT_BAD_ENVELOPE;
	if (digits - c.p > 3)
		prefix = UINT64_MAX; /* (facility << 3) | level never needs more than 3 digits */
	else if (digits - c.p > 1)
		decimal_run(c.p, digits, 3, &prefix);
	c.p = digits + 1;
	if (!kmsg_field(&c) || !kmsg_field(&c))
		return PARSE_REJECT_BAD_ENVELOPE;
	if (c.p >= c.end || (*c.p != '-' && *c.p != 'c' && *c.p != '+'))
		return PARSE_REJECT_BAD_ENVELOPE;
	fields = ++c.p;
	while (c.p < c.end && *c.p != ';' && *c.p != ' ' && c.p - fields < 64)
		c.p++;
	if (c.p >= c.end || *c.p != ';' || (c.p > fields && *fields != ','))
		return PARSE_REJECT_BAD_ENVELOPE;
	c.p++;
	if (prefix >= 8) /* userspace writes to /dev/kmsg get facility LOG_USER */
		return PARSE_REJECT_SPOOFED_FACILITY;
	return kernel_text(c, true, ev);
}

/* dmesg -x: "kern  :debug : TEXT" ("%-6s:%-6s: "). */
static int dmesg_decoded(struct cursor c, struct parse_event *ev)
{
	static const char *const levels[] = {"emerg", "alert",  "crit", "err",
	                                     "warn",  "notice", "info", "debug"};
	const char *p = c.p + 7;
	size_t n;

	for (n = 0; p + n < c.end && p[n] >= 'a' && p[n] <= 'z'; n++)
		;
	for (size_t i = 0; i < 8; i++) {
		if (strlen(levels[i]) != n || memcmp(p, levels[i], n))
			continue;
		for (p += n; p < c.end && *p == ' '; p++)
			;
		if (c.end - p < 2 || p[0] != ':' || p[1] != ' ')
			break;
		if (memcmp(c.p, "kern  :", 7))
			return PARSE_REJECT_SPOOFED_FACILITY;
		return kernel_text((struct cursor){p + 2, c.end}, false, ev);
	}
	return PARSE_REJECT_NOT_WIREGUARD;
}

static bool looks_like_dmesg_decoded(const struct cursor *c)
{
	static const char *const facilities[] = {"kern  :", "user  :", "mail  :", "daemon:",
	                                         "auth  :", "syslog:", "lpr   :", "news  :"};

	/* Every facility is seven bytes ending in ':', which bare kernel text rarely has. */
	if (c->end - c->p < 7 || c->p[6] != ':')
		return false;
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (at(c, facilities[i], 7))
			return true;
	return false;
}

static int envelope(struct cursor c, struct parse_event *ev)
{
	const char *digits;
	unsigned pri;
	int rc;

	switch (*c.p) {
	case '<':
		if (AT(&c, "<intr> ")) /* a bare line with the t decoration */
			return kernel_text(c, false, ev);
		if ((rc = syslog_pri(&c, &pri)))
			return rc;
		rc = syslog_after_pri(c, ev);
		/* The envelope itself must be sound before its PRI is judged. */
		if (rc == PARSE_REJECT_BAD_ENVELOPE || pri < 8)
			return rc;
		return PARSE_REJECT_SPOOFED_FACILITY;
	case '0' ... '9':
		/* After the leading digits: "-" (a date), ": " (the l decoration), or /dev/kmsg. */
		digits = skip_digits(c.p, c.end);
		if (digits - c.p == 4 && digits < c.end && *digits == '-') {
			rc = date_3339(&c);
			return rc ? rc : syslog_3164_rest(c, ev);
		}
		if (c.end - digits >= 2 && digits[0] == ':' && digits[1] == ' ')
			return kernel_text(c, false, ev); /* "237: wireguard: …" */
		return kmsg_record(c, digits, ev);
	case 'A' ... 'Z':
		if (looks_like_3164(&c)) {
			rc = date_3164(&c);
			return rc ? rc : syslog_3164_rest(c, ev);
		}
		return kernel_text(c, false, ev);
	default:
		if (looks_like_dmesg_decoded(&c))
			return dmesg_decoded(c, ev);
		return kernel_text(c, false, ev);
	}
}

int parse_line(const char *line, size_t len, struct parse_event *ev)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > PARSE_LINE_MAX)
		return PARSE_REJECT_TOO_LONG;
	event_clear(ev);
	/* Empty lines and /dev/kmsg continuation lines (" SUBSYSTEM=…") are not events. */
	if (!len || line[0] == ' ')
		return PARSE_REJECT_NOT_WIREGUARD;
	return envelope((struct cursor){line, line + len}, ev);
}
