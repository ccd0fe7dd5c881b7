/* SPDX-License-Identifier: MIT */
/*
 * bench_report — the figures of one wgmon-bench invocation: each the median,
 * min and max of its runs, with the load it was measured under and its target,
 * printed as one JSON object on one line or as a Markdown table. A key with a
 * `sub` becomes a JSON object (scan_ms: {"10000": …}).
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"

void bench_report_init(struct bench_report *r, const char *bench)
{
	memset(r, 0, sizeof(*r));
	r->bench = bench;
	if (getloadavg(r->load_start, 3) != 3)
		r->load_start[0] = r->load_start[1] = r->load_start[2] = -1;
	r->start_ns = bench_now_ns();
}

void bench_report_fig(struct bench_report *r, const char *key, const char *sub, const char *what,
                      const char *unit, double *v, size_t n, enum bench_goal goal, double target)
{
	struct bench_fig *f;

	if (r->nfig == BENCH_FIGS_MAX)
		return;
	f = &r->fig[r->nfig++];
	memset(f, 0, sizeof(*f));
	snprintf(f->key, sizeof(f->key), "%s", key);
	snprintf(f->sub, sizeof(f->sub), "%s", sub ? sub : "");
	snprintf(f->what, sizeof(f->what), "%s", what);
	snprintf(f->unit, sizeof(f->unit), "%s", unit);
	bench_stat_of(v, n, &f->s);
	f->runs = (unsigned)n;
	f->load = bench_load1();
	f->goal = goal;
	f->target = target;
}

void bench_report_stat(struct bench_report *r, const char *key, const char *sub, const char *what,
                       const char *unit, const struct bench_stat *s, unsigned runs,
                       enum bench_goal goal, double target)
{
	double v[1] = {s->median};
	size_t n = r->nfig;

	bench_report_fig(r, key, sub, what, unit, v, 1, goal, target);
	if (r->nfig > n) {
		r->fig[n].s = *s;
		r->fig[n].runs = runs;
	}
}

const struct bench_fig *bench_report_find(const struct bench_report *r, const char *key,
                                          const char *sub)
{
	for (size_t i = 0; i < r->nfig; i++)
		if (!strcmp(r->fig[i].key, key) && (!sub || !strcmp(r->fig[i].sub, sub)))
			return &r->fig[i];
	return NULL;
}

void bench_report_note(struct bench_report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nnote == BENCH_NOTES_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(r->note[r->nnote++], BENCH_NOTE_LEN, fmt, ap);
	va_end(ap);
}

void bench_report_info(struct bench_report *r, const char *key, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	for (i = 0; i < r->ninfo && strcmp(r->info_key[i], key); i++)
		;
	if (i == BENCH_NOTES_MAX)
		return;
	snprintf(r->info_key[i], BENCH_KEY_LEN, "%s", key);
	va_start(ap, fmt);
	vsnprintf(r->info_val[i], BENCH_NOTE_LEN, fmt, ap);
	va_end(ap);
	if (i == r->ninfo)
		r->ninfo++;
}

/* -1 no target, 0 missed, 1 met. */
static int bench_fig_met(const struct bench_fig *f)
{
	if (f->goal == BENCH_GOAL_ATLEAST)
		return f->s.median >= f->target;
	if (f->goal == BENCH_GOAL_BELOW)
		return f->s.median < f->target;
	if (f->goal == BENCH_GOAL_ATMOST)
		return f->s.median <= f->target;
	return -1;
}

/* ---- JSON ------------------------------------------------------------------------------- */

static void bench_json_num(FILE *f, double v)
{
	if (!isfinite(v))
		fputs("null", f);
	else if (fabs(v) >= 1000)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.4g", v);
}

static void bench_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* One statistic of figure i (and of every later figure of the same key, as an object). */
static double bench_fig_value(const struct bench_fig *f, int what)
{
	return what == 0 ? f->s.median : what == 1 ? f->s.min : what == 2 ? f->s.max : f->load;
}

static bool bench_key_seen(const struct bench_report *r, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(r->fig[j].key, r->fig[i].key))
			return true;
	return false;
}

static void bench_json_fig(const struct bench_report *r, size_t i, int what, FILE *f)
{
	static const char *const suffix[] = {"", "_min", "_max", "_load"};
	const struct bench_fig *x = &r->fig[i];

	fprintf(f, ",\"%s%s\":", x->key, suffix[what]);
	if (!x->sub[0]) {
		bench_json_num(f, bench_fig_value(x, what));
		return;
	}
	fputc('{', f);
	for (size_t j = i, first = 1; j < r->nfig; j++) {
		if (strcmp(r->fig[j].key, x->key))
			continue;
		fprintf(f, "%s\"%s\":", first ? "" : ",", r->fig[j].sub);
		bench_json_num(f, bench_fig_value(&r->fig[j], what));
		first = 0;
	}
	fputc('}', f);
}

static void bench_json_targets(const struct bench_report *r, FILE *f)
{
	bool first = true;

	fputs(",\"targets\":{", f);
	for (size_t i = 0; i < r->nfig; i++) {
		const struct bench_fig *x = &r->fig[i];

		if (x->goal == BENCH_GOAL_NONE)
			continue;
		fprintf(f, "%s\"%s%s%s\":{\"%s\":", first ? "" : ",", x->key, x->sub[0] ? "." : "",
		        x->sub,
		        x->goal == BENCH_GOAL_ATLEAST ? "at_least"
		        : x->goal == BENCH_GOAL_BELOW ? "below"
		                                      : "at_most");
		bench_json_num(f, x->target);
		fprintf(f, ",\"met\":%s}", bench_fig_met(x) ? "true" : "false");
		first = false;
	}
	fputc('}', f);
}

