/* SPDX-License-Identifier: MIT */
/*
 * example-reader.c — a third-party reader of wgmon's shared-memory table, in one file: attach
 * read-only, print the pipeline's counters, every peer (endpoint, last handshake, events seen),
 * and the newest events of the event ring. docs/shm-abi.md explains each call.
 *
 *   cc -O2 example-reader.c $(pkg-config --cflags --libs wgmon-shm) -o example-reader
 *   ./example-reader [TABLE [EVENTS]]        (TABLE: default /wgmon; EVENTS: default 5)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <shm/shm.h> /* -I<prefix>/include/wgmon: the ABI, the reader API, and parse/parse.h */

/* "12.3 s ago", or "never" (times are ns since the epoch, 0 = never). */
static const char *ago(uint64_t t, uint64_t now, char *buf, size_t cap)
{
	if (!t)
		return "never";
	snprintf(buf, cap, "%.1f s ago", t > now ? 0.0 : (double)(now - t) / 1e9);
	return buf;
}

static void print_peer(const struct shm_reader *r, const struct shm_peer *p, uint64_t now)
{
	struct shm_iface ifc;
	char ep[64] = "-", when[32];
	uint64_t events = 0;

	if (p->endpoint.af)
		parse_endpoint_format(&p->endpoint, PARSE_STYLE_ENDPOINT, ep, sizeof(ep));
	for (unsigned k = 0; k < SHM_PEER_EVENT_KINDS; k++)
		events += p->events[k];
	printf("%-12s %-10s %20" PRIu64 "  %-44s %-14s %" PRIu64 "\n",
	       *shm_reader_host_name(r, p->host) ? shm_reader_host_name(r, p->host) : "(local)",
	       shm_reader_iface(r, p->iface, &ifc) == 0 ? ifc.name : "-", p->peer, ep,
	       ago(p->last_handshake, now, when, sizeof(when)), events);
}

static void print_events(const struct shm_reader *r, uint64_t back)
{
	struct shm_event_cursor cur;
	struct shm_event ev;
	uint64_t missed;

	shm_reader_events_begin(r, &cur, back);
	while (shm_reader_events_next(r, &cur, &ev, &missed) == 1) {
		struct shm_iface ifc;

		printf("event %" PRIu64 ": %s", ev.seq, parse_event_name(ev.kind));
		if (shm_reader_iface(r, ev.iface, &ifc) == 0)
			printf(" on %s", ifc.name);
		if (ev.fields & PARSE_F_PEER)
			printf(" peer %" PRIu64, ev.peer);
		printf(" x%u\n", ev.repeat);
	}
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : SHM_NAME_DEFAULT;
	uint64_t back = argc > 2 ? strtoull(argv[2], NULL, 10) : 5, slots, now, n = 0;
	struct shm_reader *r;
	struct shm_stats st;
	struct shm_peer p;
	struct timespec ts;

	/* Checks the magic, the ABI version and every section before anything is trusted. */
	if (shm_reader_attach(&r, name) < 0) {
		fprintf(stderr, "example-reader: %s\n", shm_reader_error());
		return 1;
	}
	shm_reader_stats(r, &st);
	printf("table %s: ABI %u, generation %" PRIu64 ", writer pid %u, %" PRIu64 " peers, "
	       "%" PRIu64 " lines, %" PRIu64 " events\n",
	       name, shm_reader_header(r)->abi, st.generation, st.writer_pid, st.peers, st.lines,
	       st.events_total);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	slots = shm_reader_peer_slots(r);
	/* Only the slots the bitmap marks; each copied consistently (retried while written). */
	for (uint64_t i = shm_reader_peer_next(r, 0); i < slots;
	     i = shm_reader_peer_next(r, i + 1)) {
		if (shm_reader_peer_snapshot(r, i, &p) != 0)
			continue; /* unused, or busy too long: the next pass gets it */
		print_peer(r, &p, now);
		n++;
	}
	printf("%" PRIu64 " peers listed\n", n);
	print_events(r, back);
	shm_reader_detach(r);
	return 0;
}
