/* SPDX-License-Identifier: MIT */
/*
 * Tests of shm/: create, re-attach, refuse and --reset; the update rules of shm_writer_apply();
 * the event ring with loss; the read-only mapping; recovery from a killed writer; the JSON of a
 * peer. Each test uses its own table name and removes it.
 */
#include <arpa/inet.h>
#include <ck_sequence.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm/shm.h"

#define T0  1763771234000000000ull /* 2025-11-22, in ns */
#define SEC 1000000000ull

static char name[64];

static void setup(void)
{
	snprintf(name, sizeof(name), "/wgmon-test-%d", (int)getpid());
	shm_unlink(name);
}

static void teardown(void)
{
	shm_unlink(name);
}

TestSuite(shm, .init = setup, .fini = teardown, .timeout = 30);

/* ---- Helpers ------------------------------------------------------------------------------- */

static struct shm_writer *open_writer(uint64_t capacity, uint32_t ring)
{
	struct shm_writer_opts o = {
	        .name = name, .capacity = capacity, .event_ring = ring, .gid = -1};
	struct shm_writer *w = NULL;
	int ret = shm_writer_open(&w, &o);

	cr_assert_eq(ret, 0, "shm_writer_open: %d %s", ret, shm_writer_error());
	return w;
}

static struct shm_reader *attach(void)
{
	struct shm_reader *r = NULL;
	int ret = shm_reader_attach(&r, name);

	cr_assert_eq(ret, 0, "shm_reader_attach: %d %s", ret, shm_reader_error());
	return r;
}

/* An event; peer 0 means "no peer id" here, host NULL the local host. */
static struct parse_event ev_make(unsigned kind, const char *host, const char *iface, uint64_t peer)
{
	struct parse_event e = {.kind = (uint8_t)kind, .repeat = 1};

	if (host) {
		e.host = host;
		e.host_len = (uint8_t)strlen(host);
	}
	if (iface) {
		e.iface_len = (uint8_t)strlen(iface);
		memcpy(e.iface, iface, e.iface_len);
	}
	if (peer) {
		e.fields |= PARSE_F_PEER;
		e.peer = peer;
	}
	return e;
}

static void ev_v4(struct parse_event *e, const char *ip, uint16_t port)
{
	e->fields |= PARSE_F_ENDPOINT;
	e->endpoint = (struct parse_endpoint){.af = PARSE_AF_INET, .port = port};
	cr_assert_eq(inet_pton(AF_INET, ip, e->endpoint.addr), 1);
}

static void ev_einval(struct parse_event *e)
{
	e->fields |= PARSE_F_ENDPOINT;
	e->endpoint = (struct parse_endpoint){.af = PARSE_AF_UNSET};
}

static void apply(struct shm_writer *w, const struct parse_event *e, uint64_t t)
{
	int ret = shm_writer_apply(w, SHM_BLOCK_WORKER(0), e, t);

	cr_assert_eq(ret, 0, "apply kind %u: %d", e->kind, ret);
}

static void apply_kind(struct shm_writer *w, unsigned kind, uint64_t peer, uint64_t t)
{
	struct parse_event e = ev_make(kind, NULL, "wg0", peer);

	apply(w, &e, t);
}

static struct shm_peer get_peer(struct shm_reader *r, const char *host, uint64_t peer)
{
	struct shm_peer p;
	int64_t h = shm_reader_host_find(r, host, strlen(host));

	cr_assert_geq(h, 0, "host '%s' not found", host);
	cr_assert_eq(shm_reader_peer_find(r, (uint32_t)h, peer, &p), 0, "peer %llu not found",
	             (unsigned long long)peer);
	return p;
}

static bool ep_is_v4(const struct parse_endpoint *ep, const char *ip, uint16_t port)
{
	uint8_t a[4];

	inet_pton(AF_INET, ip, a);
	return ep->af == PARSE_AF_INET && ep->port == port && !memcmp(ep->addr, a, 4);
}

/* ---- Create, re-attach, refuse, reset ------------------------------------------------------ */

Test(shm, create_reattach_keeps_state)
{
	struct shm_writer *w = open_writer(64, 64);
	struct parse_event e = ev_make(PARSE_EV_KEEPALIVE_RECEIVED, "vpn1", "wg0", 17);
	struct shm_reader *r;
	struct shm_stats s;
	struct shm_peer p;

	ev_v4(&e, "192.0.2.1", 51820);
	apply(w, &e, T0);
	cr_assert_eq(shm_writer_header(w)->generation, 1);
	shm_writer_close(w);

	w = open_writer(64, 64); /* same geometry: re-attach */
	cr_assert_eq(shm_writer_header(w)->generation, 1, "re-attach keeps the generation");
	apply(w, &e, T0 + SEC);
	r = attach();
	p = get_peer(r, "vpn1", 17);
	cr_assert_eq(p.events[PARSE_EV_KEEPALIVE_RECEIVED], 2, "state survived the re-attach");
	cr_assert_eq(p.first_seen, T0);
	cr_assert_eq(p.last_keepalive_rx, T0 + SEC);
	shm_reader_stats(r, &s);
	cr_assert_eq(s.peers, 1);
	cr_assert_eq(s.events_total, 2);
	cr_assert_eq(s.generation, 1);
	cr_assert_eq(s.writer_pid, (uint32_t)getpid());
	cr_assert_eq(shm_reader_refresh(r), 0, "nothing to re-map");
	shm_reader_detach(r);
	shm_writer_close(w);
}

