/*
 * cmd_signals.c - `veto signals [--json] [--trust PEM] PATH...`: evidence
 * that a file is AI-generated or edited, for a person reviewing a report.
 *
 * A thin shell over veto_signals_file (include/veto.h): the library builds
 * the whole report; this file prints either that JSON (one object per
 * file, as a JSON array when there are several, so the output is always
 * one JSON document) or a short summary per file: AI declared or not and
 * by which evidence, the C2PA state and signer, the generator records and
 * watermarks, and what was not validated. Exit status: 0 when every file
 * was read and reported (whatever it says: an invalid C2PA manifest is a
 * finding, not a failure of the tool), 1 when some file could not be read
 * or is no format veto reads, 2 for usage errors.
 */
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROGRESS_MIN_FILES 20

enum { OPT_JSON = OPT_FIRST_FREE, OPT_TRUST, OPT_MANIFEST, OPT_NO_WATERMARK, OPT_NO_STEALTH,
       OPT_FETCH_REMOTE };

void cmd_signals_help(FILE *f)
{
	fprintf(f,
	        "Usage: veto signals [OPTIONS] PATH...\n"
	        "PATH: files, directories (walked recursively; files that are no format\n"
	        "veto reads are skipped) or - (a list of paths on stdin).\n"
	        "\n"
	        "Report the evidence a file carries about where it came from and whether\n"
	        "it declares itself AI-generated:\n"
	        "  C2PA manifests (JPEG, PNG, WebP, GIF, TIFF, MP4/HEIC/AVIF, .c2pa stores):\n"
	        "    claim signature, certificates, time-stamps, every hashed assertion and\n"
	        "    the hash binding to the content, with c2pa-rs's status codes, and the\n"
	        "    digitalSourceType each action declares;\n"
	        "  metadata: XMP/IPTC DigitalSourceType, EXIF, and the generator records of\n"
	        "    Stable Diffusion front ends (AUTOMATIC1111 incl. its alpha \"stealth\"\n"
	        "    pixels, ComfyUI, Fooocus, InvokeAI, NovelAI);\n"
	        "  watermarks: the invisible-watermark dwtDct payloads of SD1, SD2, SDXL.\n"
	        "Each signal says what kind of evidence it is: c2pa-signed-verified,\n"
	        "c2pa-signed-untrusted, c2pa-signed-invalid, unsigned-metadata or\n"
	        "statistical-watermark. Signals are evidence for a person, not a verdict:\n"
	        "metadata can be stripped or forged.\n"
	        "\n"
	        "C2PA states: valid (intact and the signer chains to --trust),\n"
	        "untrusted-but-intact (intact, signer not on the trust list, or no list),\n"
	        "invalid (a signature, hash or binding failed).\n"
	        "\n"
	        "Options:\n"
	        "      --json            print the full report as JSON (an array when more\n"
	        "                        than one PATH)\n"
	        "      --trust PEM       trust anchors for C2PA signers (a PEM bundle);\n"
	        "                        without it no signer is trusted\n"
	        "      --manifest FILE   a .c2pa manifest store for the (single) PATH, e.g. a\n"
	        "                        remote manifest you downloaded; by default\n"
	        "                        PATH-without-extension.c2pa is used if it exists\n"
	        "      --fetch-remote    when a file points at a remote manifest (XMP\n"
	        "                        dcterms:provenance) and embeds none, download it\n"
	        "                        (http/https, 30 s, 64 MiB cap, kept in memory) and\n"
	        "                        validate it against the file; off by default: the\n"
	        "                        manifest's host learns that someone looked\n"
	        "      --no-watermark    skip the watermark decoder\n"
	        "      --no-stealth      skip the A1111 stealth-pixel reader\n"
	        "      --max-bytes N     refuse files larger than N (default 1G)\n"
	        "  -h, --help            show this help\n"
	        "\n"
	        "Remote manifests (XMP dcterms:provenance) are reported and only fetched\n"
	        "with --fetch-remote.\n"
	        "Exit status: 0 all files reported, 1 a file could not be read, 2 usage.\n");
}

/* A string member, or `dflt` when absent. */
static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : dflt;
}

