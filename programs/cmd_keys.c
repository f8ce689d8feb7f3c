/*
 * cmd_keys.c - `veto keys create|list|revoke`: API keys for veto serve.
 *
 * A key is "veto_<id>_<secret>": the id (12 hex digits) is public and
 * names the key in logs and `list`; the secret (32 random bytes, base64url)
 * is shown once at creation and only its SHA-256 is stored, so a copy of
 * the database does not give anyone access. Keys act directly on the store
 * (the same --data/--db as the server); a running server sees new and
 * revoked keys within a second.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "api.h"
#include "store.h"

void cmd_keys_help(FILE *f)
{
	fputs("Usage: veto keys create --role ROLE [--banks A,B] [--rate N] [--name TEXT]\n"
	      "       veto keys list\n"
	      "       veto keys revoke KEY_ID\n"
	      "\n"
	      "Manage veto serve's API keys. Roles, each including the ones before it:\n"
	      "  hasher   hash uploads (/h/*)\n"
	      "  matcher  look up hashes and uploads (/m/*); never lists or reads banks\n"
	      "  curator  create, read and change banks and their content (/c/*, /v1)\n"
	      "  admin    everything, incl. /metrics and signal type settings\n"
	      "The key is printed once by create; only its hash is stored.\n"
	      "\n"
	      "Options:\n"
	      "  --data DIR     the server's data folder (default ./veto-data)\n"
	      "  --db URL       or its store: sqlite:PATH or postgresql://...\n"
	      "  --role ROLE    hasher, matcher, curator or admin (create)\n"
	      "  --banks LIST   limit the key to these banks (create; default all)\n"
	      "  --rate N       requests per second for this key (create; default the\n"
	      "                 server's --rate)\n"
	      "  --name TEXT    a label shown by list (create)\n"
	      "  --json         machine-readable output\n"
	      "  -h, --help     show this help\n",
	      f);
}

static int open_store(const char *data, const char *db, vs_store **s)
{
	char url[4096];
	veto_error err;
	if (db)
		snprintf(url, sizeof url, "%s", db);
	else
		snprintf(url, sizeof url, "sqlite:%s/veto.db", data);
	if (!db) {
		/* the server creates the folder; keys may be made before it runs */
		if (mkdir(data, 0700) && errno != EEXIST) {
			fprintf(stderr, "veto keys: cannot create the data folder %s\n", data);
			return CLI_FAIL;
		}
	}
	if (vs_open(s, url, 0, &err)) {
		fprintf(stderr, "veto keys: %s\n", err.message);
		return CLI_FAIL;
	}
	return 0;
}

