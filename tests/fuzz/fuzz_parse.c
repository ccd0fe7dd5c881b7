/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for parse_line() and the JSON printer: any bytes, no
 * crash, no read past the input, and the output is always produced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so ASan sees any read one byte past the end. */
	char *line = malloc(size ? size : 1);
	char json[PARSE_JSON_MAX];
	struct parse_event ev;
	int rc;

	if (!line)
		return 0;
	memcpy(line, data, size);
	rc = parse_line(line, size, &ev);
	if (!parse_event_json(rc, &ev, json, sizeof(json)))
		abort();
	if (rc == PARSE_OK && ev.kind >= PARSE_EV__COUNT)
		abort();
	free(line);
	return 0;
}