Test(shm, second_writer_is_refused)
{
	struct shm_writer_opts o = {.name = name, .capacity = 64, .event_ring = 64, .gid = -1};
	struct shm_writer *w = open_writer(64, 64), *w2 = NULL;

	cr_assert_eq(shm_writer_open(&w2, &o), -EBUSY);
	cr_assert(strstr(shm_writer_error(), "in use by another wgmond"), "%s", shm_writer_error());
	shm_writer_close(w);
}

Test(shm, geometry_mismatch_refused_then_reset)
{
	struct shm_writer_opts o = {.name = name, .capacity = 128, .event_ring = 64, .gid = -1};
	struct shm_writer *w = open_writer(64, 64), *w2 = NULL;
	struct shm_reader *r;
	struct shm_peer p;

	apply_kind(w, PARSE_EV_PEER_CREATED, 5, T0);
	shm_writer_close(w);
	r = attach();

	cr_assert_eq(shm_writer_open(&w2, &o), -EEXIST);
	cr_assert(strstr(shm_writer_error(), "--reset"), "%s", shm_writer_error());
	cr_assert_eq(shm_reader_refresh(r), 0, "a refused open changes nothing");

	o.reset = true;
	cr_assert_eq(shm_writer_open(&w2, &o), 0, "%s", shm_writer_error());
	cr_assert_eq(shm_writer_header(w2)->generation, 2, "reset bumps the generation");
	cr_assert_eq(shm_reader_refresh(r), 1, "the reader notices and re-maps");
	cr_assert_eq(shm_reader_header(r)->generation, 2);
	cr_assert_eq(shm_reader_header(r)->peer_capacity, 128);
	cr_assert_eq(shm_reader_peer_find(r, SHM_LOCAL_HOST, 5, &p), -ENOENT, "a new, empty table");
	cr_assert_eq(shm_reader_refresh(r), 0);
	shm_reader_detach(r);
	shm_writer_close(w2);
}

/* Rewrite the abi field of the table, as another wgmon version would have left it. */
static void poke_abi(uint32_t abi)
{
	int fd = shm_open(name, O_RDWR, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, &abi, sizeof(abi), offsetof(struct shm_header, abi)), 4);
	close(fd);
}

Test(shm, abi_mismatch_refused)
{
	struct shm_writer_opts o = {.name = name, .capacity = 64, .event_ring = 64, .gid = -1};
	struct shm_writer *w = open_writer(64, 64);
	struct shm_reader *r = NULL;

	shm_writer_close(w);
	poke_abi(99);
	cr_assert_eq(shm_reader_attach(&r, name), -EPROTO);
	cr_assert(strstr(shm_reader_error(), "ABI 99"), "%s", shm_reader_error());
	cr_assert_eq(shm_writer_open(&w, &o), -EEXIST);
	cr_assert(strstr(shm_writer_error(), "ABI 99"), "%s", shm_writer_error());
	o.reset = true;
	cr_assert_eq(shm_writer_open(&w, &o), 0, "%s", shm_writer_error());
	cr_assert_eq(shm_writer_header(w)->generation, 2);
	shm_writer_close(w);
}

Test(shm, missing_table_and_bad_options)
{
	struct shm_writer_opts o = {.name = "wgmon-no-slash", .gid = -1};
	struct shm_reader *r = NULL;
	struct shm_writer *w = NULL;

	cr_assert_eq(shm_reader_attach(&r, name), -ENOENT);
	cr_assert(strstr(shm_reader_error(), "no table at /wgmon-test-"), "%s", shm_reader_error());
	cr_assert(strstr(shm_reader_error(), ": is wgmond running?"));
	cr_assert_eq(shm_writer_open(&w, &o), -EINVAL);
	o = (struct shm_writer_opts){.name = name, .capacity = 64, .event_ring = 100, .gid = -1};
	cr_assert_eq(shm_writer_open(&w, &o), -EINVAL, "ring must be a power of two");
	o.event_ring = 64;
	o.capacity = SHM_PEER_CAPACITY_MAX + 1ull;
	cr_assert_eq(shm_writer_open(&w, &o), -EINVAL);
}