static void print_human(FILE *o, const char *path, const char *js)
{
	json_t *r = json_loads(js, 0, NULL);
	if (!r) {
		fprintf(o, "%s: (report unreadable)\n", path);
		return;
	}
	json_t *sum = json_object_get(r, "summary");
	fprintf(o, "%s: %s\n", path, json_string_value(json_object_get(sum, "headline")));
	json_t *c2pa = json_object_get(r, "c2pa");
	if (json_is_object(c2pa)) {
		const char *act = json_string_value(json_object_get(c2pa, "active_manifest"));
		json_t *m = act ? json_object_get(json_object_get(c2pa, "manifests"), act) : NULL;
		json_t *gen = json_object_get(m, "claim_generator");
		json_t *gi = json_array_get(json_object_get(m, "claim_generator_info"), 0);
		const char *g = json_string_value(gen);
		if (!g)
			g = json_string_value(json_object_get(gi, "name"));
		json_t *si = json_object_get(m, "signature_info");
		fprintf(o, "  c2pa: %s (%s store, %zu manifest%s)%s%s\n",
		        json_string_value(json_object_get(c2pa, "state")),
		        json_string_value(json_object_get(c2pa, "source")),
		        json_object_size(json_object_get(c2pa, "manifests")),
		        json_object_size(json_object_get(c2pa, "manifests")) == 1 ? "" : "s",
		        g ? ", generator " : "", g ? g : "");
		if (json_object_size(si))
			fprintf(o, "  signed by: %s, issuer %s, %s%s\n",
			        str_or(si, "common_name", "?"), str_or(si, "issuer", "?"),
			        str_or(si, "alg", "?"),
			        json_string_value(json_object_get(si, "time")) ? "" : ", no time-stamp");
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(c2pa, "validation_status"), i, v)
			if (strcmp(str_or(v, "code", ""), "signingCredential.untrusted"))
				fprintf(o, "  FAILED: %s %s\n", json_string_value(json_object_get(v, "code")),
			        str_or(v, "url", ""));
		json_array_foreach(json_object_get(c2pa, "ingredient_history"), i, v)
			fprintf(o, "  ingredient had already failed when it was added: %s %s\n",
			        str_or(v, "code", "?"), str_or(v, "url", ""));
		json_array_foreach(json_object_get(c2pa, "not_validated"), i, v)
			fprintf(o, "  not validated: %s (%s)\n", json_string_value(json_object_get(v, "what")),
			        json_string_value(json_object_get(v, "why")));
	}
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(r, "signals"), i, s) {
		const char *val = json_string_value(json_object_get(s, "value"));
		char shortv[121];
		snprintf(shortv, sizeof shortv, "%s", val ? val : "");
		for (char *p = shortv; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		fprintf(o, "  %s %s: %s%s [%s, %s]\n", json_is_true(json_object_get(s, "ai")) ? "AI" : "--",
		        json_string_value(json_object_get(s, "what")), shortv,
		        val && strlen(val) > 120 ? "..." : "",
		        json_string_value(json_object_get(s, "evidence")),
		        json_string_value(json_object_get(s, "source")));
	}
	const char *remote = json_string_value(json_object_get(r, "remote_manifest"));
	if (remote)
		fprintf(o, "  remote manifest: %s (not fetched)\n", remote);
	json_t *p;
	json_array_foreach(json_object_get(r, "problems"), i, p)
		fprintf(o, "  problem: %s\n", json_string_value(p));
	json_decref(r);
}

/* --fetch-remote: when the report says the manifest is remote, download
 * it and report again with it as the file's store. 0, or -1 after a
 * message (the first report is kept). */
static int refetch(const char *path, const veto_signals_options *o, veto_signals **r)
{
	veto_signals_summary sum;
	veto_signals_summary_get(*r, &sum);
	if (!sum.c2pa_state || strcmp(sum.c2pa_state, "remote-only"))
		return 0;
	json_t *j = json_loads(veto_signals_json(*r), 0, NULL);
	const char *url = json_string_value(json_object_get(j, "remote_manifest"));
	char why[600];
	uint8_t *store = NULL, *data = NULL;
	size_t slen = 0, dlen = 0;
	int ret = -1;
	veto_error err = {0};
	if (!url || cli_fetch_url(url, 64u << 20, &store, &slen, why, sizeof why) != 0) {
		fprintf(stderr, "veto: %s: remote manifest not fetched: %s\n", path, url ? why : "no URL");
		goto out;
	}
	if (veto_read_file(path, o->max_bytes, &data, &dlen, &err) != VETO_OK) {
		fprintf(stderr, "veto: %s\n", err.message);
		goto out;
	}
	veto_signals_options o2 = *o;
	o2.sidecar_source = "remote";
	o2.sidecar_url = url;
	veto_signals *r2 = NULL;
	if (veto_signals_buffer(data, dlen, path, store, slen, &o2, &r2, &err) != VETO_OK) {
		fprintf(stderr, "veto: %s\n", err.message);
		goto out;
	}
	veto_signals_free(*r);
	*r = r2;
	ret = 0;
out:
	free(store);
	free(data);
	json_decref(j);
	return ret;
}

