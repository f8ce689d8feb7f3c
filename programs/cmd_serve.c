/*
 * cmd_serve.c - `veto serve`: the HMA-compatible matching service. A thin
 * shell: options (from --config FILE first, then the command line, which
 * wins) become a vserve_options for server/serve.c, which does the rest.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

void cmd_serve_help(FILE *f)
{
	fputs("Usage: veto serve [OPTIONS]\n"
	      "\n"
	      "Run the matching service: HMA 1.1.x's HTTP API (/h, /m, /c) and veto's /v1,\n"
	      "over hash banks kept in SQLite (default, under --data) or PostgreSQL (--db).\n"
	      "Uploads are hashed in memory; media is never stored. Logs are JSON lines on\n"
	      "stderr. Stops cleanly on SIGINT/SIGTERM. See docs/serve.md.\n"
	      "\n"
	      "Options:\n"
	      "  --listen HOST:PORT     address to serve (default 127.0.0.1:8080; port 0 picks one)\n"
	      "  --data DIR             data folder: SQLite database and index snapshot\n"
	      "                         (default ./veto-data, created mode 0700)\n"
	      "  --db URL               store: sqlite:PATH, or postgresql://... for fleets\n"
	      "  --config FILE          read options from FILE: one 'name = value' per line\n"
	      "                         (names as the long options, '#' comments)\n"
	      "  --role LIST            what to serve: all (default), or a comma list of hasher,\n"
	      "                         matcher, curator. A matcher-only process opens the store\n"
	      "                         read-only (works on a streaming replica)\n"
	      "  --no-auth              no API keys: every caller is admin. Only on loopback\n"
	      "  --allow-hosts LIST     hosts (and subdomains) that ?url= may fetch from; without\n"
	      "                         it fetching by URL is refused\n"
	      "  --trust PEM            C2PA trust anchors (PEM bundle) for POST /v1/signals;\n"
	      "                         without it no C2PA signer is trusted\n"
	      "  --threads N            HTTP worker threads (default 2 per core)\n"
	      "  --max-body BYTES       largest request body, k/M/G suffixes (default 64M)\n"
	      "  --max-fetch BYTES      largest media fetched by URL (default 100M)\n"
	      "  --video-seconds S      time budget to hash one video (default 120)\n"
	      "  --rate N               requests/s per key for keys without their own (0: none)\n"
	      "  --conn-limit N         concurrent connections (default 1024)\n"
	      "  --per-ip-limit N       concurrent connections per client address (default 256)\n"
	      "  --idle-timeout S       close connections idle this long (default 10)\n"
	      "  --poll-ms N            how often to follow the store's changes (default 100)\n"
	      "  --snapshot-seconds N   save the index snapshot this often (default 60; 0: at exit)\n"
	      "  --rebuild-index        discard the index snapshot and rebuild from the store\n"
	      "  --log FILE             append the JSON log to FILE instead of stderr\n"
	      "  --ready-file FILE      write the bound port to FILE once serving\n"
	      "  -h, --help             show this help\n",
	      f);
}

enum {
	O_LISTEN = 300, O_DATA, O_DB, O_CONFIG, O_ROLE, O_NOAUTH, O_ALLOW, O_THREADS, O_MAXBODY,
	O_MAXFETCH, O_VIDSEC, O_RATE, O_CONNLIM, O_PERIP, O_IDLE, O_POLL, O_SNAP, O_REBUILD, O_LOG,
	O_READY, O_TRUST
};

static const struct option LONGOPTS[] = {
	{"listen", required_argument, 0, O_LISTEN},
	{"data", required_argument, 0, O_DATA},
	{"db", required_argument, 0, O_DB},
	{"config", required_argument, 0, O_CONFIG},
	{"role", required_argument, 0, O_ROLE},
	{"no-auth", no_argument, 0, O_NOAUTH},
	{"allow-hosts", required_argument, 0, O_ALLOW},
	{"trust", required_argument, 0, O_TRUST},
	{"threads", required_argument, 0, O_THREADS},
	{"max-body", required_argument, 0, O_MAXBODY},
	{"max-fetch", required_argument, 0, O_MAXFETCH},
	{"video-seconds", required_argument, 0, O_VIDSEC},
	{"rate", required_argument, 0, O_RATE},
	{"conn-limit", required_argument, 0, O_CONNLIM},
	{"per-ip-limit", required_argument, 0, O_PERIP},
	{"idle-timeout", required_argument, 0, O_IDLE},
	{"poll-ms", required_argument, 0, O_POLL},
	{"snapshot-seconds", required_argument, 0, O_SNAP},
	{"rebuild-index", no_argument, 0, O_REBUILD},
	{"log", required_argument, 0, O_LOG},
	{"ready-file", required_argument, 0, O_READY},
	{"help", no_argument, 0, 'h'},
	{0, 0, 0, 0},
};

typedef struct serve_args {
	vserve_options o;
	const char *log_path;
	char *owned[64];               /* strings from the config file */
	size_t nowned;
} serve_args;