Test(shm, mode_and_layout)
{
	struct shm_writer *w = open_writer(1000, 64);
	const struct shm_header *h = shm_writer_header(w);
	struct stat st;
	int fd = shm_open(name, O_RDONLY, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	close(fd);
	cr_assert_eq(st.st_mode & 0777, SHM_MODE_DEFAULT);
	cr_assert_eq((uint64_t)st.st_size, h->object_size);
	cr_assert_eq(h->peer_capacity, 1000);
	cr_assert_gt(h->peer_slots, 1000);
	cr_assert_eq(h->peer_slots % 64, 0);
	cr_assert_lt((uint64_t)st.st_blocks * 512, h->object_size, "created sparse");
	for (int i = 0; i < SHM_SEC__COUNT; i++)
		cr_assert_eq(h->section[i].offset % SHM_PAGE, 0);
	shm_writer_close(w);
}

/* ---- Apply: the update rules --------------------------------------------------------------- */

Test(shm, apply_times_by_max)
{
	struct shm_writer *w = open_writer(64, 64);
	struct shm_reader *r;
	struct shm_peer p;

	apply_kind(w, PARSE_EV_KEYPAIR_CREATED, 3, T0 + 5 * SEC);
	apply_kind(w, PARSE_EV_KEYPAIR_CREATED, 3, T0 + 2 * SEC); /* older: no effect on time */
	apply_kind(w, PARSE_EV_HANDSHAKE_INITIATION_RECEIVED, 3, T0 + 1 * SEC);
	apply_kind(w, PARSE_EV_HANDSHAKE_RESPONSE_RECEIVED, 3, T0 + 3 * SEC);
	apply_kind(w, PARSE_EV_KEEPALIVE_RECEIVED, 3, T0 + 4 * SEC);
	apply_kind(w, PARSE_EV_KEEPALIVE_SENT, 3, T0 + 6 * SEC);
	apply_kind(w, PARSE_EV_PEER_CREATED, 3, T0);
	apply_kind(w, PARSE_EV_PEER_DESTROYED, 3, T0 + 9 * SEC);
	apply_kind(w, PARSE_EV_HANDSHAKE_GAVE_UP, 3, T0 + 7 * SEC);
	apply_kind(w, PARSE_EV_KEYS_ZEROED, 3, T0 + 8 * SEC);
	r = attach();
	p = get_peer(r, "", 3);
	cr_assert_eq(p.last_handshake, T0 + 5 * SEC);
	cr_assert_eq(p.last_handshake_rx, T0 + 3 * SEC);
	cr_assert_eq(p.last_keepalive_rx, T0 + 4 * SEC);
	cr_assert_eq(p.last_keepalive_tx, T0 + 6 * SEC);
	cr_assert_eq(p.created_at, T0);
	cr_assert_eq(p.destroyed_at, T0 + 9 * SEC);
	cr_assert_eq(p.gave_up_at, T0 + 7 * SEC);
	cr_assert_eq(p.keys_zeroed_at, T0 + 8 * SEC);
	cr_assert_eq(p.first_seen, T0);
	cr_assert_eq(p.last_seen, T0 + 9 * SEC);
	cr_assert_eq(p.events[PARSE_EV_KEYPAIR_CREATED], 2);
	cr_assert_eq(p.endpoint.af, PARSE_AF_NONE, "no endpoint seen");
	shm_reader_detach(r);
	shm_writer_close(w);
}

Test(shm, apply_retry_try_by_time)
{
	struct shm_writer *w = open_writer(64, 64);
	struct parse_event e = ev_make(PARSE_EV_HANDSHAKE_RETRY, NULL, "wg0", 4);
	struct shm_reader *r;
	struct shm_peer p;

	e.n[0] = 5;
	e.n[1] = 3;
	apply(w, &e, T0 + 10 * SEC);
	e.n[1] = 2; /* an older line, applied later */
	apply(w, &e, T0 + 5 * SEC);
	r = attach();
	p = get_peer(r, "", 4);
	cr_assert_eq(p.retry_try, 3);
	cr_assert_eq(p.retry_at, T0 + 10 * SEC);
	shm_reader_detach(r);
	shm_writer_close(w);
}

Test(shm, apply_endpoint_rules)
{
	struct shm_writer *w = open_writer(64, 64);
	struct parse_event e = ev_make(PARSE_EV_KEEPALIVE_RECEIVED, NULL, "wg0", 9);
	struct shm_reader *r = attach();
	struct shm_peer p;

	ev_v4(&e, "192.0.2.1", 51820);
	apply(w, &e, T0 + 10 * SEC); /* first sighting: not a change */
	p = get_peer(r, "", 9);
	cr_assert(ep_is_v4(&p.endpoint, "192.0.2.1", 51820));
	cr_assert_eq(p.endpoint_changes, 0);
	cr_assert_eq(p.endpoint_at, T0 + 10 * SEC);

	ev_einval(&e);
	apply(w, &e, T0 + 20 * SEC); /* (einval) never erases */
	p = get_peer(r, "", 9);
	cr_assert(ep_is_v4(&p.endpoint, "192.0.2.1", 51820));
	cr_assert_eq(p.last_seen, T0 + 20 * SEC);

	ev_v4(&e, "198.51.100.7", 51820);
	apply(w, &e, T0 + 5 * SEC); /* older than the current endpoint: ignored */
	p = get_peer(r, "", 9);
	cr_assert(ep_is_v4(&p.endpoint, "192.0.2.1", 51820));
	cr_assert_eq(p.endpoint_changes, 0);

	apply(w, &e, T0 + 10 * SEC); /* as recent as the current one: replaces, a change */
	p = get_peer(r, "", 9);
	cr_assert(ep_is_v4(&p.endpoint, "198.51.100.7", 51820));
	cr_assert(ep_is_v4(&p.prev_endpoint, "192.0.2.1", 51820));
	cr_assert_eq(p.endpoint_changes, 1);
	cr_assert_eq(p.endpoint_changed_at, T0 + 10 * SEC);

	ev_v4(&e, "198.51.100.7", 51821); /* another port: a change */
	apply(w, &e, T0 + 30 * SEC);
	ev_v4(&e, "198.51.100.7", 51821); /* the same again: not a change */
	apply(w, &e, T0 + 31 * SEC);
	p = get_peer(r, "", 9);
	cr_assert_eq(p.endpoint_changes, 2);
	cr_assert(ep_is_v4(&p.prev_endpoint, "198.51.100.7", 51820));
	cr_assert_eq(p.endpoint_at, T0 + 31 * SEC);
	cr_assert_eq(p.endpoint_changed_at, T0 + 30 * SEC);
	cr_assert_eq(p.events[PARSE_EV_KEEPALIVE_RECEIVED], 6);
	shm_reader_detach(r);
	shm_writer_close(w);
}

Test(shm, apply_v6_flowinfo_is_not_a_change)
{
	struct shm_writer *w = open_writer(64, 64);
	struct parse_event e = ev_make(PARSE_EV_HANDSHAKE_INITIATION_SENT, NULL, "wg0", 2);
	struct shm_reader *r;
	struct shm_peer p;

	e.fields |= PARSE_F_ENDPOINT;
	e.endpoint = (struct parse_endpoint){.af = PARSE_AF_INET6, .port = 51820};
	inet_pton(AF_INET6, "2001:db8::1", e.endpoint.addr);
	apply(w, &e, T0);
	e.endpoint.flowinfo = 7;
	apply(w, &e, T0 + SEC);
	r = attach();
	p = get_peer(r, "", 2);
	cr_assert_eq(p.endpoint_changes, 0);
	cr_assert_eq(p.endpoint.flowinfo, 7, "the newer rendering is kept");
	shm_reader_detach(r);
	shm_writer_close(w);
}

Test(shm, apply_counters_repeat_hosts_ifaces)
{
	struct shm_writer *w = open_writer(64, 64);
	struct parse_event e = ev_make(PARSE_EV_KEEPALIVE_SENT, "vpn1", "wg0", 1);
	struct shm_reader *r;
	struct shm_iface f;
	struct shm_stats s;
	struct shm_peer p;
	int64_t h1, h2;

	e.repeat = 5;
	apply(w, &e, T0);
	e = ev_make(PARSE_EV_KEEPALIVE_SENT, "vpn2", "wg0", 1); /* same id, other host */
	apply(w, &e, T0);
	e = ev_make(PARSE_EV_SEND_NO_ROUTE, "vpn1", "wg0", 0); /* no peer id */
	ev_v4(&e, "192.0.2.9", 1);
	apply(w, &e, T0);
	e = ev_make(PARSE_EV_MODULE_LOADED, "vpn1", NULL, 0); /* no interface */
	apply(w, &e, T0);
	r = attach();
	h1 = shm_reader_host_find(r, "vpn1", 4);
	h2 = shm_reader_host_find(r, "vpn2", 4);
	cr_assert(h1 > 0 && h2 > 0 && h1 != h2);
	cr_assert_str_eq(shm_reader_host_name(r, (uint32_t)h1), "vpn1");
	cr_assert_str_eq(shm_reader_host_name(r, SHM_LOCAL_HOST), "");
	cr_assert_null(shm_reader_host_name(r, 77));
	p = get_peer(r, "vpn1", 1);
	cr_assert_eq(p.events[PARSE_EV_KEEPALIVE_SENT], 5, "repeat counts");
	cr_assert_eq(shm_reader_iface(r, p.iface, &f), 0);
	cr_assert_str_eq(f.name, "wg0");
	cr_assert_eq(f.host, (uint32_t)h1);
	cr_assert_eq(f.events[PARSE_EV_KEEPALIVE_SENT], 5);
	cr_assert_eq(f.events[PARSE_EV_SEND_NO_ROUTE], 1);
	cr_assert_eq(f.peers, 1);
	cr_assert_eq(f.state, SHM_IFACE_UNKNOWN);
	p = get_peer(r, "vpn2", 1);
	cr_assert_eq(p.events[PARSE_EV_KEEPALIVE_SENT], 1);
	cr_assert_eq(shm_reader_iface(r, p.iface, &f), 0);
	cr_assert_eq(f.host, (uint32_t)h2, "(host, iface) is the key");
	shm_reader_stats(r, &s);
	cr_assert_eq(s.events[PARSE_EV_KEEPALIVE_SENT], 6);
	cr_assert_eq(s.events_total, 8);
	cr_assert_eq(s.peers, 2);
	cr_assert_eq(s.hosts, 3);
	cr_assert_eq(s.ifaces, 2);
	cr_assert_eq(s.event_head, 4);
	shm_reader_detach(r);
	shm_writer_close(w);
}

Test(shm, iface_up_down_by_time)
{
	struct shm_writer *w = open_writer(64, 64);
	struct shm_reader *r;
	struct shm_iface f;

	apply_kind(w, PARSE_EV_INTERFACE_DESTROYED, 0, T0 + 2 * SEC);
	apply_kind(w, PARSE_EV_INTERFACE_CREATED, 0, T0 + 1 * SEC); /* older: stays down */
	r = attach();
	cr_assert_eq(shm_reader_iface(r, 0, &f), 0);
	cr_assert_eq(f.state, SHM_IFACE_DOWN);
	apply_kind(w, PARSE_EV_INTERFACE_CREATED, 0, T0 + 3 * SEC);
	cr_assert_eq(shm_reader_iface(r, 0, &f), 0);
	cr_assert_eq(f.state, SHM_IFACE_UP);
	cr_assert_eq(f.created_at, T0 + 3 * SEC);
	cr_assert_eq(f.destroyed_at, T0 + 2 * SEC);
	cr_assert_eq(shm_reader_iface(r, 1, &f), -ENOENT);
	shm_reader_detach(r);
	shm_writer_close(w);
}

Test(shm, ratelimit_counts_per_host)
{
	struct shm_writer *w = open_writer(64, 64);
	struct parse_event e = ev_make(PARSE_EV_RATELIMIT_SUPPRESSED, "vpn1", NULL, 0);
	struct shm_reader *r;
	struct shm_stats s;
	int64_t h;

	e.fields = PARSE_F_COUNT;
	e.n[0] = 7;
	e.repeat = 2;
	apply(w, &e, T0);
	r = attach();
	shm_reader_stats(r, &s);
	cr_assert_eq(s.ratelimit_suppressed, 14);
	h = shm_reader_host_find(r, "vpn1", 4);
	cr_assert_gt(h, 0);
	cr_assert_eq(shm_reader_header(r)->hosts_used, 2);
	shm_reader_detach(r);
	shm_writer_close(w);
}

Test(shm, table_full_is_counted)
{
	struct shm_writer *w = open_writer(8, 64);
	struct parse_event e = ev_make(PARSE_EV_KEEPALIVE_RECEIVED, NULL, "wg0", 0);
	struct shm_reader *r;
	struct shm_stats s;
	struct shm_peer p;

	for (uint64_t id = 1; id <= 8; id++)
		apply_kind(w, PARSE_EV_KEEPALIVE_RECEIVED, id, T0 + id);
	e.fields |= PARSE_F_PEER;
	e.peer = 9;
	cr_assert_eq(shm_writer_apply(w, SHM_BLOCK_WORKER(0), &e, T0 + 9), -ENOSPC);
	apply_kind(w, PARSE_EV_KEEPALIVE_RECEIVED, 8, T0 + 10); /* known peers still update */
	r = attach();
	shm_reader_stats(r, &s);
	cr_assert_eq(s.dropped[SHM_DROP_TABLE_FULL], 1);
	cr_assert_eq(s.peers, 8);
	cr_assert_eq(s.events[PARSE_EV_KEEPALIVE_RECEIVED], 10, "the event itself is counted");
	cr_assert_eq(shm_reader_peer_find(r, SHM_LOCAL_HOST, 9, &p), -ENOENT);
	p = get_peer(r, "", 8);
	cr_assert_eq(p.events[PARSE_EV_KEEPALIVE_RECEIVED], 2);
	shm_reader_detach(r);
	shm_writer_close(w);
}

Test(shm, iterate_used_slots)
{
	struct shm_writer *w = open_writer(500, 64);
	struct shm_reader *r;
	uint64_t seen = 0, sum = 0, slots;
	struct shm_peer p;

	for (uint64_t id = 1; id <= 300; id++)
		apply_kind(w, PARSE_EV_KEEPALIVE_SENT, id, T0);
	r = attach();
	slots = shm_reader_peer_slots(r);
	for (uint64_t i = shm_reader_peer_next(r, 0); i < slots;
	     i = shm_reader_peer_next(r, i + 1)) {
		cr_assert_eq(shm_reader_peer_snapshot(r, i, &p), 0);
		seen++;
		sum += p.peer;
	}
	cr_assert_eq(seen, 300);
	cr_assert_eq(sum, 300 * 301 / 2);
	cr_assert_eq(shm_reader_peer_next(r, slots), slots);
	cr_assert_eq(shm_reader_peer_snapshot(r, slots, &p), -ENOENT);
	shm_reader_detach(r);
	shm_writer_close(w);
}

/* ---- The event ring ------------------------------------------------------------------------ */

Test(shm, ring_follow_and_loss)
{
	struct shm_writer *w = open_writer(256, 64);
	struct shm_reader *r = attach();
	struct shm_event_cursor c;
	struct shm_event ev;
	uint64_t missed = 99, got = 0, lost = 0;

	shm_reader_events_begin(r, &c, 0);
	cr_assert_eq(shm_reader_events_next(r, &c, &ev, &missed), 0);
	cr_assert_eq(missed, 0);
	for (uint64_t i = 1; i <= 10; i++)
		apply_kind(w, PARSE_EV_KEEPALIVE_RECEIVED, i, T0 + i);
	for (uint64_t i = 1; i <= 10; i++) {
		cr_assert_eq(shm_reader_events_next(r, &c, &ev, &missed), 1);
		cr_assert_eq(missed, 0);
		cr_assert_eq(ev.seq, i);
		cr_assert_eq(ev.peer, i);
		cr_assert_eq(ev.time, T0 + i);
		cr_assert_eq(ev.kind, PARSE_EV_KEEPALIVE_RECEIVED);
		cr_assert_str_eq(shm_reader_host_name(r, ev.host), "");
	}
	cr_assert_eq(shm_reader_events_next(r, &c, &ev, &missed), 0);

	for (uint64_t i = 11; i <= 210; i++) /* 200 events into a ring of 64 */
		apply_kind(w, PARSE_EV_KEEPALIVE_SENT, i, T0 + i);
	while (shm_reader_events_next(r, &c, &ev, &missed) == 1) {
		lost += missed;
		got++;
		cr_assert_eq(ev.peer, ev.seq, "seq %llu", (unsigned long long)ev.seq);
	}
	lost += missed;
	cr_assert_eq(lost, 200 - 64, "lost %llu", (unsigned long long)lost);
	cr_assert_eq(got, 64);
	cr_assert_eq(ev.seq, 210);

	shm_reader_events_begin(r, &c, 5); /* the last five */
	cr_assert_eq(shm_reader_events_next(r, &c, &ev, &missed), 1);
	cr_assert_eq(ev.seq, 206);
	shm_reader_events_begin(r, &c, 1000); /* clamped to what the ring holds */
	cr_assert_eq(shm_reader_events_next(r, &c, &ev, &missed), 1);
	cr_assert_eq(ev.seq, 210 - 64 + 1);
	cr_assert_eq(missed, 0);
	shm_reader_detach(r);
	shm_writer_close(w);
}

Test(shm, ring_record_fields)
{
	struct shm_writer *w = open_writer(64, 64);
	struct parse_event e = ev_make(PARSE_EV_PACKET_SRC_UNALLOWED, "vpn9", "wg3", 12);
	struct shm_reader *r = attach();
	struct shm_event_cursor c;
	struct shm_event ev;
	struct shm_iface f;

	shm_reader_events_begin(r, &c, 0);
	ev_v4(&e, "192.0.2.1", 51820);
	e.fields |= PARSE_F_ADDR;
	e.addr = (struct parse_endpoint){.af = PARSE_AF_INET};
	inet_pton(AF_INET, "10.0.0.9", e.addr.addr);
	e.repeat = 3;
	apply(w, &e, T0);
	cr_assert_eq(shm_reader_events_next(r, &c, &ev, NULL), 1);
	cr_assert_str_eq(shm_reader_host_name(r, ev.host), "vpn9");
	cr_assert_eq(shm_reader_iface(r, ev.iface, &f), 0);
	cr_assert_str_eq(f.name, "wg3");
	cr_assert_eq(ev.repeat, 3);
	cr_assert_eq(ev.fields, e.fields);
	cr_assert(ep_is_v4(&ev.endpoint, "192.0.2.1", 51820));
	cr_assert(ep_is_v4(&ev.addr, "10.0.0.9", 0));
	shm_reader_detach(r);
	shm_writer_close(w);
}

/* ---- Readers cannot write; a killed writer is repaired ------------------------------------- */

Test(shm, reader_mapping_is_read_only)
{
	struct shm_writer *w = open_writer(64, 64);
	struct shm_reader *r = attach();
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		volatile uint32_t *p = (volatile uint32_t *)&shm_reader_header(r)->writer_pid;

		signal(SIGSEGV, SIG_DFL);
		*p = 1; /* must fault */
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "status %#x", status);
	cr_assert_eq(shm_writer_header(w)->writer_pid, (uint32_t)getpid());
	shm_reader_detach(r);
	shm_writer_close(w);
}