int cmd_signals(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"trust", required_argument, NULL, OPT_TRUST},
		{"manifest", required_argument, NULL, OPT_MANIFEST},
		{"no-watermark", no_argument, NULL, OPT_NO_WATERMARK},
		{"no-stealth", no_argument, NULL, OPT_NO_STEALTH},
		{"fetch-remote", no_argument, NULL, OPT_FETCH_REMOTE},
		{"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int json = 0, fetch = 0, c;
	const char *trust_path = NULL, *manifest = NULL;
	veto_signals_options o;
	veto_signals_options_init(&o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = 1; break;
		case OPT_TRUST: trust_path = optarg; break;
		case OPT_MANIFEST: manifest = optarg; break;
		case OPT_NO_WATERMARK: o.watermark = 0; break;
		case OPT_NO_STEALTH: o.stealth = 0; break;
		case OPT_FETCH_REMOTE: fetch = 1; break;
		case OPT_MAX_BYTES:
			if (cli_parse_u64(optarg, SUFFIX_BINARY, &o.max_bytes) || !o.max_bytes)
				return cli_usage("signals", "--max-bytes: not a size: '%s'", optarg);
			break;
		case 'h': cmd_signals_help(stdout); return CLI_OK;
		default: return cli_getopt_error("signals", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage("signals", "no PATH given");
	veto_trust *trust = NULL;
	veto_error err = {0};
	if (trust_path) {
		if (veto_trust_load(trust_path, &trust, &err) != VETO_OK) {
			fprintf(stderr, "veto: %s\n", err.message);
			return CLI_FAIL;
		}
		o.trust = trust;
	}
	job_list jobs = {0};
	int rc = cli_walk_args("signals", (const char *const *)argv + optind, (size_t)(argc - optind),
	                       &jobs);
	if (rc != 0) {
		veto_trust_free(trust);
		return rc;
	}
	if (manifest && jobs.n != 1) {
		job_list_free(&jobs);
		veto_trust_free(trust);
		return cli_usage("signals", "--manifest applies to exactly one file");
	}
	progress bar;
	progress_init(&bar, isatty(STDERR_FILENO) && jobs.n > PROGRESS_MIN_FILES, jobs.n);
	int many = jobs.n > 1 || argc - optind > 1, first = 1;
	size_t skipped = 0;
	if (json && many)
		fputs("[\n", stdout);
	for (size_t i = 0; i < jobs.n; i++) {
		const job *jb = &jobs.v[i];
		progress_update(&bar, i, 0);
		if (jb->kind == JOB_ERROR || jb->kind == JOB_WARNING) {
			out_message(&bar, "%s", jb->msg);
			if (jb->kind == JOB_ERROR)
				rc = CLI_FAIL;
			continue;
		}
		veto_signals *r = NULL;
		memset(&err, 0, sizeof err);
		if (veto_signals_file(jb->path, manifest, &o, &r, &err) != VETO_OK) {
			/* files found inside a directory that are no format veto
			 * reads are skipped quietly, as `veto hash` does */
			if (jb->kind == JOB_FOUND && err.code == VETO_ERR_FORMAT) {
				skipped++;
				continue;
			}
			out_message(&bar, "%s", err.message);
			rc = CLI_FAIL;
			continue;
		}
		if (fetch && refetch(jb->path, &o, &r) != 0)
			rc = CLI_FAIL;
		progress_clear(&bar);
		if (json) {
			if (many && !first)
				fputs(",\n", stdout);
			fputs(veto_signals_json(r), stdout);
			fputc('\n', stdout);
		} else {
			print_human(stdout, jb->path, veto_signals_json(r));
		}
		first = 0;
		veto_signals_free(r);
	}
	progress_update(&bar, jobs.n, 1);
	progress_clear(&bar);
	if (json && many)
		fputs("]\n", stdout);
	if (skipped)
		out_message(NULL, "%zu file%s in directories skipped: not a format veto reads", skipped,
		            skipped == 1 ? "" : "s");
	job_list_free(&jobs);
	veto_trust_free(trust);
	return rc;
}
