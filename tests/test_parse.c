/* SPDX-License-Identifier: MIT */
/*
 * Tests of parse/: every message with every field form, every envelope and
 * decoration, every rejection reason. Cases are (line, exact JSON) pairs, so
 * a failure prints both and needs no debugger.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "parse/parse.h"

struct case_ {
	const char *line;
	const char *json;
};

static void check(const struct case_ *c)
{
	struct parse_event ev;
	char json[PARSE_JSON_MAX];
	int rc = parse_line(c->line, strlen(c->line), &ev);

	cr_assert(parse_event_json(rc, &ev, json, sizeof(json)) > 0);
	cr_expect_str_eq(json, c->json, "line: %s", c->line);
}

#define CHECK_ALL(cases)                                                                           \
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)                              \
	check(&cases[i])

#define P   "wireguard: wg0: "
#define V4  "192.0.2.1:51820"
#define V4J "\"endpoint\":\"192.0.2.1:51820\",\"ip\":\"192.0.2.1\",\"port\":51820"
#define V6  "[2001:db8::1]:51820/0%0"
#define V6J                                                                                        \
	"\"endpoint\":\"[2001:db8::1]:51820/0%0\",\"ip\":\"2001:db8::1\",\"port\":51820,"          \
	"\"flowinfo\":0,\"scope\":0"
#define EV(name) "{\"event\":\"" name "\",\"iface\":\"wg0\""

/* M1–M38, the legacy line and net_ratelimit, each with its fields. */
static const struct case_ messages[] = {
        {P "Could not decrypt invalid cookie response", EV("cookie_decrypt_failed") "}"},
        {P "No route to " V4 ", error -101", EV("send_no_route") "," V4J ",\"error\":-101}"},
        {P "No route to " V6 ", error -22", EV("send_no_route") "," V6J ",\"error\":-22}"},
        {P "Receiving cookie response from " V4, EV("cookie_response_received") "," V4J "}"},
        {P "Invalid MAC of handshake, dropping packet from " V6,
         EV("handshake_mac_invalid") "," V6J "}"},
        {P "Invalid handshake initiation from " V4, EV("handshake_initiation_invalid") "," V4J "}"},
        {P "Receiving handshake initiation from peer 7 (" V4 ")",
         EV("handshake_initiation_received") ",\"peer\":7," V4J "}"},
        {P "Invalid handshake response from " V6, EV("handshake_response_invalid") "," V6J "}"},
        {P "Receiving handshake response from peer 18446744073709551615 (" V6 ")",
         EV("handshake_response_received") ",\"peer\":18446744073709551615," V6J "}"},
        {P "Receiving keepalive packet from peer 10 (" V4 ")",
         EV("keepalive_received") ",\"peer\":10," V4J "}"},
        {P "Packet has unallowed src IP (10.66.0.99) from peer 3 (" V4 ")",
         EV("packet_src_unallowed") ",\"addr\":\"10.66.0.99\",\"peer\":3," V4J "}"},
        {P "Packet has unallowed src IP (fd00:17::99) from peer 3 (" V6 ")",
         EV("packet_src_unallowed") ",\"addr\":\"fd00:17::99\",\"peer\":3," V6J "}"},
        {P "Packet is neither ipv4 nor ipv6 from peer 4 (" V4 ")",
         EV("packet_not_ip") ",\"peer\":4," V4J "}"},
        {P "Packet has incorrect size from peer 5 (" V4 ")",
         EV("packet_size_invalid") ",\"peer\":5," V4J "}"},
        {P "Packet has invalid nonce 18446744073709551615 (max 0)",
         EV("packet_nonce_invalid") ",\"nonce\":18446744073709551615,\"nonce_max\":0}"},
        {P "Dropping handshake packet from " V4, EV("handshake_packet_dropped") "," V4J "}"},
        {P "Sending handshake initiation to peer 1 ((einval))",
         EV("handshake_initiation_sent") ",\"peer\":1,\"endpoint\":\"(einval)\"}"},
        {P "Sending handshake response to peer 1 (" V4 ")",
         EV("handshake_response_sent") ",\"peer\":1," V4J "}"},
        {P "Sending cookie response for denied handshake message for " V4,
         EV("cookie_response_sent") "," V4J "}"},
        {P "Sending keepalive packet to peer 1 ((invalid address))",
         EV("keepalive_sent") ",\"peer\":1,\"endpoint\":\"(invalid address)\"}"},
        {P "Handshake for peer 9 (" V4 ") did not complete after 20 attempts, giving up",
         EV("handshake_gave_up") ",\"peer\":9," V4J ",\"attempts\":20}"},
        {P "Handshake for peer 9 (" V4 ") did not complete after 5 seconds, retrying (try 2)",
         EV("handshake_retry") ",\"peer\":9," V4J ",\"seconds\":5,\"try\":2}"},
        {P "Retrying handshake with peer 9 (" V4
           ") because we stopped hearing back after 15 seconds",
         EV("handshake_restart") ",\"peer\":9," V4J ",\"seconds\":15}"},
        {P "Zeroing out all keys for peer 9 (" V4
           "), since we haven't received a new one in 540 seconds",
         EV("keys_zeroed") ",\"peer\":9," V4J ",\"seconds\":540}"},
        {P "Peer 12 created", EV("peer_created") ",\"peer\":12}"},
        {P "Peer 12 ((einval)) destroyed",
         EV("peer_destroyed") ",\"peer\":12,\"endpoint\":\"(einval)\"}"},
        {P "Invalid IP packet", EV("xmit_invalid_packet") "}"},
        {P "No peer has allowed IPs matching 10.0.0.9",
         EV("xmit_no_allowed_ips") ",\"addr\":\"10.0.0.9\"}"},
        {P "No peer has allowed IPs matching fd00:0000:0000:0000:0000:0000:0000:0009",
         EV("xmit_no_allowed_ips") ",\"addr\":\"fd00:0000:0000:0000:0000:0000:0000:0009\"}"},
        {P "No valid endpoint has been configured or discovered for peer 77",
         EV("xmit_no_endpoint") ",\"peer\":77}"},
        {P "Interface destroyed", EV("interface_destroyed") "}"},
        {P "Interface created", EV("interface_created") "}"},
        {P "Creating namespace exiting", EV("netns_exiting") "}"},
        {P "Keypair 5 destroyed for peer 6", EV("keypair_destroyed") ",\"keypair\":5,\"peer\":6}"},
        {P "Keypair 5 created for peer 6", EV("keypair_created") ",\"keypair\":5,\"peer\":6}"},
        {"wireguard: WireGuard 1.0.20220627 loaded. See www.wireguard.com for information.",
         "{\"event\":\"module_loaded\",\"version\":\"1.0.20220627\"}"},
        {"wireguard: Copyright (C) 2015-2019 Jason A. Donenfeld <Jason@zx2c4.com>. All Rights "
         "Reserved.",
         "{\"event\":\"module_banner\"}"},
        {P "Could not create IPv4 socket", EV("socket_create_failed") ",\"family\":4}"},
        {P "Could not create IPv6 socket", EV("socket_create_failed") ",\"family\":6}"},
        {P "Failed to give packet to userspace from peer 2 (" V4 ")",
         EV("packet_gro_dropped") ",\"peer\":2," V4J "}"},
        {"net_ratelimit: 37 callbacks suppressed",
         "{\"event\":\"ratelimit_suppressed\",\"count\":37}"},
};