/* A second, writable mapping to fake what a SIGKILLed wgmond leaves behind. */
static void *map_rw(size_t *size)
{
	int fd = shm_open(name, O_RDWR, 0);
	struct stat st;
	void *p;

	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(p, MAP_FAILED);
	*size = st.st_size;
	return p;
}

Test(shm, reattach_repairs_a_killed_writer)
{
	struct shm_writer *w = open_writer(64, 64);
	struct shm_reader *r = attach();
	struct shm_event_cursor c;
	struct shm_peer p, *slot;
	struct shm_header *h;
	struct shm_event ev, *rec;
	uint64_t slot_idx, missed;
	size_t size;
	char *base;

	apply_kind(w, PARSE_EV_KEEPALIVE_RECEIVED, 1, T0);
	shm_reader_events_begin(r, &c, 0);
	slot_idx = shm_reader_peer_next(r, 0);
	shm_writer_close(w);

	base = map_rw(&size);
	h = (struct shm_header *)base;
	slot = (struct shm_peer *)(base + h->section[SHM_SEC_PEERS].offset) + slot_idx;
	slot->lock = 1; /* died inside an update */
	slot->seq++;
	h->peer_lock = 1;
	h->event_head++; /* died after reserving an event record */
	cr_assert_eq(shm_reader_peer_snapshot(r, slot_idx, &p), -EAGAIN, "torn: readers wait");
	cr_assert_eq(shm_reader_events_next(r, &c, &ev, &missed), 0, "reserved, not written");

	w = open_writer(64, 64);
	cr_assert_eq(h->peer_lock, 0);
	cr_assert_eq(slot->lock, 0);
	cr_assert_eq(slot->seq % 2, 0);
	cr_assert_eq(shm_reader_peer_snapshot(r, slot_idx, &p), 0);
	apply_kind(w, PARSE_EV_KEEPALIVE_RECEIVED, 1, T0 + SEC); /* the locks are free */
	apply_kind(w, PARSE_EV_KEEPALIVE_RECEIVED, 2, T0 + SEC);
	cr_assert_eq(shm_reader_events_next(r, &c, &ev, &missed), 1);
	cr_assert_eq(missed, 1, "the gap counts as missed");
	cr_assert_eq(ev.seq, 3);
	cr_assert_eq(shm_reader_header(r)->peers_used, 2);
	rec = (struct shm_event *)(base + h->section[SHM_SEC_EVENTS].offset);
	cr_assert_eq(rec[1].seq, 2);
	munmap(base, size);
	shm_reader_detach(r);
	shm_writer_close(w);
}

