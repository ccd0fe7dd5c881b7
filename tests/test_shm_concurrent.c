/* SPDX-License-Identifier: MIT */
/*
 * Concurrency tests of shm/ (label "tsan"): the same events applied in shuffled orders by one
 * and by three threads give the same table; two writers and a reader never tear a slot or an
 * event record. The writer and reader sources are included so a reader can look through the
 * writer's own mapping: ThreadSanitizer tracks addresses, not the object behind them.
 * A plain program, not Criterion: Criterion cannot start under TSan (its inheritable arena
 * wants addresses TSan reserves; Criterion issue #274).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "shm/shm_reader.c"
#include "shm/shm_writer.c"

#define T0           1763771234000000000ull
#define N_EVENTS     6000
#define N_PEERS      120 /* per host */
#define N_THREADS    3
#define TORN_MIN     20000 /* events per writer thread, at least */
#define TORN_SECONDS 30    /* at most: the bound if the readers starve */
#define TORN_YIELD   4096  /* writers yield the CPU this often: readers must run meanwhile */
#define TORN_SEEN    20000 /* writers go on until the readers made this many fresh copies each */
#define TORN_PEERS   4

static char name[2][64];

static void setup(void)
{
	for (int i = 0; i < 2; i++) {
		snprintf(name[i], sizeof(name[i]), "/wgmon-test-conc-%d-%d", (int)getpid(), i);
		shm_unlink(name[i]);
	}
}

static void teardown(void)
{
	for (int i = 0; i < 2; i++)
		shm_unlink(name[i]);
}

static void check_failed(const char *file, int line, const char *what, const char *detail)
{
	fprintf(stderr, "%s:%d: check failed: %s%s%s\n", file, line, what, *detail ? ": " : "",
	        detail);
	teardown();
	exit(1);
}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			check_failed(__FILE__, __LINE__, #cond, "");                               \
	} while (0)
#define CHECKF(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			char detail_[512];                                                         \
			snprintf(detail_, sizeof(detail_), __VA_ARGS__);                           \
			check_failed(__FILE__, __LINE__, #cond, detail_);                          \
		}                                                                                  \
	} while (0)

static struct shm_writer *open_writer(const char *n, uint64_t capacity, uint32_t ring)
{
	struct shm_writer_opts o = {.name = n, .capacity = capacity, .event_ring = ring, .gid = -1};
	struct shm_writer *w = NULL;

	CHECKF(shm_writer_open(&w, &o) == 0, "%s", shm_writer_error());
	return w;
}

/* A reader over the writer's mapping (free() it; it does not own the mapping). */
static struct shm_reader *reader_of(struct shm_writer *w)
{
	struct shm_reader *r = calloc(1, sizeof(*r));

	CHECK(r != NULL);
	r->v = w->v;
	return r;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- Shuffled orders, one thread against three --------------------------------------------- */

struct tev {
	struct parse_event ev;
	uint64_t t;
};

static const char *const hosts[] = {NULL, "vpn1", "vpn2"};
static const char *const ifaces[] = {"wg0", "wg1"};

static const struct {
	uint8_t kind;
	bool endpoint;
} peer_kinds[] = {
        {PARSE_EV_HANDSHAKE_INITIATION_RECEIVED, true},
        {PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED, true},
        {PARSE_EV_KEEPALIVE_RECEIVED, true},
        {PARSE_EV_KEEPALIVE_SENT, true},
        {PARSE_EV_HANDSHAKE_INITIATION_SENT, true},
        {PARSE_EV_HANDSHAKE_RETRY, true},
        {PARSE_EV_HANDSHAKE_GAVE_UP, true},
        {PARSE_EV_KEYS_ZEROED, true},
        {PARSE_EV_PEER_DESTROYED, true},
        {PARSE_EV_KEYPAIR_CREATED, false},
        {PARSE_EV_PEER_CREATED, false},
        {PARSE_EV_XMIT_NO_ENDPOINT, false},
};

static void tev_where(struct parse_event *e, unsigned h, unsigned f)
{
	if (hosts[h]) {
		e->host = hosts[h];
		e->host_len = (uint8_t)strlen(hosts[h]);
	}
	e->iface_len = (uint8_t)strlen(ifaces[f]);
	memcpy(e->iface, ifaces[f], e->iface_len);
}

/* Peers whose id is a multiple of 5 move from port 51820 to 40000 halfway through time. */
static void tev_peer(struct tev *x, uint64_t *s, unsigned i)
{
	const unsigned h = rnd(s) % 3, peer = 1 + rnd(s) % N_PEERS, k = rnd(s) % 12;
	struct parse_event *e = &x->ev;

	tev_where(e, h, peer % 2);
	e->kind = peer_kinds[k].kind;
	e->fields = PARSE_F_PEER;
	e->peer = peer;
	e->repeat = rnd(s) % 20 ? 1 : 3;
	if (e->kind == PARSE_EV_HANDSHAKE_RETRY)
		e->n[1] = 2 + rnd(s) % 19;
	if (!peer_kinds[k].endpoint)
		return;
	e->fields |= PARSE_F_ENDPOINT;
	if (rnd(s) % 10 == 0) {
		e->endpoint.af = PARSE_AF_UNSET; /* (einval) */
		return;
	}
	e->endpoint = (struct parse_endpoint){
	        .af = PARSE_AF_INET,
	        .port = peer % 5 == 0 && i >= N_EVENTS / 2 ? 40000 : 51820,
	        .addr = {10, (uint8_t)h, 0, (uint8_t)peer},
	};
}

static void tev_make(struct tev *all)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;