Test(parse, every_message)
{
	CHECK_ALL(messages);
}

/* IPv6 as the kernel prints it (spec §6), and the forms it never prints. */
static const struct case_ endpoints[] = {
        {P "Peer 1 ([fe80::1c2b:3cff:fe4d:5e6f]:51820/0%3) destroyed",
         EV("peer_destroyed") ",\"peer\":1,\"endpoint\":\"[fe80::1c2b:3cff:fe4d:5e6f]:51820/0%3\","
                              "\"ip\":\"fe80::1c2b:3cff:fe4d:5e6f\",\"port\":51820,\"flowinfo\":0,"
                              "\"scope\":3}"},
        {P "Peer 1 ([::ffff:192.0.2.44]:51820/0%0) destroyed",
         EV("peer_destroyed") ",\"peer\":1,\"endpoint\":\"[::ffff:192.0.2.44]:51820/0%0\","
                              "\"ip\":\"::ffff:192.0.2.44\",\"port\":51820,\"flowinfo\":0,"
                              "\"scope\":0}"},
        {P "Peer 1 ([2001:db8::1:0:0:1]:443/0%0) destroyed",
         EV("peer_destroyed") ",\"peer\":1,\"endpoint\":\"[2001:db8::1:0:0:1]:443/0%0\","
                              "\"ip\":\"2001:db8::1:0:0:1\",\"port\":443,\"flowinfo\":0,\"scope\":"
                              "0}"},
        {P "Peer 1 ([fe80::5efe:192.0.2.1]:1/1048575%4294967295) destroyed",
         EV("peer_destroyed") ",\"peer\":1,\"endpoint\":\"[fe80::5efe:192.0.2.1]:1/"
                              "1048575%4294967295\","
                              "\"ip\":\"fe80::5efe:192.0.2.1\",\"port\":1,\"flowinfo\":1048575,"
                              "\"scope\":4294967295}"},
        {P "Peer 1 ([::]:0/268435455%0) destroyed",
         EV("peer_destroyed") ",\"peer\":1,\"endpoint\":\"[::]:0/268435455%0\",\"ip\":\"::\","
                              "\"port\":0,\"flowinfo\":268435455,\"scope\":0}"},
        {P "Peer 1 (255.255.255.255:65535) destroyed",
         EV("peer_destroyed") ",\"peer\":1,\"endpoint\":\"255.255.255.255:65535\","
                              "\"ip\":\"255.255.255.255\",\"port\":65535}"},
        /* Not as the kernel prints them. */
        {P "Peer 1 ([2001:db8:0:0:1:0:0:1]:443/0%0) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 ([2001:db8::1:0:0:0:1]:1/0%0) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 ([2001:db8:0:1::1]:1/0%0) destroyed",
         EV("peer_destroyed") ",\"peer\":1,\"endpoint\":\"[2001:db8:0:1::1]:1/"
                              "0%0\",\"ip\":\"2001:db8:0:1::1\","
                              "\"port\":1,\"flowinfo\":0,\"scope\":0}"},
        {P "Peer 1 ([2001:DB8::1]:1/0%0) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 ([2001:0db8::1]:1/0%0) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 ([::ffff:c000:22c]:1/0%0) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 ([2001:db8::1]:51820) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 ([2001:db8::1]:51820/0%eth0) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 ([2001:db8::1]:1/268435456%0) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 ([1:2:3:4:5:6:7:8:9]:1/0%0) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 ([2001:db8::1::2]:1/0%0) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 (192.0.2.256:1) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 (192.0.2.01:1) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 (192.0.2.1:65536) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 (192.0.2.1:0x51) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "Peer 1 ((none)) destroyed", "{\"reject\":\"bad_endpoint\"}"},
        {P "No peer has allowed IPs matching fd00::9", "{\"reject\":\"bad_endpoint\"}"},
        {P "No peer has allowed IPs matching FD00:0000:0000:0000:0000:0000:0000:0009",
         "{\"reject\":\"bad_endpoint\"}"},
        {P "Packet has unallowed src IP (10.0.0.1:5) from peer 3 (" V4 ")",
         "{\"reject\":\"unknown_message\"}"},
};

Test(parse, endpoints_as_the_kernel_prints_them)
{
	CHECK_ALL(endpoints);
}

#define KA       "wireguard: wg0: Sending keepalive packet to peer 1 (192.0.2.1:51820)"
#define KAJ      "\"iface\":\"wg0\",\"peer\":1," V4J "}"
#define KA_LOCAL "{\"event\":\"keepalive_sent\"," KAJ
#define KA_HOST  "{\"event\":\"keepalive_sent\",\"host\":\"gw1\"," KAJ

/* Every envelope of spec §8 and every decoration of §7. */
static const struct case_ envelopes[] = {
        {KA, KA_LOCAL},
        {KA "\n", KA_LOCAL},
        {KA "\r\n", KA_LOCAL},
        {"7,10234,9321254512,-;" KA, KA_LOCAL},
        {"7,10250,9349942864,-,caller=T2301;" KA, KA_LOCAL},
        {"7,1,2,c;" KA, KA_LOCAL},
        {"[ 9321.505509] " KA, KA_LOCAL},
        {"[   27.252969] " KA, KA_LOCAL},
        {"<7>[ 5123.456789] " KA, KA_LOCAL},
        {"<7>[ 5123.456789][ T1234] " KA, KA_LOCAL},
        {"[ C3] " KA, KA_LOCAL},
        {"<7>" KA, KA_LOCAL},
        {"kern  :debug : [ 9321.505509] " KA, KA_LOCAL},
        {"<7>Aug 22 11:31:16 gw1 kernel: " KA, KA_HOST},
        {"<7>Sep  3 04:08:12 gw1 kernel: [86025.006222] " KA, KA_HOST},
        {"<7>Feb 29 04:08:12 gw1 kernel: " KA, KA_HOST},
        {"Aug 22 11:31:16 gw1 kernel: " KA, KA_HOST},
        {"<7>Aug 22 11:31:16 gw1 kernel[0]: " KA, KA_HOST},
        {"<7>2025-08-22T11:31:16.482913+02:00 gw1 kernel: " KA, KA_HOST},
        {"<7>2024-02-29T11:31:16Z gw1 kernel: " KA, KA_HOST},
        {"2025-08-22T11:31:16.482913-03:30 gw1 kernel: " KA, KA_HOST},
        {"<7>1 2025-08-22T11:31:16.482913+02:00 gw1 kernel - - -  " KA, KA_HOST},
        {"<7>1 2025-08-22T11:31:16.482913+02:00 gw1 kernel - - - " KA "\n", KA_HOST},
        {"<7>1 2025-08-22T11:31:16.482913+02:00 gw1 kernel - - - [ 5128.457142] " KA, KA_HOST},
        {"<7>1 2025-08-22T11:31:16+02:00 gw1 kernel 1 ID [x@1 a=\"b]\\\"\"][y@2] " KA, KA_HOST},
        {"<7>1 - - kernel - - - " KA, KA_LOCAL},
        {"<7>Aug 22 11:33:41 gw1 kernel: message repeated 4 times: [ " KA "]",
         "{\"event\":\"keepalive_sent\",\"host\":\"gw1\",\"iface\":\"wg0\",\"peer\":1," V4J
         ",\"repeat\":4}"},
        /* Decorations. */
        {"wg_packet_send_keepalive: " KA, KA_LOCAL},
        {"wireguard: " KA, KA_LOCAL},
        {"237: " KA, KA_LOCAL},
        {"wireguard:wg_packet_send_keepalive:237: " KA, KA_LOCAL},
        {"[4711] " KA, KA_LOCAL},
        {"<intr> " KA, KA_LOCAL},
        {"<intr> wireguard:wg_packet_consume_data_done:369: " KA, KA_LOCAL},
        {"[2301] wireguard:wg_packet_send_keepalive:drivers/net/wireguard/send.c:31: " KA,
         KA_LOCAL},
        {"drivers/net/wireguard/send.c: " KA, KA_LOCAL},
        /* An interface called "wireguard", with and without the m flag. */
        {"wireguard: wireguard: Peer 3 created",
         "{\"event\":\"peer_created\",\"iface\":\"wireguard\",\"peer\":3}"},
        {"wireguard: wireguard: wireguard: Peer 3 created",
         "{\"event\":\"peer_created\",\"iface\":\"wireguard\",\"peer\":3}"},
        /* /dev/kmsg escapes, only in /dev/kmsg records. */
        {"7,1,2,-;wireguard: wg-\\xc3\\xbc: Peer 3 created",
         "{\"event\":\"peer_created\",\"iface\":\"wg-\xc3\xbc\",\"peer\":3}"},
        {"wireguard: wg\\x: Peer 3 created",
         "{\"event\":\"peer_created\",\"iface\":\"wg\\\\x\",\"peer\":3}"},
        {"wireguard: w\xff: Peer 3 created",
         "{\"event\":\"peer_created\",\"iface\":\"w\\u00ff\",\"peer\":3}"},
        {"wireguard: w\"g: Peer 3 created",
         "{\"event\":\"peer_created\",\"iface\":\"w\\\"g\",\"peer\":3}"},
        {"wireguard: 123456789012345: Peer 3 created",
         "{\"event\":\"peer_created\",\"iface\":\"123456789012345\",\"peer\":3}"},
};

Test(parse, every_envelope_and_decoration)
{
	CHECK_ALL(envelopes);
}

#define R(reason) "{\"reject\":\"" reason "\"}"

/* Every rejection reason. */
static const struct case_ rejections[] = {
        {"", R("not_wireguard")},
        {" SUBSYSTEM=net", R("not_wireguard")},
        {"e1000e 0000:00:19.0 eth0: NIC Link is Up", R("not_wireguard")},
        {"[647511.961487] WARNING: CPU: 5 PID: 1187 at drivers/net/wireguard/peer.c:114",
         R("not_wireguard")},
        {"Somehow a wrong type of packet wound up in the handshake queue!", R("not_wireguard")},
        {"<7>Aug 22 11:31:16 gw1 sshd[80]: " KA, R("not_wireguard")},
        {"<7>1 2025-08-22T11:31:16Z gw1 wgmon - - - " KA, R("not_wireguard")},
        {"wireguard: allowedips self-tests: pass", R("bad_iface")},
        {P "Unknown message from 1.2.3.4:5 encountered, packet dropped", R("unknown_message")},
        {P "Sending keepalive packet to peer 1 (" V4 ") extra", R("unknown_message")},
        {"wireguard: wg 0: Peer 3 created", R("bad_iface")},
        {"wireguard: wg/0: Peer 3 created", R("bad_iface")},
        {"wireguard: 1234567890123456: Peer 3 created", R("bad_iface")},
        {"wireguard: : Peer 3 created", R("bad_iface")},
        {"wireguard: ..: Peer 3 created", R("bad_iface")},
        {"wireguard: wg0:Peer 3 created", R("bad_iface")},
        {"7,1,2,-;wireguard: wg\\x3: Peer 3 created", R("bad_iface")},
        {P "Peer 18446744073709551616 created", R("bad_number")},
        {P "Peer 01 created", R("bad_number")},
        {P "Peer +1 created", R("bad_number")},
        {P "Peer -1 created", R("bad_number")},
        {P "Peer 0x1f created", R("bad_number")},
        {P "Peer 1,000 created", R("bad_number")},
        {P "No route to " V4 ", error -2147483649", R("bad_number")},
        {P "No route to " V4 ", error 2147483648", R("bad_number")},
        {P "Peer 1 (1.2.3:4) destroyed", R("bad_endpoint")},
        {"<7>Aug 32 11:31:16 gw1 kernel: " KA, R("bad_envelope")},
        {"<7>Feb 30 11:31:16 gw1 kernel: " KA, R("bad_envelope")},
        {"<7>Aug 22 24:31:16 gw1 kernel: " KA, R("bad_envelope")},
        {"<7>2023-02-29T11:31:16Z gw1 kernel: " KA, R("bad_envelope")},
        {"<7>2024-13-01T11:31:16Z gw1 kernel: " KA, R("bad_envelope")},
        {"<7>2024-01-01T11:61:16Z gw1 kernel: " KA, R("bad_envelope")},
        {"<7>2024-01-01T11:31:16+25:00 gw1 kernel: " KA, R("bad_envelope")},
        {"<192>Aug 22 11:31:16 gw1 kernel: " KA, R("bad_envelope")},
        {"<07>Aug 22 11:31:16 gw1 kernel: " KA, R("bad_envelope")},
        {"<7Aug 22 11:31:16 gw1 kernel: " KA, R("bad_envelope")},
        {"7;20608;" KA, R("bad_envelope")},
        {"7,1,2;" KA, R("bad_envelope")},
        {"<87>Aug 22 11:31:16 gw1 kernel: " KA, R("spoofed_facility")},
        {"<15>1 2025-08-22T11:31:16Z gw1 kernel - - - " KA, R("spoofed_facility")},
        {"14,1,2,-;" KA, R("spoofed_facility")},
        {"user  :debug : " KA, R("spoofed_facility")},
        {P "Peer 684821273", R("truncated")},
        {P "Could not decrypt invalid cook", R("truncated")},
        {P "Sending keepalive packet to peer 1 ([::2", R("truncated")},
        {"wireguard: wg0", R("truncated")},
        {"<7>Aug 22 11:31:16 gw1 kernel: message repeated 4 times: [ " KA, R("truncated")},
};

Test(parse, every_rejection_reason)
{
	CHECK_ALL(rejections);
}

Test(parse, too_long_and_the_limit)
{
	static char line[PARSE_LINE_MAX + 2];
	struct parse_event ev;
	size_t prefix = strlen(P "Peer 1 created");

	memset(line, ' ', sizeof(line));
	memcpy(line, P "Peer 1 created", prefix);
	cr_expect_eq(parse_line(line, PARSE_LINE_MAX + 1, &ev), PARSE_REJECT_TOO_LONG);
	/* At the limit, it is parsed (and the trailing spaces make it unknown). */
	cr_expect_eq(parse_line(line, PARSE_LINE_MAX, &ev), PARSE_REJECT_UNKNOWN_MESSAGE);
	cr_expect_eq(parse_line(line, prefix, &ev), PARSE_OK);
}

Test(parse, nul_bytes_never_crash_or_pass)
{
	static const char line[] = P "Peer 1\0 created";
	struct parse_event ev;

	cr_expect_neq(parse_line(line, sizeof(line) - 1, &ev), PARSE_OK);
}

Test(parse, binary_fields_for_the_hot_path)
{
	static const char line[] = "<7>Aug 22 11:31:16 gw1 kernel: message repeated 3 times: [ " P
	                           "Handshake for peer 9 ([2001:db8::7]:51820/1048575%3) did not "
	                           "complete after 5 seconds, retrying (try 17)]";
	struct parse_event ev;

	cr_assert_eq(parse_line(line, sizeof(line) - 1, &ev), PARSE_OK);
	cr_expect_eq(ev.kind, PARSE_EV_HANDSHAKE_RETRY);
	cr_expect_eq(ev.peer, 9);
	cr_expect_eq(ev.repeat, 3);
	cr_expect_eq(ev.n[0], 5);
	cr_expect_eq(ev.n[1], 17);
	cr_expect_eq(ev.endpoint.af, PARSE_AF_INET6);
	cr_expect_eq(ev.endpoint.port, 51820);
	cr_expect_eq(ev.endpoint.flowinfo, 1048575);
	cr_expect_eq(ev.endpoint.scope, 3);
	cr_expect_eq(ev.endpoint.addr[0], 0x20);
	cr_expect_eq(ev.endpoint.addr[15], 7);
	cr_expect_eq(ev.host_len, 3);
	cr_expect(!memcmp(ev.host, "gw1", 3));
	cr_expect_str_eq(ev.iface, "wg0");
	cr_expect(ev.fields & PARSE_F_ENDPOINT);
	cr_expect(ev.fields & PARSE_F_PEER);
	cr_expect(!(ev.fields & PARSE_F_ADDR));
}

Test(parse, endpoint_format_round_trips)
{
	static const char *const texts[] = {"192.0.2.1:51820",
	                                    "[2001:db8::1]:51820/0%0",
	                                    "[::ffff:192.0.2.44]:1/0%0",
	                                    "[fe80::5efe:192.0.2.1]:2/3%4",
	                                    "[::]:0/0%0",
	                                    "[1:2:3:4:5:6:7:8]:9/0%0",
	                                    "[1::]:9/0%0",
	                                    "[1:0:2::3]:9/0%0",
	                                    "(einval)"};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char line[256], out[64];
		struct parse_event ev;

		snprintf(line, sizeof(line), P "Peer 1 (%s) destroyed", texts[i]);
		cr_assert_eq(parse_line(line, strlen(line), &ev), PARSE_OK, "%s", line);
		cr_assert(parse_endpoint_format(&ev.endpoint, PARSE_STYLE_ENDPOINT, out,
		                                sizeof(out)));
		cr_expect_str_eq(out, texts[i]);
	}
}

