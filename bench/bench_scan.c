/* SPDX-License-Identifier: MIT */
/*
 * wgmon-bench scan — what a reader pays to see the whole table: for tables of
 * 10 k, 100 k and 1 M peers (each built in a private object with the writer
 * API, capacity = peers), the time of a full scan (shm_reader_peer_next +
 * shm_reader_peer_snapshot of every peer, as sinks do), and the table's bytes
 * per peer (memory the object really holds, from its st_blocks). The first
 * scan of a fresh mapping pays its page faults: it is shown apart ("cold").
 * Targets (DESIGN.md, issue 8): 1 M peers < 100 ms; <= 512 bytes per peer;
 * both roughly constant per peer from 10 k to 1 M.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"
#include "shm/shm.h"

#define SCAN_SIZES_MAX   8
#define SCAN_HOSTS       8
#define SCAN_IFACES      16
#define SCAN_TARGET_MS   100.0 /* at 1 M peers */
#define SCAN_TARGET_SIZE 1000000
#define SCAN_TARGET_BPP  512.0

struct bench_scan_opts {
	uint64_t peers[SCAN_SIZES_MAX];
	unsigned n;
};

static const uint64_t scan_sizes_default[] = {10000, 100000, 1000000};

static void scan_usage(FILE *f)
{
	fprintf(f,
	        "Usage: wgmon-bench scan [--peers N[,N…]] [common flags]\n\n"
	        "Builds a private table of N peers (default 10000,100000,1000000) with the writer\n"
	        "API, then times full reader scans of it (next + snapshot of every peer) and\n"
	        "reports the memory the table holds per peer.\n%s",
	        bench_ctx_usage);
}

/* ---- building a table ------------------------------------------------------------------- */

/* Two events per peer: a handshake initiation from its endpoint, then a keypair. */
static int scan_fill(struct shm_writer *w, uint64_t peers)
{
	static const char hosts[SCAN_HOSTS][8] = {"edge-0", "edge-1", "edge-2", "edge-3",
	                                          "edge-4", "edge-5", "edge-6", "edge-7"};
	uint64_t t = bench_wall_ns();
	struct parse_event ev;

	for (uint64_t p = 0; p < peers; p++) {
		memset(&ev, 0, sizeof(ev));
		ev.host = hosts[p % SCAN_HOSTS];
		ev.host_len = (uint8_t)strlen(ev.host);
		ev.iface_len = (uint8_t)snprintf(ev.iface, sizeof(ev.iface), "wg%u",
		                                 (unsigned)(p / SCAN_HOSTS % SCAN_IFACES));
		ev.peer = p + 1;
		ev.repeat = 1;
		ev.kind = PARSE_EV_HANDSHAKE_INITIATION_RECEIVED;
		ev.fields = PARSE_F_PEER | PARSE_F_ENDPOINT;
		ev.endpoint.af = PARSE_AF_INET;
		ev.endpoint.port = (uint16_t)(1024 + p % 60000);
		memcpy(ev.endpoint.addr,
		       (uint8_t[4]){10, (uint8_t)(p >> 16), (uint8_t)(p >> 8), (uint8_t)p}, 4);
		if (shm_writer_apply(w, SHM_BLOCK_WORKER(0), &ev, t + p))
			return -ENOSPC;
		ev.kind = PARSE_EV_KEYPAIR_CREATED;
		ev.fields = PARSE_F_PEER | PARSE_F_KEYPAIR;
		ev.n[0] = p + 1;
		if (shm_writer_apply(w, SHM_BLOCK_WORKER(0), &ev, t + p + 1))
			return -ENOSPC;
	}
	return 0;
}

/* Bytes the object holds in memory (tmpfs blocks), and its size; 0 or -errno. */
static int scan_bytes(const char *name, uint64_t *held, uint64_t *size)
{
	int fd = shm_open(name, O_RDONLY, 0);
	struct stat st;
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		err = -errno;
	close(fd);
	*held = (uint64_t)st.st_blocks * 512;
	*size = (uint64_t)st.st_size;
	return err;
}

/* ---- scanning --------------------------------------------------------------------------- */

/* One full scan: ms; *seen the peers copied. */
static double scan_once(const struct shm_reader *r, uint64_t *seen, uint64_t *sum)
{
	const uint64_t slots = shm_reader_peer_slots(r);
	uint64_t t0 = bench_now_ns(), n = 0, s = 0;
	struct shm_peer p;

	for (uint64_t i = shm_reader_peer_next(r, 0); i < slots;
	     i = shm_reader_peer_next(r, i + 1)) {
		if (shm_reader_peer_snapshot(r, i, &p) == 0) {
			n++;
			s += p.last_seen ^ p.endpoint.port;
		}
	}
	*seen = n;
	*sum += s;
	return (double)(bench_now_ns() - t0) / 1e6;
}

struct scan_size {
	double *ms;  /* runs */
	double cold; /* the first scan of a fresh mapping */
	double bpp, vpp;
};

