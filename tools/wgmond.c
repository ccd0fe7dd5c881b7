/* SPDX-License-Identifier: MIT */
/*
 * wgmond — the collector: reads WireGuard kernel lines (UDP from rsyslog,
 * /dev/kmsg, a file or stdin), parses them on worker threads and keeps the
 * shared-memory peer table every wgmon reader uses. It stays in the foreground
 * and logs to stderr. The main thread only handles flags, signals and reloads.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "shm/shm.h"
#include "tools/config.h"

#define FLAGS_MAX 128 /* config-backed flags on one command line */

/* The options table: getopt's list and --help both come from it. */
enum opt_id {
	OPT_CONFIG_KEY = 0, /* a [wgmond] key of the configuration file */
	OPT_CONFIG,
	OPT_RESET,
	OPT_EXIT_ON_EOF,
	OPT_RATE,
	OPT_LOG_LEVEL,
	OPT_HELP,
	OPT_VERSION,
};

struct wgmond_opt {
	const char *name;
	const char *arg; /* NULL: no argument */
	enum opt_id id;
	const char *help;
};

static const struct wgmond_opt wgmond_opts[] = {
        {"listen", "HOST:PORT", OPT_CONFIG_KEY,
         "UDP address to listen on, repeatable ([::1]:PORT for IPv6);\n"
         "default 0.0.0.0:9999 and [::]:9999 (IPV6_V6ONLY)"},
        {"source", "SRC", OPT_CONFIG_KEY,
         "udp | kmsg | - (stdin) | file:PATH, repeatable; default udp"},
        {"shm", "NAME", OPT_CONFIG_KEY,
         "shared-memory table name (default $WGMON_SHM, else /wgmon)"},
        {"workers", "N", OPT_CONFIG_KEY,
         "parser threads; 0: run to completion, the receiving thread parses\n"
         "and applies each datagram itself (no hand-off, no context switch);\n"
         "default: usable CPUs - 1, or 0 when wgmond may use one CPU only"},
        {"capacity", "N", OPT_CONFIG_KEY, "peer capacity of a new table (default 1048576)"},
        {"event-ring", "N", OPT_CONFIG_KEY, "event ring records of a new table (default 65536)"},
        {"ring-size", "N", OPT_CONFIG_KEY,
         "entries of each worker's ring, a power of two (default 4096)"},
        {"ingest", "uring|recvmmsg", OPT_CONFIG_KEY,
         "UDP backend (default: io_uring, else recvmmsg)"},
        {"rcvbuf", "BYTES", OPT_CONFIG_KEY, "UDP receive buffer (default 32M)"},
        {"allow", "CIDR", OPT_CONFIG_KEY,
         "accept datagrams only from this network, repeatable (default: all)"},
        {"config", "FILE", OPT_CONFIG,
         "configuration file (default /etc/wgmon/wgmon.conf if present)"},
        {"reset", NULL, OPT_RESET, "recreate the table if its size or ABI differs (state is lost)"},
        {"exit-on-eof", NULL, OPT_EXIT_ON_EOF,
         "exit once every file/stdin source ended and was applied"},
        {"rate", "N", OPT_RATE, "replay file/stdin sources at N lines per second"},
        {"log-level", "LEVEL", OPT_LOG_LEVEL, "error | warn | info (default) | debug"},
        {"help", NULL, OPT_HELP, "this text"},
        {"version", NULL, OPT_VERSION, "print the version"},
};
#define WGMOND_NOPTS (sizeof(wgmond_opts) / sizeof(wgmond_opts[0]))

