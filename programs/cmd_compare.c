/*
 * cmd_compare.c - `veto compare A B`: the Hamming distance between two
 * PDQ hashes, each given as an image file or as 64 hex digits.
 *
 * Design: an argument is a hash when it is exactly 64 hex digits and no
 * file of that name exists (a file always wins, so any file can be
 * compared); anything else is hashed as an image file. With --dihedral,
 * A's eight rotations and flips are each compared with B and the closest
 * counts, which finds rotated or mirrored re-uploads; that needs A's pixels,
 * so A must be a file. Low quality is a warning in the output, not an error:
 * the distance is still right, only less meaningful. Exit statuses follow
 * cmp(1): 0 match, 1 no match, 2 trouble.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>

enum { OPT_THRESHOLD = OPT_FIRST_FREE, OPT_DIHEDRAL, OPT_JSON, OPT_MIN_QUALITY,
       OPT_MATCH_PERCENT };

void cmd_compare_help(FILE *f)
{
	fprintf(f,
	        "Usage: veto compare [OPTIONS] A B\n"
	        "\n"
	        "Compare two PDQ hashes and print their Hamming distance (0..256), the\n"
	        "qualities when known, and whether they match: distance <= threshold.\n"
	        "A and B are each an image file or a PDQ hash of 64 hex digits (a file of\n"
	        "that name, if there is one, is used as the file).\n"
	        "\n"
	        "Videos: A and B may each be a video file, a vPDQ text file (the output\n"
	        "of vpdq-hash-video or 'veto hash --format vpdq') or a .tmk file. Then\n"
	        "every signal both have is compared and reported:\n"
	        "  vpdq.query_percent   A's frames with a frame of B within --threshold\n"
	        "  vpdq.target_percent  B's frames with a frame of A within it\n"
	        "  (both de-duplicated, frames below --min-quality dropped; vPDQ matches\n"
	        "  when query_percent >= --match-percent: python-threatexchange's rule)\n"
	        "  tmk.level1, tmk.level2  TMK+PDQF scores; match when both >= 0.7\n"
	        "The videos match if any signal does. Video files are hashed with the\n"
	        "options of 'veto hash' (--every, default 1 s; --vpdq-size; --no-tmk;\n"
	        "--max-frames; --max-seconds).\n"
	        "\n"
	        "Options:\n"
	        "      --threshold N   match at distance <= N, 0..256 (default %d)\n"
	        "      --min-quality Q (videos) ignore frames below quality Q (default 50)\n"
	        "      --match-percent P  (videos) vPDQ match when at least P%% of A's\n"
	        "                      frames match (default 80)\n"
	        "      --dihedral      compare all 8 rotations and flips of A with B and\n"
	        "                      report the closest and which variant it was\n"
	        "                      (A must be an image file)\n"
	        "      --json          print one JSON object instead of text\n"
	        "      --pdq-cli512    hash files as pdq-photo-hasher does: images over\n"
	        "                      512 px wide or high are squashed to 512x512 first\n"
	        "      --fast          decode JPEGs at a reduced scale (not bit-exact)\n"
	        "      --auto-orient   apply the EXIF orientation before hashing\n"
	        "      --max-pixels N  refuse images with more pixels (default 200M;\n"
	        "                      suffixes k, M, G mean 10^3, 10^6, 10^9)\n"
	        "      --max-bytes N   refuse larger files (default 1G; suffixes k, M, G\n"
	        "                      mean KiB, MiB, GiB)\n"
	        "  -h, --help          show this help\n"
	        "\n"
	        "A quality below %d is reported as a warning: such hashes should not be\n"
	        "used for matching.\n"
	        "\n"
	        "Exit status: 0 if they match, 1 if they do not, 2 on errors.\n",
	        VETO_PDQ_MATCH_THRESHOLD, VETO_PDQ_MIN_QUALITY);
}

typedef struct operand {
	const char *arg;
	int is_file;
	veto_image_hashes h;   /* pdq always; the rest only for files */
} operand;