/* Builds a table of `peers`, scans it 1 + runs times. */
static int scan_size(const struct bench_ctx *c, uint64_t peers, struct scan_size *out)
{
	struct shm_writer_opts so = {.capacity = peers, .gid = -1, .reset = true};
	struct shm_writer *w = NULL;
	struct shm_reader *r = NULL;
	uint64_t seen = 0, sum = 0, held = 0, size = 0;
	char name[64];
	int err;

	snprintf(name, sizeof(name), "/wgmon-bench-scan-%d-%llu", (int)getpid(),
	         (unsigned long long)peers);
	so.name = name;
	bench_cleanup_add_shm(name);
	err = shm_writer_open(&w, &so);
	if (err)
		fprintf(stderr, "wgmon-bench scan: %s\n", shm_writer_error());
	if (!err)
		err = scan_fill(w, peers);
	if (!err)
		err = scan_bytes(name, &held, &size);
	if (!err)
		err = shm_reader_attach(&r, name);
	if (!err) {
		out->cold = scan_once(r, &seen, &sum);
		for (unsigned i = 0; i < c->runs && seen == peers; i++)
			out->ms[i] = scan_once(r, &seen, &sum);
		if (seen != peers) {
			fprintf(stderr, "wgmon-bench scan: %llu peers in the table, %llu seen\n",
			        (unsigned long long)peers, (unsigned long long)seen);
			err = -EPROTO;
		}
	}
	out->bpp = (double)held / (double)peers;
	out->vpp = (double)size / (double)peers;
	shm_reader_detach(r);
	shm_writer_close(w);
	if (shm_writer_unlink(name) < 0)
		(void)0; /* never created */
	bench_cleanup_del_shm(name);
	return err;
}

static void scan_figures(const struct bench_ctx *c, uint64_t peers, struct scan_size *s,
                         struct bench_report *r)
{
	char sub[24], what[96];
	double one[1];
	bool top = peers == SCAN_TARGET_SIZE;

	snprintf(sub, sizeof(sub), "%llu", (unsigned long long)peers);
	snprintf(what, sizeof(what), "scan: full scan, %s peers", sub);
	bench_report_fig(r, "scan_ms", sub, what, "ms", s->ms, c->runs,
	                 top ? BENCH_GOAL_BELOW : BENCH_GOAL_NONE, SCAN_TARGET_MS);
	if (!c->json)
		bench_progress("scan: %s peers: %.1f ms a scan, %.0f bytes per peer (load %.2f)",
		               sub, r->fig[r->nfig - 1].s.median, s->bpp, bench_load1());
	one[0] = s->cold;
	snprintf(what, sizeof(what), "scan: first scan, fresh mapping, %s peers", sub);
	bench_report_fig(r, "scan_cold_ms", sub, what, "ms", one, 1, BENCH_GOAL_NONE, 0);
	for (unsigned i = 0; i < c->runs; i++)
		s->ms[i] = s->ms[i] * 1e6 / (double)peers;
	snprintf(what, sizeof(what), "scan: per peer, %s peers", sub);
	bench_report_fig(r, "scan_ns_per_peer", sub, what, "ns", s->ms, c->runs, BENCH_GOAL_NONE,
	                 0);
	one[0] = s->bpp;
	snprintf(what, sizeof(what), "table: bytes held per peer, %s peers", sub);
	bench_report_fig(r, "table_bytes_per_peer_at", sub, what, "B", one, 1,
	                 top ? BENCH_GOAL_ATMOST : BENCH_GOAL_NONE, SCAN_TARGET_BPP);
	if (top) {
		one[0] = s->bpp;
		bench_report_fig(r, "table_bytes_per_peer", NULL, "table: bytes held per peer, 1 M",
		                 "B", one, 1, BENCH_GOAL_ATMOST, SCAN_TARGET_BPP);
	}
	bench_report_note(r,
	                  "scan: %s peers: the object is %.0f bytes per peer of address space, "
	                  "%.0f of them held in memory",
	                  sub, s->vpp, s->bpp);
}

int bench_scan_run(const struct bench_ctx *c, const struct bench_scan_opts *o,
                   struct bench_report *r)
{
	struct bench_scan_opts d = {.n = 3};
	struct scan_size s = {0};
	int err = 0;

	if (!o) {
		memcpy(d.peers, scan_sizes_default, sizeof(scan_sizes_default));
		o = &d;
	}
	s.ms = calloc(c->runs, sizeof(*s.ms));
	if (!s.ms)
		return -ENOMEM;
	if (bench_pin_to(c->cpu[1]))
		fprintf(stderr, "wgmon-bench scan: not pinned to CPU %d\n", c->cpu[1]);
	for (unsigned i = 0; i < o->n && !err; i++) {
		err = scan_size(c, o->peers[i], &s);
		if (!err)
			scan_figures(c, o->peers[i], &s, r);
	}
	free(s.ms);
	return err;
}

static int scan_args(int argc, char **argv, struct bench_ctx *c, struct bench_scan_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int k = bench_ctx_arg(c, argc, argv, &i);
		char *p, *end;

		if (k == 1)
			continue;
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		if (k || strcmp(a, "--peers") || i + 1 >= argc) {
			fprintf(stderr, "wgmon-bench scan: unknown option or bad value '%s'\n", a);
			return 2;
		}
		o->n = 0;
		for (p = argv[++i]; *p && o->n < SCAN_SIZES_MAX; p = *end ? end + 1 : end) {
			o->peers[o->n] = strtoull(p, &end, 10);
			if (end == p || (*end && *end != ',') || !o->peers[o->n] ||
			    o->peers[o->n] > SHM_PEER_CAPACITY_MAX)
				return 2;
			o->n++;
		}
	}
	return 0;
}

int bench_scan(int argc, char **argv)
{
	struct bench_scan_opts o = {.n = 3};
	struct bench_report r;
	struct bench_ctx c;
	int err;

	memcpy(o.peers, scan_sizes_default, sizeof(scan_sizes_default));
	bench_ctx_init(&c);
	err = scan_args(argc, argv, &c, &o);
	if (err) {
		scan_usage(err == 1 ? stdout : stderr);
		return err == 1 ? 0 : 2;
	}
	bench_report_init(&r, "scan");
	if (bench_scan_run(&c, &o, &r))
		return 1;
	bench_report_print(&r, c.json, stdout);
	return 0;
}