Test(parse, names)
{
	for (unsigned k = 1; k < PARSE_EV__COUNT; k++) {
		const char *name = parse_event_name(k);

		cr_assert(name);
		cr_expect_eq(parse_event_lookup(name, strlen(name)), k);
	}
	cr_expect_null(parse_event_name(PARSE_EV__COUNT));
	cr_expect_str_eq(parse_reject_name(PARSE_REJECT_TOO_LONG), "too_long");
	cr_expect_eq(parse_event_lookup("nope", 4), PARSE_EV_NONE);
}

Test(parse, worst_case_json_fits)
{
	char line[PARSE_LINE_MAX], json[PARSE_JSON_MAX];
	struct parse_event ev;
	size_t n = 0;
	int rc;

	n += (size_t)sprintf(line, "<7>Aug 22 11:31:16 ");
	memset(line + n, 0xff, PARSE_HOST_MAX);
	n += PARSE_HOST_MAX;
	n += (size_t)sprintf(line + n, " kernel: wireguard: \x01\x02\x03\x04\x05\x06\x07\x08\x0e"
	                               "\x0f\x10\x11\x12\x13\x14: Peer 1 created");
	rc = parse_line(line, n, &ev);
	cr_assert_eq(rc, PARSE_OK);
	cr_expect_gt(parse_event_json(rc, &ev, json, sizeof(json)), 1500);
	cr_expect_eq(parse_event_json(rc, &ev, json, 100), 0, "a short buffer is reported");
}