static int num(const char *opt, const char *v, uint64_t max, uint64_t *out, enum cli_suffix s)
{
	if (cli_parse_u64(v, s, out) || *out > max)
		return cli_usage("serve", "%s: '%s' is not a number from 0 to %llu", opt, v,
		                 (unsigned long long)max);
	return 0;
}

static int apply(serve_args *a, int c, const char *v)
{
	uint64_t u;
	char *end;
	vserve_options *o = &a->o;
	switch (c) {
	case O_LISTEN: o->listen = v; break;
	case O_DATA: o->data_dir = v; break;
	case O_DB: o->db_url = v; break;
	case O_ROLE: {
		unsigned serve = 0;
		char buf[128];
		snprintf(buf, sizeof buf, "%s", v);
		char *save = NULL;
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (!strcmp(t, "all"))
				serve |= VA_SERVE_ALL;
			else if (!strcmp(t, "hasher"))
				serve |= VA_SERVE_HASHER;
			else if (!strcmp(t, "matcher"))
				serve |= VA_SERVE_MATCHER;
			else if (!strcmp(t, "curator"))
				serve |= VA_SERVE_CURATOR;
			else
				return cli_usage("serve", "--role: unknown role '%s' (all, hasher, matcher, "
				                          "curator)", t);
		}
		if (!serve)
			return cli_usage("serve", "--role: empty");
		o->api.serve = serve;
		break;
	}
	case O_NOAUTH: o->api.no_auth = 1; break;
	case O_ALLOW: o->api.allow_hosts = v; break;
	case O_TRUST: o->api.trust_path = v; break;
	case O_THREADS:
		if (num("--threads", v, 1024, &u, SUFFIX_NONE)) return CLI_USAGE;
		o->threads = (int)u;
		break;
	case O_MAXBODY:
		if (num("--max-body", v, 1ull << 32, &u, SUFFIX_BINARY)) return CLI_USAGE;
		o->api.max_body = u;
		break;
	case O_MAXFETCH:
		if (num("--max-fetch", v, 1ull << 32, &u, SUFFIX_BINARY)) return CLI_USAGE;
		o->api.max_fetch = u;
		break;
	case O_VIDSEC:
		o->api.video_seconds = strtod(v, &end);
		if (*end || end == v || !(o->api.video_seconds > 0))
			return cli_usage("serve", "--video-seconds: '%s' is not a positive number", v);
		break;
	case O_RATE:
		o->api.default_rate = strtod(v, &end);
		if (*end || end == v || !(o->api.default_rate >= 0))
			return cli_usage("serve", "--rate: '%s' is not a number >= 0", v);
		break;
	case O_CONNLIM:
		if (num("--conn-limit", v, 1000000, &u, SUFFIX_NONE) || !u) return CLI_USAGE;
		o->conn_limit = (unsigned)u;
		break;
	case O_PERIP:
		if (num("--per-ip-limit", v, 1000000, &u, SUFFIX_NONE)) return CLI_USAGE;
		o->per_ip_limit = (unsigned)u;
		break;
	case O_IDLE:
		if (num("--idle-timeout", v, 86400, &u, SUFFIX_NONE)) return CLI_USAGE;
		o->idle_timeout = (unsigned)u;
		break;
	case O_POLL:
		if (num("--poll-ms", v, 60000, &u, SUFFIX_NONE) || !u) return CLI_USAGE;
		o->poll_ms = (int)u;
		break;
	case O_SNAP:
		if (num("--snapshot-seconds", v, 86400 * 7, &u, SUFFIX_NONE)) return CLI_USAGE;
		o->snapshot_seconds = (int)u;
		break;
	case O_REBUILD: o->rebuild = 1; break;
	case O_LOG: a->log_path = v; break;
	case O_READY: o->ready_file = v; break;
	default: return CLI_USAGE;
	}
	return 0;
}