static int is_hex64(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]) || n >= VETO_PDQ_HEX_LEN)
			return 0;
	return n == VETO_PDQ_HEX_LEN;
}

static int all_hex(const char *s)
{
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return 0;
	return 1;
}

static int load(operand *op, const char *arg, const veto_hash_options *opts)
{
	veto_error err = {0};
	struct stat st;
	memset(op, 0, sizeof *op);
	op->arg = arg;
	int exists = stat(arg, &st) == 0;
	if (!exists && is_hex64(arg))
		return veto_pdq_from_hex(&op->h.pdq, arg, VETO_PDQ_HEX_LEN, &err) == VETO_OK ? 0 : -1;
	if (!exists && *arg && all_hex(arg)) {
		/* Most likely a mangled hash rather than a missing file. */
		out_message(NULL, "%s: no such file, and not a PDQ hash (%d hex digits, not %zu)",
		            arg, VETO_PDQ_HEX_LEN, strlen(arg));
		return -1;
	}
	op->is_file = 1;
	if (veto_hash_image_file(arg, opts, &op->h, &err) != VETO_OK) {
		out_message(NULL, "%s", err.message[0] ? err.message : arg);
		return -1;
	}
	return 0;
}

typedef struct result {
	int distance;
	int variant;   /* with --dihedral: A's closest variant, else -1 */
	int distances[VETO_DIH_COUNT];
	int threshold;
	int match;
	char warnings[2][160];
	int nwarnings;
} result;