/* ---- Compatibility and JSON ---------------------------------------------------------------- */

Test(shm, ring_stalled_and_lapped_records)
{
	struct shm_writer *w = open_writer(256, 64);
	struct shm_reader *r = attach();
	struct shm_event_cursor c;
	struct shm_event ev, *rec;
	struct shm_header *h;
	struct shm_stats s;
	uint64_t missed;
	size_t size;
	char *base = map_rw(&size);

	h = (struct shm_header *)base;
	rec = (struct shm_event *)(base + h->section[SHM_SEC_EVENTS].offset);
	apply_kind(w, PARSE_EV_KEEPALIVE_SENT, 1, T0); /* position 0 */
	shm_reader_events_begin(r, &c, 0);
	/* A writer reserved position 1 and stalls in the middle of its record. */
	rec[1].seq = 2 | SHM_EVENT_BUSY;
	h->event_head = 2;
	for (uint64_t i = 2; i <= 32; i++)
		apply_kind(w, PARSE_EV_KEEPALIVE_SENT, i, T0 + i);
	cr_assert_eq(shm_reader_events_next(r, &c, &ev, &missed), 0, "32 behind: still waiting");
	apply_kind(w, PARSE_EV_KEEPALIVE_SENT, 33, T0 + 33);
	cr_assert_eq(shm_reader_events_next(r, &c, &ev, &missed), 1, "33 behind: given up");
	cr_assert_eq(missed, 1);
	cr_assert_eq(ev.seq, 3);
	rec[1].seq = 2; /* the stalled writer finishes before the ring comes round */
	for (uint64_t i = 34; i <= 69; i++)
		apply_kind(w, PARSE_EV_KEEPALIVE_SENT, i, T0 + i);
	cr_assert_eq(rec[1].seq, 66, "position 65 wrote record 1");
	/* The writer of position 70 was lapped: record 6 was claimed for position 134 meanwhile. */
	rec[6].seq = 135 | SHM_EVENT_BUSY;
	apply_kind(w, PARSE_EV_KEEPALIVE_SENT, 70, T0 + 70);
	cr_assert_eq(rec[6].seq, 135 | SHM_EVENT_BUSY, "a lapped writer leaves the record alone");
	shm_reader_stats(r, &s);
	cr_assert_eq(s.dropped[SHM_DROP_EVENT_RING_LAPPED], 1);
	munmap(base, size);
	shm_reader_detach(r);
	shm_writer_close(w);
}