	memset(all, 0, N_EVENTS * sizeof(*all));
	for (unsigned i = 0; i < N_EVENTS; i++) {
		struct parse_event *e = &all[i].ev;
		unsigned r = rnd(&s) % 100, h = rnd(&s) % 3;

		all[i].t = T0 + (uint64_t)i * 1000 + 1; /* distinct receive times */
		e->repeat = 1;
		if (r < 85) {
			tev_peer(&all[i], &s, i);
		} else if (r < 95) {
			static const uint8_t k[] = {PARSE_EV_INTERFACE_CREATED,
			                            PARSE_EV_INTERFACE_DESTROYED,
			                            PARSE_EV_SEND_NO_ROUTE};
			tev_where(e, h, rnd(&s) % 2);
			e->kind = k[rnd(&s) % 3];
		} else {
			tev_where(e, h, 0);
			e->iface_len = 0;
			e->kind = PARSE_EV_RATELIMIT_SUPPRESSED;
			e->fields = PARSE_F_COUNT;
			e->n[0] = 1 + rnd(&s) % 50;
		}
	}
}

static void shuffle(unsigned *order, uint64_t seed)
{
	for (unsigned i = 0; i < N_EVENTS; i++)
		order[i] = i;
	for (unsigned i = N_EVENTS - 1; i > 0; i--) {
		unsigned j = rnd(&seed) % (i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
}

struct apply_job {
	struct shm_writer *w;
	const struct tev *all;
	const unsigned *order;
	unsigned first, step;
};

static void *apply_thread(void *arg)
{
	const struct apply_job *j = arg;

	for (unsigned i = j->first; i < N_EVENTS; i += j->step) {
		const struct tev *x = &j->all[j->order[i]];

		if (shm_writer_apply(j->w, SHM_BLOCK_WORKER(j->first), &x->ev, x->t))
			return (void *)1;
	}
	return NULL;
}

static void apply_with_threads(struct shm_writer *w, const struct tev *all, uint64_t seed,
                               unsigned threads)
{
	static unsigned order[N_EVENTS];
	struct apply_job jobs[N_THREADS];
	pthread_t tid[N_THREADS];
	void *ret;

	shuffle(order, seed);
	for (unsigned i = 0; i < threads; i++) {
		jobs[i] = (struct apply_job){w, all, order, i, threads};
		CHECK(pthread_create(&tid[i], NULL, apply_thread, &jobs[i]) == 0);
	}
	for (unsigned i = 0; i < threads; i++) {
		CHECK(pthread_join(tid[i], &ret) == 0);
		CHECKF(ret == NULL, "apply failed");
	}
}

static const char *iface_name(struct shm_reader *r, uint32_t iface, struct shm_iface *f)
{
	return iface != SHM_NO_IFACE && !shm_reader_iface(r, iface, f) ? f->name : "?";
}

/* Everything but endpoint_changes / prev_endpoint, which depend on arrival order by design. */
static void compare_peer(struct shm_reader *ra, const struct shm_peer *a, struct shm_reader *rb,
                         const struct shm_peer *b)
{
	struct shm_iface fa, fb;

	CHECK(!strcmp(iface_name(ra, a->iface, &fa), iface_name(rb, b->iface, &fb)));
	CHECKF(memcmp(&a->endpoint, &b->endpoint, sizeof(a->endpoint)) == 0, "peer %llu",
	       (unsigned long long)a->peer);
	CHECK(a->endpoint_at == b->endpoint_at);
	CHECK(a->first_seen == b->first_seen);
	CHECK(a->last_seen == b->last_seen);
	CHECK(a->last_handshake == b->last_handshake);
	CHECK(a->last_handshake_rx == b->last_handshake_rx);
	CHECK(a->last_keepalive_rx == b->last_keepalive_rx);
	CHECK(a->last_keepalive_tx == b->last_keepalive_tx);
	CHECK(a->retry_at == b->retry_at);
	CHECK(a->retry_try == b->retry_try);
	CHECK(a->gave_up_at == b->gave_up_at);
	CHECK(a->keys_zeroed_at == b->keys_zeroed_at);
	CHECK(a->created_at == b->created_at);
	CHECK(a->destroyed_at == b->destroyed_at);
	CHECK(memcmp(a->events, b->events, sizeof(a->events)) == 0);
	if (a->peer % 5) { /* one endpoint only: no changes, whatever the order */
		CHECK(a->endpoint_changes == 0);
		CHECK(b->endpoint_changes == 0);
	}
}

static uint32_t host_in(struct shm_reader *to, struct shm_reader *from, uint32_t host)
{
	const char *n = shm_reader_host_name(from, host);
	int64_t idx = shm_reader_host_find(to, n, strlen(n));

	CHECKF(idx >= 0, "host '%s' missing", n);
	return (uint32_t)idx;
}

static void compare_peers(struct shm_reader *ra, struct shm_reader *rb)
{
	const uint64_t slots = shm_reader_peer_slots(ra);
	struct shm_peer a, b;
	uint64_t n = 0;

	for (uint64_t i = shm_reader_peer_next(ra, 0); i < slots;
	     i = shm_reader_peer_next(ra, i + 1)) {
		CHECK(shm_reader_peer_snapshot(ra, i, &a) == 0);
		CHECK(shm_reader_peer_find(rb, host_in(rb, ra, a.host), a.peer, &b) == 0);
		compare_peer(ra, &a, rb, &b);
		n++;
	}
	CHECK(n == shm_reader_header(rb)->peers_used);
	CHECK(n > 300);
}

static void compare_ifaces_hosts(struct shm_reader *ra, struct shm_reader *rb)
{
	const struct shm_header *h = shm_reader_header(ra);
	struct shm_iface a, b;
	uint32_t bucket, idx;

	CHECK(h->ifaces_used == shm_reader_header(rb)->ifaces_used);
	for (uint32_t i = 0; i < h->ifaces_used; i++) {
		CHECK(shm_reader_iface(ra, i, &a) == 0);
		idx = shm_iface_lookup(&rb->v, host_in(rb, ra, a.host), a.name, strlen(a.name),
		                       &bucket);
		CHECK(shm_reader_iface(rb, idx, &b) == 0);
		CHECK(a.state == b.state);
		CHECK(a.created_at == b.created_at);
		CHECK(a.destroyed_at == b.destroyed_at);
		CHECK(a.peers == b.peers);
		CHECK(memcmp(a.events, b.events, sizeof(a.events)) == 0);
	}
	CHECK(h->hosts_used == shm_reader_header(rb)->hosts_used);
	for (uint32_t i = 0; i < h->hosts_used; i++) {
		const struct shm_host *x = &ra->v.hosts[i], *y = &rb->v.hosts[host_in(rb, ra, i)];

		CHECK(x->ratelimit_suppressed == y->ratelimit_suppressed);
		CHECK(x->last_ratelimit == y->last_ratelimit);
	}
}

static void test_one_thread_equals_three_threads(void)
{
	struct tev *all = malloc(N_EVENTS * sizeof(*all));
	struct shm_writer *wa = open_writer(name[0], 1024, 8192);
	struct shm_writer *wb = open_writer(name[1], 1024, 8192);
	struct shm_reader *ra = reader_of(wa), *rb = reader_of(wb);
	struct shm_stats sa, sb;

	CHECK(all != NULL);
	tev_make(all);
	apply_with_threads(wa, all, 1, 1);
	apply_with_threads(wb, all, 2, N_THREADS);
	shm_reader_stats(ra, &sa);
	shm_reader_stats(rb, &sb);
	CHECK(memcmp(sa.events, sb.events, sizeof(sa.events)) == 0);
	CHECK(sa.ratelimit_suppressed == sb.ratelimit_suppressed);
	CHECK(sa.event_head == N_EVENTS);
	CHECK(sb.event_head == N_EVENTS);
	CHECK(sa.peers == sb.peers);
	compare_peers(ra, rb);
	compare_peers(rb, ra);
	compare_ifaces_hosts(ra, rb);
	free(ra);
	free(rb);
	shm_writer_close(wa);
	shm_writer_close(wb);
	free(all);
}

/* ---- Two writers and readers: never a torn slot or record ---------------------------------- */

/* Every event carries an IPv6 endpoint that encodes its own receive time. */
static void torn_endpoint(struct parse_endpoint *ep, uint64_t t)
{
	*ep = (struct parse_endpoint){
	        .af = PARSE_AF_INET6, .port = (uint16_t)t, .addr = {0x20, 0x01, 0x0d, 0xb8}};
	for (int i = 0; i < 8; i++)
		ep->addr[8 + i] = (uint8_t)(t >> (56 - 8 * i));
}

static uint64_t torn_decode(const struct parse_endpoint *ep)
{
	uint64_t t = 0;

	for (int i = 0; i < 8; i++)
		t = t << 8 | ep->addr[8 + i];
	return t;
}

struct torn {
	struct shm_writer *w;
	struct shm_reader *r;
	int writers_done;
	uint64_t snapshots, records; /* fresh copies: written by their reader, polled by writers */
	uint64_t missed;
	uint64_t bad_slots, bad_records; /* torn copies seen by each reader */
};

struct torn_writer {
	struct torn *ctx;
	unsigned parity;
	uint64_t written; /* a multiple of TORN_YIELD, so of TORN_PEERS */
};

/* Have both readers made enough copies while we were writing? */
static bool torn_seen_enough(struct torn *ctx)
{
	return __atomic_load_n(&ctx->snapshots, __ATOMIC_RELAXED) >= TORN_SEEN &&
	       __atomic_load_n(&ctx->records, __ATOMIC_RELAXED) >= TORN_SEEN;
}

static void *torn_write(void *arg)
{
	struct torn_writer *tw = arg;
	struct parse_event e = {.kind = PARSE_EV_KEEPALIVE_RECEIVED,
	                        .repeat = 1,
	                        .fields = PARSE_F_PEER | PARSE_F_ENDPOINT,
	                        .iface_len = 3,
	                        .iface = "wg0"};
	const time_t end = time(NULL) + TORN_SECONDS;
	uint64_t i;

	for (i = 0;; i++) {
		/* Interleaved times: each thread's events overtake the other's. */
		uint64_t t = T0 + 2 * i + tw->parity;

		if (i % TORN_YIELD == 0) {
			if (i >= TORN_MIN && (torn_seen_enough(tw->ctx) || time(NULL) > end))
				break;
			sched_yield();
		}
		e.peer = 1 + i % TORN_PEERS;
		torn_endpoint(&e.endpoint, t);
		if (shm_writer_apply(tw->ctx->w, SHM_BLOCK_WORKER(tw->parity), &e, t))
			return (void *)1;
	}
	tw->written = i;
	return NULL;
}

/* The invariants every consistent copy of a slot satisfies (see torn_write()). */
static bool torn_slot_ok(const struct shm_peer *p)
{
	const uint64_t at = p->endpoint_at;

	if (torn_decode(&p->endpoint) != at || p->endpoint.port != (uint16_t)at ||
	    p->last_seen != at || p->last_keepalive_rx != at || p->first_seen > at)
		return false;
	if (p->events[PARSE_EV_KEEPALIVE_RECEIVED] < p->endpoint_changes + 1)
		return false;
	return !p->endpoint_changes ||
	       (p->endpoint_changed_at == at && torn_decode(&p->prev_endpoint) < at);
}

/* Copy the slots again and again; a copy is fresh if a writer came in since the last one. */
static void *torn_read(void *arg)
{
	struct torn *ctx = arg;
	const uint64_t slots = shm_reader_peer_slots(ctx->r);
	uint32_t last_seq[TORN_PEERS + 1] = {0};
	struct shm_peer p;

	while (!__atomic_load_n(&ctx->writers_done, __ATOMIC_ACQUIRE)) {
		for (uint64_t i = shm_reader_peer_next(ctx->r, 0); i < slots;
		     i = shm_reader_peer_next(ctx->r, i + 1)) {
			if (shm_reader_peer_snapshot(ctx->r, i, &p) || p.peer > TORN_PEERS)
				continue;
			ctx->bad_slots += !torn_slot_ok(&p);
			if (p.seq == last_seq[p.peer])
				continue;
			last_seq[p.peer] = p.seq;
			__atomic_store_n(&ctx->snapshots, ctx->snapshots + 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static bool torn_follow_one(struct torn *ctx, struct shm_event_cursor *c, uint64_t *last)
{
	struct shm_event ev;
	uint64_t missed;
	int got = shm_reader_events_next(ctx->r, c, &ev, &missed);

	ctx->missed += missed;
	if (!got)
		return false;
	__atomic_store_n(&ctx->records, ctx->records + 1, __ATOMIC_RELAXED);
	ctx->bad_records += torn_decode(&ev.endpoint) != ev.time || ev.seq <= *last ||
	                    ev.kind != PARSE_EV_KEEPALIVE_RECEIVED;
	*last = ev.seq;
	return true;
}

static void *torn_follow(void *arg)
{
	struct torn *ctx = arg;
	struct shm_event_cursor c = {0};
	uint64_t last = 0;

	while (!__atomic_load_n(&ctx->writers_done, __ATOMIC_ACQUIRE))
		torn_follow_one(ctx, &c, &last);
	while (torn_follow_one(ctx, &c, &last))
		; /* drain */
	return NULL;
}

static void test_readers_never_see_a_torn_slot_or_record(void)
{
	struct torn ctx = {.w = open_writer(name[0], 64, 1024)};
	struct torn_writer tw[2] = {{&ctx, 0, 0}, {&ctx, 1, 0}};
	pthread_t wt[2], rt, ft;
	struct shm_peer p;
	void *ret;

	ctx.r = reader_of(ctx.w);
	CHECK(pthread_create(&rt, NULL, torn_read, &ctx) == 0);
	CHECK(pthread_create(&ft, NULL, torn_follow, &ctx) == 0);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&wt[i], NULL, torn_write, &tw[i]) == 0);
	for (int i = 0; i < 2; i++) {
		CHECK(pthread_join(wt[i], &ret) == 0);
		CHECK(ret == NULL);
	}
	__atomic_store_n(&ctx.writers_done, 1, __ATOMIC_RELEASE);
	CHECK(pthread_join(rt, NULL) == 0);
	CHECK(pthread_join(ft, NULL) == 0);

	CHECKF(ctx.bad_slots == 0, "%llu torn slots", (unsigned long long)ctx.bad_slots);
	CHECKF(ctx.bad_records == 0, "%llu torn records", (unsigned long long)ctx.bad_records);
	CHECKF(torn_seen_enough(&ctx), "the readers starved: %llu fresh slots, %llu records",
	       (unsigned long long)ctx.snapshots, (unsigned long long)ctx.records);
	CHECKF(ctx.records + ctx.missed == tw[0].written + tw[1].written,
	       "every event read or counted missed");
	for (uint64_t id = 1; id <= TORN_PEERS; id++) {
		uint64_t last = 0;

		for (int i = 0; i < 2; i++)
			if (T0 + 2 * (tw[i].written - TORN_PEERS + id - 1) + tw[i].parity > last)
				last = T0 + 2 * (tw[i].written - TORN_PEERS + id - 1) +
				       tw[i].parity;
		CHECK(shm_reader_peer_find(ctx.r, SHM_LOCAL_HOST, id, &p) == 0);
		CHECK(torn_slot_ok(&p));
		CHECK(p.events[PARSE_EV_KEEPALIVE_RECEIVED] ==
		      (tw[0].written + tw[1].written) / TORN_PEERS);
		CHECK(p.last_seen == last);
	}
	printf("events %llu + %llu, snapshots %llu, records %llu, missed %llu\n",
	       (unsigned long long)tw[0].written, (unsigned long long)tw[1].written,
	       (unsigned long long)ctx.snapshots, (unsigned long long)ctx.records,
	       (unsigned long long)ctx.missed);
	free(ctx.r);
	shm_writer_close(ctx.w);
}

static const struct {
	const char *name;
	void (*run)(void);
} tests[] = {
        {"one_thread_equals_three_threads", test_one_thread_equals_three_threads},
        {"readers_never_see_a_torn_slot_or_record", test_readers_never_see_a_torn_slot_or_record},
};

int main(void)
{
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		setup();
		tests[i].run();
		teardown();
		printf("ok %s\n", tests[i].name);
	}
	return 0;
}