static json_t *operand_json(const operand *op, int dihedral)
{
	char hex[VETO_PDQ_HEX_LEN + 1];
	json_t *o = json_object();
	if (!o)
		return NULL;
	int bad = json_object_set_new(o, "input", out_json_string(op->arg));
	bad |= json_object_set_new(o, "kind", json_string(op->is_file ? "file" : "hash"));
	if (op->is_file)
		bad |= json_object_set_new(o, "format", json_string(op->h.format ? op->h.format : "unknown"));
	veto_pdq_to_hex(&op->h.pdq, hex);
	bad |= json_object_set_new(o, "pdq", json_string(hex));
	if (op->is_file)
		bad |= json_object_set_new(o, "quality", json_integer(op->h.quality));
	if (dihedral && op->h.has_dihedral) {
		json_t *d = json_object();
		for (int i = 0; d && i < VETO_DIH_COUNT; i++) {
			veto_pdq_to_hex(&op->h.dihedral[i], hex);
			bad |= json_object_set_new(d, veto_dihedral_name(i), json_string(hex));
		}
		bad |= json_object_set_new(o, "dihedral", d);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int print_json(const operand *a, const operand *b, const result *r)
{
	json_t *o = json_object();
	if (!o)
		return -1;
	int bad = json_object_set_new(o, "a", operand_json(a, r->variant >= 0));
	bad |= json_object_set_new(o, "b", operand_json(b, 0));
	bad |= json_object_set_new(o, "distance", json_integer(r->distance));
	if (r->variant >= 0) {
		bad |= json_object_set_new(o, "variant", json_string(veto_dihedral_name(r->variant)));
		json_t *d = json_object();
		for (int i = 0; d && i < VETO_DIH_COUNT; i++)
			bad |= json_object_set_new(d, veto_dihedral_name(i), json_integer(r->distances[i]));
		bad |= json_object_set_new(o, "distances", d);
	}
	bad |= json_object_set_new(o, "threshold", json_integer(r->threshold));
	bad |= json_object_set_new(o, "match", json_boolean(r->match));
	json_t *w = json_array();
	for (int i = 0; w && i < r->nwarnings; i++)
		bad |= json_array_append_new(w, json_string(r->warnings[i]));
	bad |= json_object_set_new(o, "warnings", w);
	if (!bad)
		bad = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!bad)
		putchar('\n');
	json_decref(o);
	return bad ? -1 : 0;
}

static void print_operand(const char *name, const operand *op)
{
	char hex[VETO_PDQ_HEX_LEN + 1];
	if (op->is_file)
		printf("%s: %s\n", name, op->arg);
	veto_pdq_to_hex(&op->h.pdq, hex);
	printf("%s.pdq: %s\n", name, hex);
	if (op->is_file)
		printf("%s.quality: %d\n", name, op->h.quality);
}

static void print_text(const operand *a, const operand *b, const result *r)
{
	print_operand("a", a);
	print_operand("b", b);
	printf("distance: %d\n", r->distance);
	if (r->variant >= 0)
		printf("variant: %s\n", veto_dihedral_name(r->variant));
	printf("threshold: %d\n", r->threshold);
	printf("match: %s\n", r->match ? "yes" : "no");
	for (int i = 0; i < r->nwarnings; i++)
		printf("warning: %s\n", r->warnings[i]);
}

static void warn_quality(result *r, const char *name, const operand *op)
{
	if (op->is_file && op->h.quality < VETO_PDQ_MIN_QUALITY)
		snprintf(r->warnings[r->nwarnings++], sizeof r->warnings[0],
		         "%s has quality %d, below %d: PDQ matches on it are unreliable",
		         name, op->h.quality, VETO_PDQ_MIN_QUALITY);
}

int cmd_compare(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"threshold", required_argument, NULL, OPT_THRESHOLD},
		{"dihedral", no_argument, NULL, OPT_DIHEDRAL},
		{"json", no_argument, NULL, OPT_JSON},
		{"pdq-cli512", no_argument, NULL, OPT_PDQ_CLI512},
		{"fast", no_argument, NULL, OPT_FAST},
		{"auto-orient", no_argument, NULL, OPT_AUTO_ORIENT},
		{"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
		{"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
		{"min-quality", required_argument, NULL, OPT_MIN_QUALITY},
		{"match-percent", required_argument, NULL, OPT_MATCH_PERCENT},
		{"every", required_argument, NULL, OPT_EVERY},
		{"vpdq-size", required_argument, NULL, OPT_VPDQ_SIZE},
		{"tmk-dir", required_argument, NULL, OPT_TMK_DIR},
		{"no-tmk", no_argument, NULL, OPT_NO_TMK},
		{"max-frames", required_argument, NULL, OPT_MAX_FRAMES},
		{"max-seconds", required_argument, NULL, OPT_MAX_SECONDS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = "compare";
	cli_hash_flags flags = {0};
	const char *args[2];
	int nargs = 0, dihedral = 0, json = 0;
	uint64_t threshold = VETO_PDQ_MATCH_THRESHOLD, min_quality = VETO_VPDQ_QUALITY;
	double match_percent = VETO_VPDQ_MATCH_PERCENT;
	cli_video_flags vflags;
	cli_video_flags_init(&vflags);

	/* As in cmd_hash.c: operands are returned in place, options may follow. */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "-:h", longopts, NULL)) != -1) {
		int r = cli_hash_flag(cmd, c, optarg, &flags);
		if (r == 0)
			r = cli_video_flag(cmd, c, optarg, &vflags);
		if (r < 0)
			return CLI_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case 1:
			if (nargs == 2)
				return cli_usage(cmd, "too many arguments: '%s' (compare takes A and B)", optarg);
			args[nargs++] = optarg;
			break;
		case OPT_THRESHOLD:
			if (cli_parse_u64(optarg, SUFFIX_NONE, &threshold) != 0 || threshold > 256)
				return cli_usage(cmd, "--threshold: '%s' is not a number from 0 to 256", optarg);
			break;
		case OPT_DIHEDRAL: dihedral = 1; break;
		case OPT_JSON: json = 1; break;
		case OPT_MIN_QUALITY:
			if (cli_parse_u64(optarg, SUFFIX_NONE, &min_quality) != 0 || min_quality > 100)
				return cli_usage(cmd, "--min-quality: '%s' is not a number from 0 to 100", optarg);
			break;
		case OPT_MATCH_PERCENT: {
			char *end;
			errno = 0;
			match_percent = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(match_percent >= 0 && match_percent <= 100))
				return cli_usage(cmd, "--match-percent: '%s' is not a number from 0 to 100", optarg);
			break;
		}
		case 'h':
			cmd_compare_help(stdout);
			return CLI_OK;
		default:
			return cli_getopt_error(cmd, c, argv);
		}
	}
	for (; optind < argc; optind++) { /* after "--" */
		if (nargs == 2)
			return cli_usage(cmd, "too many arguments: '%s' (compare takes A and B)", argv[optind]);
		args[nargs++] = argv[optind];
	}
	if (nargs < 2)
		return cli_usage(cmd, "compare needs two arguments, A and B");
	veto_hash_options opts;
	if (cli_hash_options(cmd, &flags, &opts) != 0)
		return CLI_USAGE;
	opts.digests = 0;

	/* Videos (and their hash files) go their own way. */
	int kinds[2] = {KIND_UNKNOWN, KIND_UNKNOWN};
	for (int i = 0; i < 2; i++) {
		struct stat st;
		veto_error e;
		if (stat(args[i], &st) == 0 && S_ISREG(st.st_mode) &&
		    cli_sniff_file(args[i], &kinds[i], &e) != VETO_OK)
			kinds[i] = KIND_UNKNOWN;
	}
	int videoish[2];
	for (int i = 0; i < 2; i++)
		videoish[i] = kinds[i] == KIND_VIDEO || kinds[i] == KIND_VPDQ || kinds[i] == KIND_TMK;
	if (videoish[0] || videoish[1]) {
		if (!videoish[0] || !videoish[1]) {
			out_message(NULL, "%s is a %s and %s is not: compare videos with videos",
			            args[videoish[0] ? 0 : 1], cli_kind_name(kinds[videoish[0] ? 0 : 1]),
			            args[videoish[0] ? 1 : 0]);
			return CLI_TROUBLE;
		}
		if (dihedral)
			return cli_usage(cmd, "--dihedral is for images, not videos");
		veto_video_options vopts;
		cli_video_options(&vflags, &flags, &vopts);
		vopts.digests = 0;
		return compare_videos(cmd, args[0], kinds[0], args[1], kinds[1], &vflags, &vopts,
		                      (int)threshold, (int)min_quality, match_percent, json);
	}

	operand a, b;
	veto_hash_options aopts = opts;
	aopts.dihedral = dihedral;
	if (load(&a, args[0], &aopts) != 0)
		return CLI_TROUBLE;
	if (dihedral && !a.is_file)
		return cli_usage(cmd, "--dihedral needs A to be an image file, not a hash "
		                 "(the variants are computed from its pixels)");
	if (load(&b, args[1], &opts) != 0)
		return CLI_TROUBLE;

	result r;
	memset(&r, 0, sizeof r);
	r.threshold = (int)threshold;
	r.variant = -1;
	r.distance = veto_pdq_distance(&a.h.pdq, &b.h.pdq);
	if (dihedral) {
		/* Ties go to the earlier variant, so "original" wins when it can. */
		for (int i = 0; i < VETO_DIH_COUNT; i++) {
			r.distances[i] = veto_pdq_distance(&a.h.dihedral[i], &b.h.pdq);
			if (r.variant < 0 || r.distances[i] < r.distance)
				r.variant = i, r.distance = r.distances[i];
		}
	}
	r.match = r.distance <= r.threshold;
	warn_quality(&r, "a", &a);
	warn_quality(&r, "b", &b);

	if (json) {
		if (print_json(&a, &b, &r) != 0) {
			out_message(NULL, "out of memory formatting the JSON");
			return CLI_TROUBLE;
		}
	} else {
		print_text(&a, &b, &r);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		out_message(NULL, "error writing the output: %s", strerror(errno));
		return CLI_TROUBLE;
	}
	return r.match ? CLI_OK : CLI_FAIL;
}
