/*
 * veto.c - main() of the veto command-line tool: dispatch to a command,
 * top-level help and version, and the helpers all commands share.
 *
 * Design: `veto COMMAND [ARGS]`. main() looks only at argv[1] (a command,
 * --help or --version) and hands the rest to the command, which parses its
 * own options with getopt_long. Exit statuses follow diff(1): 0 success,
 * 1 failure (or "no match"), 2 trouble (usage errors). The library never
 * prints; everything users see is written here and in the commands.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	void (*help)(FILE *f);
} command;

static const command commands[] = {
	{"hash", "hash image and video files and directories", cmd_hash, cmd_hash_help},
	{"compare", "compare two images or PDQ hashes, or two videos (vPDQ, TMK)", cmd_compare,
	 cmd_compare_help},
	{"index", "build, add to, delete from or describe a bank of hashes (.vidx)", cmd_index,
	 cmd_index_help},
	{"match", "match images, videos or hash lists against a bank", cmd_match, cmd_match_help},
	{"serve", "run the HMA-compatible matching service (HTTP, SQLite/PostgreSQL)", cmd_serve,
	 cmd_serve_help},
	{"keys", "create, list or revoke the service's API keys", cmd_keys, cmd_keys_help},
	{"signals", "evidence that a file is AI-generated or edited: C2PA, metadata, watermarks",
	 cmd_signals, cmd_signals_help},
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

static void main_help(FILE *f)
{
	fputs("Usage: veto COMMAND [OPTIONS] [ARGS]\n"
	      "\n"
	      "Perceptual and exact hashes of images (PDQ, MD5, SHA-256) and videos (vPDQ,\n"
	      "TMK+PDQF, MD5, SHA-256), bit-compatible with Meta ThreatExchange's\n"
	      "reference hashers, for matching against banks of hashes of non-consensual\n"
	      "intimate imagery.\n"
	      "\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
	      "Options:\n"
	      "  -h, --help     show this help\n"
	      "      --version  show the version\n"
	      "\n"
	      "Run 'veto help COMMAND' or 'veto COMMAND --help' for a command's options.\n", f);
}

static const command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs("veto: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\nTry 'veto %s --help' for more information.\n", cmd);
	else
		fputs("\nTry 'veto --help' for more information.\n", stderr);
	return CLI_USAGE;
}

int cli_getopt_error(const char *cmd, int c, char **argv)
{
	/* getopt_long has advanced optind past the offending long option;
	 * for a short one inside a bundle ("-qx") only optopt is reliable. */
	const char *arg = optind > 0 ? argv[optind - 1] : "?";
	int is_long = !strncmp(arg, "--", 2);
	if (c == ':') {
		if (optopt > 0 && optopt < 256 && !is_long)
			return cli_usage(cmd, "option '-%c' needs an argument", optopt);
		return cli_usage(cmd, "option '%s' needs an argument", arg);
	}
	if (optopt != 0 && is_long && strchr(arg, '='))
		return cli_usage(cmd, "option '%.*s' takes no argument",
		                 (int)(strchr(arg, '=') - arg), arg);
	if (optopt > 0 && optopt < 256)
		return cli_usage(cmd, "unknown option '-%c'", optopt);
	return cli_usage(cmd, "unknown or ambiguous option '%s'", arg);
}

int cli_parse_u64(const char *s, enum cli_suffix suffix, uint64_t *out)
{
	/* strtoull would accept leading spaces and a minus sign (negating the
	 * value), so insist on a digit first. */
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -1;
	if (*end) {
		if (suffix == SUFFIX_NONE || end[1] != '\0')
			return -1;
		int power;
		switch (*end) {
		case 'k': case 'K': power = 1; break;
		case 'm': case 'M': power = 2; break;
		case 'g': case 'G': power = 3; break;
		default: return -1;
		}
		for (int i = 0; i < power; i++) {
			if (v > UINT64_MAX / (unsigned)suffix)
				return -1;
			v *= (unsigned)suffix;
		}
	}
	*out = (uint64_t)v;
	return 0;
}

int cli_hash_flag(const char *cmd, int c, const char *arg, cli_hash_flags *f)
{
	uint64_t v;
	switch (c) {
	case OPT_PDQ_CLI512: f->cli512 = 1; return 1;
	case OPT_FAST: f->fast = 1; return 1;
	case OPT_AUTO_ORIENT: f->auto_orient = 1; return 1;
	case OPT_MAX_PIXELS:
		/* Pixels count in megapixels, so the suffixes are decimal. */
		if (cli_parse_u64(arg, SUFFIX_DECIMAL, &v) != 0 || v == 0) {
			cli_usage(cmd, "--max-pixels: '%s' is not a positive number "
			          "(suffixes k, M, G are 10^3, 10^6, 10^9)", arg);
			return -1;
		}
		f->max_pixels = v;
		return 1;
	case OPT_MAX_BYTES:
		if (cli_parse_u64(arg, SUFFIX_BINARY, &v) != 0 || v == 0) {
			cli_usage(cmd, "--max-bytes: '%s' is not a positive number "
			          "(suffixes k, M, G are KiB, MiB, GiB)", arg);
			return -1;
		}
		f->max_bytes = v;
		return 1;
	default:
		return 0;
	}
}

int cli_hash_options(const char *cmd, const cli_hash_flags *f, veto_hash_options *o)
{
	if (f->cli512 && f->fast) {
		cli_usage(cmd, "--pdq-cli512 and --fast cannot be used together");
		return -1;
	}
	veto_hash_options_init(o);
	o->mode = f->cli512 ? VETO_MODE_CLI512 : f->fast ? VETO_MODE_FAST : VETO_MODE_EXACT;
	o->auto_orient = f->auto_orient;
	if (f->max_pixels)
		o->max_pixels = f->max_pixels;
	if (f->max_bytes)
		o->max_bytes = f->max_bytes;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		main_help(stderr);
		return CLI_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
		main_help(stdout);
		return CLI_OK;
	}
	if (!strcmp(name, "--version")) {
		printf("veto %s\n", VETO_VERSION_STRING);
		return CLI_OK;
	}
	if (!strcmp(name, "help")) {
		if (argc == 2) {
			main_help(stdout);
			return CLI_OK;
		}
		if (argc > 3)
			return cli_usage(NULL, "help takes one COMMAND");
		const command *c = find_command(argv[2]);
		if (!c)
			return cli_usage(NULL, "no such command '%s'", argv[2]);
		c->help(stdout);
		return CLI_OK;
	}
	const command *c = find_command(name);
	if (!c) {
		if (name[0] == '-')
			return cli_usage(NULL, "unknown option '%s' (options go after the command)", name);
		return cli_usage(NULL, "unknown command '%s'", name);
	}
	/* The command sees argv[0] = its own name, as getopt expects. */
	return c->run(argc - 1, argv + 1);
}