/* What the command line said; config-backed flags are applied after the file. */
struct wgmond_args {
	const char *config;
	bool reset, exit_on_eof;
	uint64_t rate;
	const char *flag_key[FLAGS_MAX];
	const char *flag_value[FLAGS_MAX];
	unsigned n_flags;
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: wgmond [options]\n\n"
	             "Collects WireGuard kernel debug lines into the shared-memory peer table.\n"
	             "Flags override the configuration file. SIGHUP reloads the allow-list;\n"
	             "SIGINT/SIGTERM drain the workers and exit.\n\nOptions:\n");
	for (size_t i = 0; i < WGMOND_NOPTS; i++) {
		const struct wgmond_opt *o = &wgmond_opts[i];
		char left[48];
		const char *h = o->help, *nl;

		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
		         o->arg ? o->arg : "");
		fprintf(out, "  %-26s ", left);
		while ((nl = strchr(h, '\n')) != NULL) {
			fprintf(out, "%.*s\n  %-26s ", (int)(nl - h), h, "");
			h = nl + 1;
		}
		fprintf(out, "%s\n", h);
	}
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* The getopt list from the table; returns 0, 1 (exit 0: --help/--version) or -1 (usage). */
static int args_parse(int argc, char **argv, struct wgmond_args *a)
{
	struct option lo[WGMOND_NOPTS + 1];
	int idx, c, level;

	memset(lo, 0, sizeof(lo));
	for (size_t i = 0; i < WGMOND_NOPTS; i++)
		lo[i] = (struct option){wgmond_opts[i].name,
		                        wgmond_opts[i].arg ? required_argument : no_argument, NULL,
		                        (int)i + 1};
	while ((c = getopt_long(argc, argv, "", lo, &idx)) != -1) {
		const struct wgmond_opt *o;

		if (c <= 0 || c > (int)WGMOND_NOPTS)
			return -1;
		o = &wgmond_opts[c - 1];
		switch (o->id) {
		case OPT_CONFIG_KEY:
			if (a->n_flags == FLAGS_MAX)
				return -1;
			a->flag_key[a->n_flags] = o->name;
			a->flag_value[a->n_flags++] = optarg;
			break;
		case OPT_CONFIG: a->config = optarg; break;
		case OPT_RESET: a->reset = true; break;
		case OPT_EXIT_ON_EOF: a->exit_on_eof = true; break;
		case OPT_RATE:
			if (parse_u64(optarg, &a->rate) < 0 || !a->rate) {
				fprintf(stderr, "wgmond: --rate: expected a positive integer\n");
				return -1;
			}
			break;
		case OPT_LOG_LEVEL:
			level = ingest_log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr,
				        "wgmond: --log-level: error, warn, info or debug\n");
				return -1;
			}
			ingest_log_set_level(level);
			break;
		case OPT_HELP: usage(stdout); return 1;
		case OPT_VERSION: printf("wgmond %s\n", WGMON_VERSION); return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wgmond: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* File, then $WGMON_SHM, then the flags (a flag's key name with '-' → '_'). */
static int config_build(struct wgmon_config *cfg, const struct wgmond_args *a, char *err,
                        size_t errlen)
{
	const char *env = getenv("WGMON_SHM");
	int r;

	config_init(cfg);
	r = config_load_default(cfg, a->config, err, errlen);
	if (r == 0 && env && *env)
		r = config_set(cfg, "wgmond", "shm", env, err, errlen);
	for (unsigned i = 0; r == 0 && i < a->n_flags; i++) {
		char key[32];
		size_t k;

		for (k = 0; a->flag_key[i][k] && k < sizeof(key) - 1; k++)
			key[k] = a->flag_key[i][k] == '-' ? '_' : a->flag_key[i][k];
		key[k] = '\0';
		r = config_set(cfg, "wgmond", key, a->flag_value[i], err, errlen);
		if (r < 0) {
			char why[CONFIG_ERR_MAX];

			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, errlen, "--%s %.64s: %.200s", a->flag_key[i],
			         a->flag_value[i], why);
		}
	}
	return r;
}

static int listen_resolve(const struct config_hostport *hp, struct sockaddr_storage *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res;
	char port[8];
	int r;

	snprintf(port, sizeof(port), "%u", hp->port);
	r = getaddrinfo(hp->host[0] ? hp->host : NULL, port, &hints, &res);
	if (r) {
		fprintf(stderr, "wgmond: listen %s: %s\n", hp->text, gai_strerror(r));
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int allow_build(const struct config_wgmond *c, struct ingest_allow *allow)
{
	ingest_allow_init(allow);
	for (uint32_t i = 0; i < c->n_allow; i++) {
		if (ingest_allow_add(allow, c->allow[i]) < 0) {
			fprintf(stderr, "wgmond: allow: '%s' is not an IPv4/IPv6 address or CIDR\n",
			        c->allow[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* The last --workers on the command line says 0: run to completion. */
static bool workers_flag_zero(const struct wgmond_args *a)
{
	const char *v = NULL;

	for (unsigned i = 0; i < a->n_flags; i++)
		if (!strcmp(a->flag_key[i], "workers"))
			v = a->flag_value[i];
	return v && strspn(v, "0") == strlen(v) && *v;
}

/* ingest's interface filter: the configuration main() loaded, never changed after start. */
static bool iface_wanted(const void *ctx, const char *iface)
{
	return config_iface_wanted(ctx, iface);
}

static int ingest_opts_build(const struct wgmon_config *cfg, const struct wgmond_args *a,
                             struct ingest_opts *o)
{
	const struct config_wgmond *c = &cfg->wgmond;

	ingest_opts_init(o);
	o->n_listen = c->n_listen;
	for (uint32_t i = 0; i < c->n_listen; i++)
		if (listen_resolve(&c->listen[i], &o->listen[i]) < 0)
			return -EINVAL;
	o->n_sources = c->n_source;
	for (uint32_t i = 0; i < c->n_source; i++) {
		if (ingest_source_parse(c->source[i], &o->sources[i]) < 0) {
			fprintf(stderr, "wgmond: source: '%s' is not udp, kmsg, - or file:PATH\n",
			        c->source[i]);
			return -EINVAL;
		}
	}
	/* The file's `workers = 0` means "the default"; only the flag can ask for 0. */
	o->workers = c->workers || workers_flag_zero(a) ? c->workers : INGEST_WORKERS_AUTO;
	o->ring_size = c->ring_size;
	o->rcvbuf = c->rcvbuf;
	o->backend = c->ingest == CONFIG_INGEST_URING      ? INGEST_BACKEND_URING
	             : c->ingest == CONFIG_INGEST_RECVMMSG ? INGEST_BACKEND_RECVMMSG
	                                                   : INGEST_BACKEND_AUTO;
	o->exit_on_eof = a->exit_on_eof;
	o->rate = a->rate;
	if (cfg->wireguard.n_interface) {
		o->iface_wanted = iface_wanted;
		o->iface_ctx = cfg;
	}
	return allow_build(c, &o->allow);
}

static int shm_gid(const char *group, long *gid)
{
	struct group *gr;
	uint64_t v;

	*gid = -1;
	if (!group[0])
		return 0;
	if (parse_u64(group, &v) == 0) {
		*gid = (long)v;
		return 0;
	}
	gr = getgrnam(group);
	if (!gr) {
		fprintf(stderr, "wgmond: shm_group: no group '%s'\n", group);
		return -EINVAL;
	}
	*gid = (long)gr->gr_gid;
	return 0;
}

/* SIGHUP: read the file again (flags still win) and take what can change at run time. */
static void wgmond_reload(struct ingest *in, const struct wgmond_args *a)
{
	static struct wgmon_config cfg;
	struct ingest_allow allow;
	char err[CONFIG_ERR_MAX];

	if (config_build(&cfg, a, err, sizeof(err)) < 0) {
		ingest_log(INGEST_LOG_ERROR, "SIGHUP: %s: configuration unchanged", err);
		return;
	}
	if (allow_build(&cfg.wgmond, &allow) < 0 || ingest_allow_reload(in, &allow) < 0) {
		ingest_log(INGEST_LOG_ERROR, "SIGHUP: allow-list unchanged");
		return;
	}
	ingest_log(INGEST_LOG_INFO,
	           "SIGHUP: reloaded %s; the allow-list changes now, other settings at restart",
	           cfg.file[0] ? cfg.file : "(no file)");
}

/* Wait for a signal or the end of the inputs; returns when it is time to drain. */
static void wgmond_wait(struct ingest *in, int sfd, const struct wgmond_args *a)
{
	struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN},
	                        {.fd = ingest_done_fd(in), .events = POLLIN}};
	struct signalfd_siginfo si;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ingest_log(INGEST_LOG_ERROR, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			return;
		if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			wgmond_reload(in, a);
			continue;
		}
		ingest_log(INGEST_LOG_INFO, "%s: stopping, draining the workers",
		           strsignal((int)si.ssi_signo));
		break;
	}
	ingest_stop(in);
}

static int wgmond_run(const struct wgmon_config *cfg, const struct wgmond_args *a,
                      const struct ingest_opts *io, struct shm_writer *w)
{
	const struct shm_header *h = shm_writer_header(w);
	struct ingest *in;
	sigset_t set;
	int sfd, r;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so only the signalfd below sees them. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		ingest_log(INGEST_LOG_ERROR, "signalfd: %s", strerror(errno));
		return 1;
	}
	if (ingest_start(&in, io, w) < 0) {
		close(sfd);
		return 1;
	}
	ingest_log(INGEST_LOG_INFO, "ready: table %s (generation %llu, %llu peers of %llu), pid %d",
	           cfg->wgmond.shm, (unsigned long long)h->generation,
	           (unsigned long long)__atomic_load_n(&h->peers_used,
	                                               __ATOMIC_RELAXED), /* a statistic */
	           (unsigned long long)h->peer_capacity, (int)getpid());
	wgmond_wait(in, sfd, a);
	r = ingest_join(in);
	ingest_free(in);
	close(sfd);
	ingest_log(r < 0 ? INGEST_LOG_ERROR : INGEST_LOG_INFO, "stopped%s",
	           r < 0 ? " on an error" : "");
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct wgmon_config cfg;
	struct wgmond_args args = {0};
	struct shm_writer_opts so = {0};
	struct ingest_opts io;
	struct shm_writer *w;
	char err[CONFIG_ERR_MAX];
	int r;

	r = args_parse(argc, argv, &args);
	if (r)
		return r > 0 ? 0 : (fprintf(stderr, "Try 'wgmond --help'.\n"), 2);
	if (config_build(&cfg, &args, err, sizeof(err)) < 0) {
		fprintf(stderr, "wgmond: %s\n", err);
		return 2;
	}
	if (ingest_opts_build(&cfg, &args, &io) < 0 || shm_gid(cfg.wgmond.shm_group, &so.gid) < 0)
		return 2;
	so.name = cfg.wgmond.shm;
	so.capacity = cfg.wgmond.capacity;
	so.event_ring = cfg.wgmond.event_ring;
	so.mode = cfg.wgmond.shm_mode;
	so.reset = args.reset;
	r = shm_writer_open(&w, &so);
	if (r < 0) {
		fprintf(stderr, "wgmond: %s\n", shm_writer_error());
		return 1;
	}
	r = wgmond_run(&cfg, &args, &io, w);
	shm_writer_close(w);
	return r;
}
