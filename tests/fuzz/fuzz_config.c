/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for the configuration module: any bytes as a config file
 * (config_load_string on a NUL-terminated copy), then, when it loads, every
 * reader and the dump; the same bytes as a flag value and as host:port.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_config_readers(const struct wgmon_config *c, const char *text)
{
	static FILE *sink;
	const char *t;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (sink && config_dump(c, sink) < 0)
		abort();
	t = config_tenant_of(c, text, text);
	if (t && config_stale_after(c, t) == 0)
		abort(); /* a threshold is never 0 */
	(void)config_iface_wanted(c, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wgmon_config c; /* large: not on the stack */
	static const char *const flags[][2] = {
	        {"wgmond", "listen"},  {"wgmond", "allow"},  {"redis", "port"},
	        {"notify", "url"},     {"wgmond", "rcvbuf"}, {"wgmond", "shm_mode"},
	        {"metrics", "compat"},
	};
	char err[CONFIG_ERR_MAX], host[CONFIG_HOST_LEN];
	char *text = malloc(size + 1);
	uint16_t port;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	config_init(&c);
	if (config_load_string(&c, text, size & 1 ? "fuzz.toml" : "fuzz.conf", err, sizeof(err)) ==
	    0)
		fuzz_config_readers(&c, text);
	else if (!err[0] || !memchr(err, '\0', sizeof(err)))
		abort(); /* every error says what */
	config_init(&c);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		(void)!config_set(&c, flags[i][0], flags[i][1], text, err, sizeof(err));
	if (config_parse_hostport(text, host, sizeof(host), &port) == 0 && port == 0)
		abort();
	free(text);
	return 0;
}
