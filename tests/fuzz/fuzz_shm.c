/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for the reader library on a hostile or torn table: the input builds a table
 * object (a valid header for a small geometry, then patches anywhere in the header and the
 * sections, whole-ring and whole-table fills, a wrong object size), and a reader attaches to it
 * by name, validates it, iterates and snapshots every peer, renders them as JSON, looks up
 * hosts, interfaces and peers, sums the counters, follows the event ring and refreshes. Readers
 * must never crash, hang, read past the mapping, or hand out an unterminated name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_table.h"

#define FS_PATCH_MAX  64   /* bytes in one patch */
#define FS_HOSTS_WALK 64   /* host and interface entries looked at */
#define FS_LOOKUPS    4    /* peer lookups of keys taken from the input */
#define FS_SIZE_SLACK 8192 /* a wrong object size: at most this much too large */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input, consumed front to back; zeros once it is used up. */
struct fs_in {
	const uint8_t *p, *end;
};

static uint64_t fs_take(struct fs_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->p < in->end; i++)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

/* The object being built: its writable mapping and how many bytes of it exist. */
struct fs_obj {
	char *base;
	uint64_t size;
	struct shm_layout l;
};

/* Copy up to `len` input bytes to object offset `off`, within the object. */
static void fs_patch(struct fs_obj *o, struct fs_in *in, uint64_t off, unsigned len)
{
	for (unsigned i = 0; i < len && in->p < in->end; i++, off++) {
		uint8_t b = (uint8_t)fs_take(in, 1);

		if (off < o->size)
			o->base[off] = (char)b;
	}
}

/* The same bytes at offset `at` of every record of a section (`rec` bytes each). */
static void fs_fill(struct fs_obj *o, struct fs_in *in, int sec, uint64_t rec)
{
	const struct shm_section *s = &o->l.section[sec];
	uint64_t at = fs_take(in, 1) % rec;
	unsigned len = (unsigned)fs_take(in, 1) % 16;
	uint8_t bytes[16];

	for (unsigned i = 0; i < len; i++)
		bytes[i] = (uint8_t)fs_take(in, 1);
	for (uint64_t r = 0; r + rec <= s->size; r += rec)
		for (unsigned i = 0; i < len && at + i < rec; i++)
			if (s->offset + r + at + i < o->size)
				o->base[s->offset + r + at + i] = (char)bytes[i];
}

/* Header fields a hostile table would lie about, by offset and width. */
static const struct {
	uint16_t off, width;
} fs_fields[] = {
        {offsetof(struct shm_header, abi), 4},
        {offsetof(struct shm_header, generation), 8},
        {offsetof(struct shm_header, object_size), 8},
        {offsetof(struct shm_header, retired), 4},
        {offsetof(struct shm_header, peer_capacity), 8},
        {offsetof(struct shm_header, peer_slots), 8},
        {offsetof(struct shm_header, event_capacity), 4},
        {offsetof(struct shm_header, peers_used), 8},
        {offsetof(struct shm_header, hosts_used), 4},
        {offsetof(struct shm_header, ifaces_used), 4},
        {offsetof(struct shm_header, event_head), 8},
        {offsetof(struct shm_header, section[SHM_SEC_PEERS].offset), 8},
};

/* One operation of the input's program. */
static void fs_op(struct fs_obj *o, struct fs_in *in)
{
	const unsigned op = (unsigned)fs_take(in, 1) % 6;
	const struct shm_section *s;
	uint64_t off;
	unsigned k;

	switch (op) {
	case 0: /* anywhere in the header */
		off = fs_take(in, 2) % SHM_PAGE;
		fs_patch(o, in, off, (unsigned)fs_take(in, 1) % FS_PATCH_MAX);
		break;
	case 1: /* anywhere in a section */
		s = &o->l.section[fs_take(in, 1) % SHM_SEC__COUNT];
		off = s->offset + fs_take(in, 4) % s->size;
		fs_patch(o, in, off, (unsigned)fs_take(in, 1) % FS_PATCH_MAX);
		break;
	case 2: fs_fill(o, in, SHM_SEC_PEERS, sizeof(struct shm_peer)); break;
	case 3: fs_fill(o, in, SHM_SEC_EVENTS, sizeof(struct shm_event)); break;
	case 4: /* every bitmap word */
		s = &o->l.section[SHM_SEC_PEER_BITMAP];
		for (uint64_t w = fs_take(in, 8), i = 0; i + 8 <= s->size; i += 8)
			if (s->offset + i + 8 <= o->size)
				memcpy(o->base + s->offset + i, &w, 8);
		break;
	default: /* a header field */
		k = (unsigned)fs_take(in, 1) % (sizeof(fs_fields) / sizeof(fs_fields[0]));
		fs_patch(o, in, fs_fields[k].off, fs_fields[k].width);
		break;
	}
}

/* ---- The reader's side ---------------------------------------------------------------------- */

static void fs_check_name(const char *name, size_t cap)
{
	if (name && !memchr(name, '\0', cap))
		abort(); /* an unterminated name reaches the caller */
}