static void bench_report_json(const struct bench_report *r, FILE *f)
{
	double load[3] = {-1, -1, -1};
	char machine[256];

	bench_machine(machine, sizeof(machine));
	getloadavg(load, 3);
	fprintf(f, "{\"bench\":\"%s\",\"version\":\"%s\",\"machine\":", r->bench, WGMON_VERSION);
	bench_json_str(f, machine);
	fprintf(f,
	        ",\"seconds\":%.1f,\"load_start\":[%.2f,%.2f,%.2f],\"load_end\":[%.2f,%.2f,%.2f]",
	        (double)(bench_now_ns() - r->start_ns) / 1e9, r->load_start[0], r->load_start[1],
	        r->load_start[2], load[0], load[1], load[2]);
	for (size_t i = 0; i < r->nfig; i++)
		if (!bench_key_seen(r, i))
			for (int what = 0; what < 4; what++)
				bench_json_fig(r, i, what, f);
	bench_json_targets(r, f);
	fputs(",\"info\":{", f);
	for (size_t i = 0; i < r->ninfo; i++)
		fprintf(f, "%s\"%s\":%s", i ? "," : "", r->info_key[i], r->info_val[i]);
	fputs("},\"notes\":[", f);
	for (size_t i = 0; i < r->nnote; i++) {
		fputs(i ? "," : "", f);
		bench_json_str(f, r->note[i]);
	}
	fputs("]}\n", f);
}

/* ---- Markdown --------------------------------------------------------------------------- */

/* A figure for people: 12.3 M, 456.7 k, 0.812. */
static void bench_human(double v, char *buf, size_t cap)
{
	double a = fabs(v);

	if (!isfinite(v))
		snprintf(buf, cap, "-");
	else if (a >= 1e6)
		snprintf(buf, cap, "%.2f M", v / 1e6);
	else if (a >= 1e4)
		snprintf(buf, cap, "%.1f k", v / 1e3);
	else if (a >= 100)
		snprintf(buf, cap, "%.0f", v);
	else
		snprintf(buf, cap, "%.3g", v);
}

static void bench_md_row(const struct bench_fig *x, FILE *f)
{
	char med[24], mn[24], mx[24], tgt[40] = "", what[96];
	int met = bench_fig_met(x);

	bench_human(x->s.median, med, sizeof(med));
	bench_human(x->s.min, mn, sizeof(mn));
	bench_human(x->s.max, mx, sizeof(mx));
	if (x->goal != BENCH_GOAL_NONE) {
		char t[24];

		bench_human(x->target, t, sizeof(t));
		snprintf(tgt, sizeof(tgt), "%s %s",
		         x->goal == BENCH_GOAL_ATLEAST ? "≥"
		         : x->goal == BENCH_GOAL_BELOW ? "<"
		                                       : "≤",
		         t);
	}
	snprintf(what, sizeof(what), "%s", x->what);
	fprintf(f, "| %s | %s | %s | %s | %s | %u | %s | %s | %.2f |\n", what, med, mn, mx, x->unit,
	        x->runs, tgt,
	        met < 0 ? ""
	        : met   ? "yes"
	                : "**no**",
	        x->load);
}

static void bench_report_markdown(const struct bench_report *r, FILE *f)
{
	double load[3] = {-1, -1, -1};
	char machine[256];
	time_t now = time(NULL);
	struct tm tm;
	char date[40];

	bench_machine(machine, sizeof(machine));
	getloadavg(load, 3);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
	fprintf(f, "## wgmon-bench %s — wgmon %s\n\n", r->bench, WGMON_VERSION);
	fprintf(f,
	        "Machine: %s. %s, %.0f s. Load average (1, 5, 15 min): %.2f %.2f %.2f at the "
	        "start, %.2f %.2f %.2f at the end.\n\n",
	        machine, date, (double)(bench_now_ns() - r->start_ns) / 1e9, r->load_start[0],
	        r->load_start[1], r->load_start[2], load[0], load[1], load[2]);
	fprintf(f, "| figure | median | min | max | unit | runs | target | met | load |\n"
	           "|---|---:|---:|---:|---|---:|---|---|---:|\n");
	for (size_t i = 0; i < r->nfig; i++)
		bench_md_row(&r->fig[i], f);
	if (r->ninfo) {
		fprintf(f, "\nConditions:");
		for (size_t i = 0; i < r->ninfo; i++)
			fprintf(f, "%s %s=%s", i ? "," : "", r->info_key[i], r->info_val[i]);
		fputc('\n', f);
	}
	if (r->nnote)
		fputc('\n', f);
	for (size_t i = 0; i < r->nnote; i++)
		fprintf(f, "- %s\n", r->note[i]);
}

int bench_report_print(const struct bench_report *r, bool json, FILE *f)
{
	int missed = 0;

	if (json)
		bench_report_json(r, f);
	else
		bench_report_markdown(r, f);
	fflush(f);
	for (size_t i = 0; i < r->nfig; i++)
		missed |= bench_fig_met(&r->fig[i]) == 0;
	return missed;
}

double bench_json_number(const char *json, const char *from, const char *key)
{
	const char *p = from ? strstr(json, from) : json;
	char pat[BENCH_KEY_LEN + 4], *end;
	double v;

	if (!p)
		return -1;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(p, pat);
	if (!p)
		return -1;
	v = strtod(p + strlen(pat), &end);
	return end == p + strlen(pat) ? -1 : v;
}