static int read_config(serve_args *a, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "veto serve: cannot read --config %s: %s\n", path, strerror(errno));
		return CLI_FAIL;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	while (!rc && fgets(line, sizeof line, f)) {
		lineno++;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t l = strlen(p);
		while (l && (p[l - 1] == '\n' || p[l - 1] == '\r' || p[l - 1] == ' '))
			p[--l] = 0;
		if (!*p || *p == '#')
			continue;
		char *eq = strchr(p, '=');
		char *name = p, *val = NULL;
		if (eq) {
			*eq = 0;
			val = eq + 1;
			while (*val == ' ' || *val == '\t')
				val++;
		}
		size_t nl = strlen(name);
		while (nl && (name[nl - 1] == ' ' || name[nl - 1] == '\t'))
			name[--nl] = 0;
		const struct option *opt = NULL;
		for (const struct option *o = LONGOPTS; o->name; o++)
			if (!strcmp(o->name, name) && strcmp(name, "config") && strcmp(name, "help"))
				opt = o;
		if (!opt) {
			fprintf(stderr, "veto serve: %s:%d: unknown option '%s'\n", path, lineno, name);
			rc = CLI_USAGE;
			break;
		}
		if (opt->has_arg == no_argument) {
			if (val && strcmp(val, "true") && strcmp(val, "yes") && strcmp(val, "1")) {
				if (!strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "0"))
					continue;
				fprintf(stderr, "veto serve: %s:%d: '%s' takes true or false\n", path, lineno,
				        name);
				rc = CLI_USAGE;
				break;
			}
			rc = apply(a, opt->val, NULL);
		} else {
			if (!val || !*val) {
				fprintf(stderr, "veto serve: %s:%d: '%s' needs a value\n", path, lineno, name);
				rc = CLI_USAGE;
				break;
			}
			if (a->nowned >= sizeof a->owned / sizeof *a->owned) {
				fprintf(stderr, "veto serve: %s: too many lines\n", path);
				rc = CLI_USAGE;
				break;
			}
			char *copy = strdup(val);
			a->owned[a->nowned++] = copy;
			rc = apply(a, opt->val, copy);
		}
	}
	fclose(f);
	return rc;
}

int cmd_serve(int argc, char **argv)
{
	serve_args a;
	memset(&a, 0, sizeof a);
	vserve_options_init(&a.o);
	int c, rc = 0;
	/* pass 1: --config and --help; pass 2: everything else (wins) */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", LONGOPTS, NULL)) != -1) {
		if (c == 'h') {
			cmd_serve_help(stdout);
			return CLI_OK;
		}
		if (c == '?' || c == ':')
			return cli_getopt_error("serve", c, argv);
		if (c == O_CONFIG && (rc = read_config(&a, optarg)))
			goto out;
	}
	if (optind < argc) {
		rc = cli_usage("serve", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", LONGOPTS, NULL)) != -1)
		if (c != O_CONFIG && (rc = apply(&a, c, optarg)))
			goto out;
	if (a.log_path) {
		a.o.log = fopen(a.log_path, "a");
		if (!a.o.log) {
			fprintf(stderr, "veto serve: cannot open --log %s: %s\n", a.log_path,
			        strerror(errno));
			rc = CLI_FAIL;
			goto out;
		}
	}
	veto_error err;
	if (vserve_run(&a.o, &err)) {
		vlog(a.o.log, "error", "cannot serve", NULL);
		fprintf(stderr, "veto serve: %s\n", err.message);
		rc = CLI_FAIL;
	}
	if (a.log_path && a.o.log)
		fclose(a.o.log);
out:
	for (size_t i = 0; i < a.nowned; i++)
		free(a.owned[i]);
	return rc;
}