static void fs_peer(const struct shm_reader *r, uint64_t i)
{
	static char json[SHM_PEER_JSON_MAX];
	struct shm_peer p, q;
	size_t n;
	int ret, st;

	ret = shm_reader_peer_snapshot(r, i, &p);
	if (ret != 0 && ret != -ENOENT && ret != -EAGAIN)
		abort();
	if (ret)
		return;
	n = shm_peer_json(r, &p, json, sizeof(json));
	if (!n || n >= sizeof(json) || strlen(json) != n)
		abort(); /* SHM_PEER_JSON_MAX always suffices */
	st = shm_peer_state(&p, 1763771234000000000ull, 180000000000ull);
	if (st < 0 || st >= SHM_STATE__COUNT)
		abort();
	ret = shm_reader_peer_find(r, p.host, p.peer, &q);
	if (ret != 0 && ret != -ENOENT && ret != -EAGAIN)
		abort();
}

static void fs_names(const struct shm_reader *r)
{
	const struct shm_header *h = shm_reader_header(r);
	uint32_t hosts = h->hosts_used, ifaces = h->ifaces_used;
	struct shm_iface f;
	const char *name;

	for (uint32_t i = 0; i < FS_HOSTS_WALK; i++) {
		uint32_t k = i < FS_HOSTS_WALK / 2 ? i : hosts - (i - FS_HOSTS_WALK / 2) - 1;

		name = shm_reader_host_name(r, k);
		fs_check_name(name, SHM_HOST_NAME_MAX + 1);
		if (name)
			(void)shm_reader_host_find(r, name, strnlen(name, SHM_HOST_NAME_MAX + 1));
		k = i < FS_HOSTS_WALK / 2 ? i : ifaces - (i - FS_HOSTS_WALK / 2) - 1;
		if (shm_reader_iface(r, k, &f) == 0)
			fs_check_name(f.name, sizeof(f.name));
	}
}

/* Follow the ring from its oldest record: every position is either an event or missed. */
static void fs_events(const struct shm_reader *r)
{
	const uint64_t cap = shm_reader_header(r)->event_capacity;
	struct shm_event_cursor c;
	struct shm_event e;
	uint64_t start, missed, got = 0, lost = 0, before;

	shm_reader_events_begin(r, &c, cap);
	start = c.next;
	for (uint64_t i = 0; i < 2 * cap + 16; i++) {
		int ret;

		before = c.next;
		ret = shm_reader_events_next(r, &c, &e, &missed);
		if (ret != 0 && ret != 1)
			abort();
		if (c.next < before)
			abort(); /* the cursor went back: events would be read twice */
		if (c.next > before && c.next > shm_reader_header(r)->event_head)
			abort(); /* past the head: deaf to the events to come */
		got += (uint64_t)ret;
		lost += missed;
		if (got + lost != c.next - start)
			abort(); /* a position neither read nor counted as missed */
		if (ret && (e.seq != c.next || e.kind == PARSE_EV_NONE))
			abort();
		if (!ret && !missed)
			break;
	}
}

static void fs_walk(struct shm_reader *r, struct fs_in *in)
{
	const uint64_t slots = shm_reader_peer_slots(r);
	struct shm_stats st;
	struct shm_peer p;
	uint64_t n = 0;

	shm_reader_stats(r, &st);
	for (uint64_t i = shm_reader_peer_next(r, 0); i < slots; i = shm_reader_peer_next(r, i + 1))
		if (++n > slots)
			abort(); /* iteration must end */
		else
			fs_peer(r, i);
	fs_names(r);
	for (int i = 0; i < FS_LOOKUPS; i++) {
		uint32_t host = (uint32_t)fs_take(in, 1);
		int ret = shm_reader_peer_find(r, host, fs_take(in, 2), &p);

		if (ret != 0 && ret != -ENOENT && ret != -EAGAIN)
			abort();
	}
	fs_events(r);
	if (shm_reader_refresh(r) > 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char name[64];
	struct fs_in in = {data, data + size};
	struct shm_header h;
	struct shm_reader *r;
	struct fs_obj o;
	uint64_t capacity = 1 + fs_take(&in, 1) * 4;
	uint32_t ring = SHM_EVENT_RING_MIN << (fs_take(&in, 1) % 4);
	unsigned mode = (unsigned)fs_take(&in, 1);
	int fd, ret;

	if (!name[0])
		snprintf(name, sizeof(name), "/wgmon-fuzz-shm-%d", (int)getpid());
	ft_header(&h, &o.l, capacity, ring);
	o.size = o.l.size;
	if (mode & 1) /* the object's size is not what its header says */
		o.size = fs_take(&in, 4) % (o.l.size + FS_SIZE_SLACK);
	fd = ft_object(name, o.size);
	if (fd < 0)
		abort();
	o.base = o.size ? mmap(NULL, o.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : NULL;
	close(fd);
	if (o.base == MAP_FAILED)
		abort();
	if (o.base)
		memcpy(o.base, &h, o.size < sizeof(h) ? o.size : sizeof(h));
	while (o.base && in.p < in.end)
		fs_op(&o, &in);
	in = (struct fs_in){data, data + size}; /* lookups reuse the input's bytes */
	ret = shm_reader_attach(&r, name);
	if (ret == 0) {
		fs_walk(r, &in);
		shm_reader_detach(r);
	} else if (ret > 0 || !*shm_reader_error()) {
		abort(); /* every refusal says why */
	}
	if (o.base)
		munmap(o.base, o.size);
	shm_unlink(name);
	return 0;
}