static void b64url(const uint8_t *in, size_t n, char *out)
{
	static const char A[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = A[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = A[(acc << (6 - bits)) & 63];
	out[o] = 0;
}

int cmd_keys(int argc, char **argv)
{
	enum { O_DATA = 300, O_DB, O_ROLE, O_BANKS, O_RATE, O_NAME, O_JSON };
	static const struct option longopts[] = {
		{"data", required_argument, 0, O_DATA}, {"db", required_argument, 0, O_DB},
		{"role", required_argument, 0, O_ROLE}, {"banks", required_argument, 0, O_BANKS},
		{"rate", required_argument, 0, O_RATE}, {"name", required_argument, 0, O_NAME},
		{"json", no_argument, 0, O_JSON},       {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	const char *data = "veto-data", *db = NULL, *role = NULL, *banks = NULL, *name = NULL;
	double rate = 0;
	int json = 0, c;
	char *end;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': cmd_keys_help(stdout); return CLI_OK;
		case O_DATA: data = optarg; break;
		case O_DB: db = optarg; break;
		case O_ROLE: role = optarg; break;
		case O_BANKS: banks = optarg; break;
		case O_NAME: name = optarg; break;
		case O_JSON: json = 1; break;
		case O_RATE:
			rate = strtod(optarg, &end);
			if (*end || end == optarg || !(rate >= 0))
				return cli_usage("keys", "--rate: '%s' is not a number >= 0", optarg);
			break;
		default: return cli_getopt_error("keys", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage("keys", "missing action: create, list or revoke");
	const char *action = argv[optind++];
	vs_store *s = NULL;
	veto_error err;
	int rc = CLI_OK;
	if (!strcmp(action, "create")) {
		if (optind < argc)
			return cli_usage("keys", "create takes no arguments");
		if (!role || va_role_parse(role) == VA_ROLE_NONE)
			return cli_usage("keys", "create needs --role hasher, matcher, curator or admin");
		if (banks) {
			for (const char *p = banks; *p; p++)
				if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
				      *p == ','))
					return cli_usage("keys", "--banks: bank names are UPPER_WITH_UNDERSCORE, "
					                         "comma-separated");
		}
		if ((rc = open_store(data, db, &s)))
			return rc;
		uint8_t idb[6], secret[32];
		if (RAND_bytes(idb, sizeof idb) != 1 || RAND_bytes(secret, sizeof secret) != 1) {
			fprintf(stderr, "veto keys: no randomness available\n");
			vs_close(s);
			return CLI_FAIL;
		}
		char id[13], sec[64], token[96];
		for (int i = 0; i < 6; i++)
			snprintf(id + 2 * i, 3, "%02x", idb[i]);
		b64url(secret, sizeof secret, sec);
		snprintf(token, sizeof token, "veto_%s_%s", id, sec);
		vs_key k;
		memset(&k, 0, sizeof k);
		k.key_id = id;
		SHA256((const unsigned char *)sec, strlen(sec), k.secret_hash);
		k.role = (char *)role;
		k.banks = (char *)banks;
		k.rate = rate;
		k.name = (char *)name;
		k.created = (int64_t)time(NULL);
		if (vs_key_create(s, &k, &err)) {
			fprintf(stderr, "veto keys: %s\n", err.message);
			rc = CLI_FAIL;
		} else if (json) {
			json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:f}", "key", token, "key_id", id, "role",
			                      role, "banks", banks ? json_string(banks) : json_null(),
			                      "rate", rate);
			json_dumpf(o, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
			json_decref(o);
		} else {
			printf("%s\n", token);
			fprintf(stderr, "veto keys: created key %s (%s%s%s); it is shown only now\n", id,
			        role, banks ? ", banks " : "", banks ? banks : "");
		}
	} else if (!strcmp(action, "list")) {
		if (optind < argc)
			return cli_usage("keys", "list takes no arguments");
		if ((rc = open_store(data, db, &s)))
			return rc;
		vs_key *k = NULL;
		size_t n = 0;
		if (vs_key_list(s, &k, &n, &err)) {
			fprintf(stderr, "veto keys: %s\n", err.message);
			rc = CLI_FAIL;
		} else if (json) {
			json_t *a = json_array();
			for (size_t i = 0; i < n; i++)
				json_array_append_new(
					a, json_pack("{s:s,s:s,s:o,s:f,s:o,s:I,s:o}", "key_id", k[i].key_id,
				                 "role", k[i].role ? k[i].role : "",
				                 "banks", k[i].banks ? json_string(k[i].banks) : json_null(),
				                 "rate", k[i].rate,
				                 "name", k[i].name ? json_string(k[i].name) : json_null(),
				                 "created", (json_int_t)k[i].created,
				                 "revoked", k[i].revoked ? json_integer(k[i].revoked)
				                                         : json_null()));
			json_dumpf(a, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
			json_decref(a);
		} else {
			printf("%-14s %-8s %-9s %-20s %s\n", "KEY_ID", "ROLE", "STATE", "BANKS", "NAME");
			for (size_t i = 0; i < n; i++)
				printf("%-14s %-8s %-9s %-20s %s\n", k[i].key_id, k[i].role ? k[i].role : "",
				       k[i].revoked ? "revoked" : "active", k[i].banks ? k[i].banks : "(all)",
				       k[i].name ? k[i].name : "");
		}
		vs_keys_free(k, n);
	} else if (!strcmp(action, "revoke")) {
		if (optind != argc - 1)
			return cli_usage("keys", "revoke takes one KEY_ID");
		if ((rc = open_store(data, db, &s)))
			return rc;
		const char *id = argv[optind];
		if (!strncmp(id, "veto_", 5)) /* a whole key pasted: take its id */
			id += 5;
		char idbuf[40];
		snprintf(idbuf, sizeof idbuf, "%.*s", (int)strcspn(id, "_"), id);
		if (vs_key_revoke(s, idbuf, &err)) {
			fprintf(stderr, "veto keys: %s\n", err.message);
			rc = CLI_FAIL;
		} else {
			fprintf(stderr, "veto keys: revoked %s\n", idbuf);
		}
	} else {
		return cli_usage("keys", "unknown action '%s' (create, list or revoke)", action);
	}
	vs_close(s);
	return rc;
}