Test(shm, ck_sequence_reads_a_slot)
{
	struct shm_writer *w = open_writer(64, 64);
	struct shm_reader *r;
	const struct shm_peer *slot;
	const struct shm_header *h;
	uint64_t idx, last = 0;
	unsigned version;

	apply_kind(w, PARSE_EV_KEEPALIVE_RECEIVED, 1, T0);
	r = attach();
	h = shm_reader_header(r);
	idx = shm_reader_peer_next(r, 0);
	slot = (const struct shm_peer *)((const char *)h + h->section[SHM_SEC_PEERS].offset) + idx;
	do {
		version = ck_sequence_read_begin((const ck_sequence_t *)&slot->seq);
		last = slot->last_seen;
	} while (ck_sequence_read_retry((const ck_sequence_t *)&slot->seq, version));
	cr_assert_eq(last, T0);
	cr_assert_eq(version, 2, "one update: odd then even");
	shm_reader_detach(r);
	shm_writer_close(w);
}

Test(shm, peer_json)
{
	struct shm_writer *w = open_writer(64, 64);
	struct parse_event e = ev_make(PARSE_EV_KEEPALIVE_RECEIVED, "vpn\"1", "wg0", 17);
	struct shm_reader *r;
	char buf[SHM_PEER_JSON_MAX];
	struct shm_peer p;

	ev_v4(&e, "198.51.100.7", 51820);
	apply(w, &e, T0 + 123456789);
	e = ev_make(PARSE_EV_KEYPAIR_CREATED, "vpn\"1", "wg0", 17);
	e.repeat = 2;
	apply(w, &e, T0 + 2 * SEC);
	r = attach();
	p = get_peer(r, "vpn\"1", 17);
	cr_assert_gt(shm_peer_json(r, &p, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf,
	                 "{\"host\":\"vpn\\\"1\",\"iface\":\"wg0\",\"peer\":17,"
	                 "\"endpoint\":\"198.51.100.7:51820\",\"ip\":\"198.51.100.7\","
	                 "\"port\":51820,\"first_seen\":1763771234.123456,"
	                 "\"last_seen\":1763771236.000000,\"last_handshake\":1763771236.000000,"
	                 "\"last_keepalive_rx\":1763771234.123456,\"endpoint_changes\":0,"
	                 "\"events\":{\"keepalive_received\":1,\"keypair_created\":2}}");
	cr_assert_eq(shm_peer_json(r, &p, buf, 40), 0, "too small: 0");
	shm_reader_detach(r);
	shm_writer_close(w);
}

/* Health: the rules of shm_peer_state(), one fact at a time. */
Test(shm_health, states)
{
	const uint64_t s = 1000000000ull, stale = 180 * s, now = 10000 * s;
	struct shm_peer p;

	memset(&p, 0, sizeof(p));
	p.last_seen = now;
	cr_expect_eq(shm_peer_state(&p, now, stale), SHM_STATE_NEW);
	p.last_handshake = now - 10 * s;
	cr_expect_eq(shm_peer_state(&p, now, stale), SHM_STATE_UP);
	cr_expect_eq(shm_peer_state(&p, now + 200 * s, stale), SHM_STATE_STALE);
	p.retry_at = now - 5 * s;
	cr_expect_eq(shm_peer_state(&p, now, stale), SHM_STATE_FAILING);
	p.gave_up_at = now - 1 * s;
	cr_expect_eq(shm_peer_state(&p, now, stale), SHM_STATE_DOWN);
	p.last_handshake = now; /* a handshake after giving up: up again */
	cr_expect_eq(shm_peer_state(&p, now, stale), SHM_STATE_UP);
	p.keys_zeroed_at = now + 1;
	cr_expect_eq(shm_peer_state(&p, now + 2, stale), SHM_STATE_DOWN);
	p.destroyed_at = now + 3;
	cr_expect_eq(shm_peer_state(&p, now + 4, stale), SHM_STATE_REMOVED);
	p.created_at = now + 5; /* the module was reloaded: the id is a new peer */
	cr_expect_neq(shm_peer_state(&p, now + 6, stale), SHM_STATE_REMOVED);
	for (int st = 0; st < SHM_STATE__COUNT; st++)
		cr_expect_eq(shm_state_lookup(shm_state_name(st)), st);
	cr_expect_str_eq(shm_state_name(SHM_STATE__COUNT), "unknown");
}
