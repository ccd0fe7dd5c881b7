/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for the event-ring follower (shm_reader_events_begin/next): the input is a
 * program of writer steps on a 64-record ring — honest appends, reservations left busy and
 * completed later (or as gaps), records overwritten with any sequence number, a head that jumps
 * ahead or back — interleaved with follower calls. The follower must never go back, never
 * return a position twice, and account for every position it passes: read or missed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_table.h"

#define FE_RING    SHM_EVENT_RING_MIN
#define FE_FOLLOWS 8 /* follower calls in one step */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fe_in {
	const uint8_t *p, *end;
};

static uint64_t fe_take(struct fe_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->p < in->end; i++)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

/* The table (made once per process): a writable view for the steps, and a reader. */
struct fe_table {
	struct shm_header *h;
	struct shm_event *ring;
	struct shm_reader *r;
	char name[64];
};

/* The follower and what it has accounted for since its last begin. */
struct fe_follow {
	struct shm_event_cursor c;
	uint64_t start, got, lost;
};

static void fe_table_make(struct fe_table *t)
{
	struct shm_layout l;
	struct shm_header h;
	char *base;
	int fd;

	snprintf(t->name, sizeof(t->name), "/wgmon-fuzz-events-%d", (int)getpid());
	ft_header(&h, &l, 1, FE_RING);
	fd = ft_object(t->name, l.size);
	if (fd < 0 || !ft_write(fd, &h, sizeof(h), 0))
		abort();
	base = mmap(NULL, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (base == MAP_FAILED || shm_reader_attach(&t->r, t->name))
		abort();
	shm_unlink(t->name); /* both mappings stay */
	t->h = (struct shm_header *)base;
	t->ring = (struct shm_event *)(base + l.section[SHM_SEC_EVENTS].offset);
}

static void fe_begin(const struct fe_table *t, struct fe_follow *f, uint64_t back)
{
	shm_reader_events_begin(t->r, &f->c, back);
	f->start = f->c.next;
	f->got = f->lost = 0;
}

/* One follower call, checked. Returns whether it got an event or missed some. */
static bool fe_next(const struct fe_table *t, struct fe_follow *f)
{
	const uint64_t before = f->c.next;
	struct shm_event e;
	uint64_t missed = 0;
	int ret = shm_reader_events_next(t->r, &f->c, &e, &missed);

	if (ret != 0 && ret != 1)
		abort();
	if (f->c.next < before)
		abort(); /* back: the same positions would be read again */
	if (f->c.next > before && f->c.next > t->h->event_head)
		abort(); /* past the head: deaf to the events to come */
	f->got += (uint64_t)ret;
	f->lost += missed;
	if (f->got + f->lost != f->c.next - f->start)
		abort(); /* a position passed but neither read nor counted as missed */
	if (ret && (e.seq != f->c.next || e.kind == PARSE_EV_NONE))
		abort();
	return ret || missed;
}

/* The record of position p, as a writer leaves it: seq p + 1, or busy for p. */
static void fe_record(struct shm_event *rec, uint64_t seq, uint8_t kind, uint64_t p)
{
	memset(rec, 0, sizeof(*rec));
	rec->seq = seq;
	rec->kind = kind;
	rec->time = p;
	rec->peer = p * 7;
}

static void fe_step(struct fe_table *t, struct fe_follow *f, struct fe_in *in)
{
	const unsigned op = (unsigned)fe_take(in, 1) % 7;
	struct shm_event *rec;
	uint64_t p;
	uint8_t kind;

	switch (op) {
	case 0: /* an honest append */
	case 1: /* a reservation, written later (or never) */
		p = t->h->event_head++;
		kind = (uint8_t)(1 + fe_take(in, 1) % (PARSE_EV__COUNT - 1));
		fe_record(&t->ring[p % FE_RING], op ? (p + 1) | SHM_EVENT_BUSY : p + 1, kind, p);
		break;
	case 2: /* a busy record completed, possibly as a gap (kind 0) */
		rec = &t->ring[fe_take(in, 1) % FE_RING];
		rec->kind = (uint8_t)fe_take(in, 1) % PARSE_EV__COUNT;
		rec->seq &= ~SHM_EVENT_BUSY;
		break;
	case 3: /* a record with any sequence number and kind */
		rec = &t->ring[fe_take(in, 1) % FE_RING];
		p = fe_take(in, 8);
		fe_record(rec, p, (uint8_t)fe_take(in, 1), p);
		break;
	case 4: /* the head moves without records: ahead a little, or anywhere */
		p = fe_take(in, 2);
		t->h->event_head = p & 1 ? fe_take(in, 8) : t->h->event_head + p;
		break;
	case 5:
		for (unsigned i = 0, n = 1 + (unsigned)fe_take(in, 1) % FE_FOLLOWS; i < n; i++)
			fe_next(t, f);
		break;
	default: fe_begin(t, f, fe_take(in, 2)); break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fe_table t;
	struct fe_in in = {data, data + size};
	struct fe_follow f;

	if (!t.r)
		fe_table_make(&t);
	memset(t.ring, 0, FE_RING * sizeof(*t.ring));
	t.h->event_head = fe_take(&in, 1);
	fe_begin(&t, &f, fe_take(&in, 1));
	while (in.p < in.end)
		fe_step(&t, &f, &in);
	for (unsigned i = 0; i < 4 * FE_RING && fe_next(&t, &f); i++)
		;
	return 0;
}
