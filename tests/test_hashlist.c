/*
 * test_hashlist.c - the hash-list reader of the CLI (programs/hashlist.c),
 * line by line and on the reference's own files.
 *
 * `veto index build` and `veto match --hashes` trust this parser to tell a
 * bank's hashes, ids and qualities apart; a line misread is a bank that
 * matches the wrong things. So: every shape (ids, pdq-csv, JSON) is read
 * with the right fields, --format auto picks the shape the documented rule
 * says, and every malformed line is refused with the problem named (64-bit
 * hashes, bad hex, wrong length, id and quality out of range, NUL bytes,
 * bad JSON). The reader must count lines as an editor does (comments and
 * blank lines included), skip a byte-order mark, accept CRLF and a last
 * line without "\n", and prefix messages with NAME:LINE. Finally the
 * reference files load: every hash of haystack.txt, needles.txt, *256.dat
 * and expected-pdq.csv, compared with an independent read of the same file.
 */
#include "check.h"
#include "cli.h"

#include <ctype.h>

#define H1 "f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95"
#define H1_UPPER "F162EB9DAAB170C0567FE3632D9A5548C5612982DD5E374A7424EBBC8A835C95"

static veto_pdq_hash hash_of(const char *hex)
{
	veto_pdq_hash h;
	REQUIRE(veto_pdq_from_hex(&h, hex, strlen(hex), NULL) == VETO_OK, "bad hex %s", hex);
	return h;
}

/* Parse a copy of `text` (the parser writes into its line). */
static int parse(const char *text, int format, hashlist_item *it, char *why, char *buf)
{
	size_t n = strlen(text);
	memcpy(buf, text, n + 1);
	return hashlist_parse_line(buf, n, format, it, why, 256);
}

static void good(const char *text, int format, int want_format, int has_id, uint64_t id,
                 int quality, const char *path)
{
	char buf[1024], why[256];
	hashlist_item it;
	veto_pdq_hash want = hash_of(H1);
	int rc = parse(text, format, &it, why, buf);
	CHECK_INT(rc, HASHLIST_ITEM, "[%s] (%s)", text, why);
	if (rc != HASHLIST_ITEM)
		return;
	CHECK(!memcmp(&it.hash, &want, sizeof want), "[%s]: wrong hash", text);
	CHECK_INT(it.format, want_format, "[%s]: format", text);
	CHECK_INT(it.has_id, has_id, "[%s]: has_id", text);
	if (has_id)
		CHECK(it.id == id, "[%s]: id %llu, want %llu", text, (unsigned long long)it.id,
		      (unsigned long long)id);
	CHECK_INT(it.quality, quality, "[%s]: quality", text);
	if (path)
		CHECK_STR(it.path, path, "[%s]: path", text);
	else
		CHECK(it.path == NULL, "[%s]: path '%s', want none", text, it.path);
}

/* A bad line: refused, and the reason contains `want` (case-insensitive). */
static void bad(const char *text, size_t len, int format, const char *want)
{
	char buf[1024], why[256];
	hashlist_item it;
	memcpy(buf, text, len);
	buf[len] = '\0';
	int rc = hashlist_parse_line(buf, len, format, &it, why, sizeof why);
	CHECK_INT(rc, HASHLIST_BAD, "[%.*s] accepted", (int)len, text);
	char lw[256], lwant[128];
	size_t i;
	for (i = 0; why[i] && i < sizeof lw - 1; i++)
		lw[i] = (char)tolower((unsigned char)why[i]);
	lw[i] = '\0';
	for (i = 0; want[i] && i < sizeof lwant - 1; i++)
		lwant[i] = (char)tolower((unsigned char)want[i]);
	lwant[i] = '\0';
	CHECK(strstr(lw, lwant) != NULL, "[%.*s]: reason '%s' does not say '%s'", (int)len, text,
	      why, want);
}

static void skip(const char *text)
{
	char buf[256], why[256];
	hashlist_item it;
	CHECK_INT(parse(text, HASHLIST_AUTO, &it, why, buf), HASHLIST_SKIP, "[%s]", text);
}

static void test_lines(void)
{
	/* ids */
	good(H1, HASHLIST_AUTO, HASHLIST_IDS, 0, 0, -1, NULL);
	good(H1 "\n", HASHLIST_AUTO, HASHLIST_IDS, 0, 0, -1, NULL);
	good(H1 "\r\n", HASHLIST_AUTO, HASHLIST_IDS, 0, 0, -1, NULL);
	good(H1_UPPER, HASHLIST_AUTO, HASHLIST_IDS, 0, 0, -1, NULL);
	good(H1 ",42", HASHLIST_AUTO, HASHLIST_IDS, 1, 42, -1, NULL);
	good("  " H1 " ,\t42 \r\n", HASHLIST_AUTO, HASHLIST_IDS, 1, 42, -1, NULL);
	good(H1 ",42,7", HASHLIST_AUTO, HASHLIST_IDS, 1, 42, -1, NULL);        /* 3rd a number */
	good(H1 ",42,7,x.jpg", HASHLIST_AUTO, HASHLIST_IDS, 1, 42, -1, NULL);  /* "third" is 7 */
	good(H1 ",9223372036854775807", HASHLIST_AUTO, HASHLIST_IDS, 1, 9223372036854775807ULL,
	     -1, NULL);
	good(H1 ",100,photo.jpg", HASHLIST_IDS, HASHLIST_IDS, 1, 100, -1, NULL); /* forced */

	/* pdq-csv */
	good(H1 ",100,photo.jpg", HASHLIST_AUTO, HASHLIST_PDQ_CSV, 0, 0, 100, "photo.jpg");
	good(H1 ",37,a b/c,d.jpg\r\n", HASHLIST_AUTO, HASHLIST_PDQ_CSV, 0, 0, 37, "a b/c,d.jpg");
	good(H1 ",0, leading space.png", HASHLIST_AUTO, HASHLIST_PDQ_CSV, 0, 0, 0,
	     " leading space.png");
	good(H1 ",100,7", HASHLIST_PDQ_CSV, HASHLIST_PDQ_CSV, 0, 0, 100, "7");  /* forced */
	good(H1 ",55", HASHLIST_PDQ_CSV, HASHLIST_PDQ_CSV, 0, 0, 55, NULL);

	/* JSON, as `veto hash --json` writes it, and with an id */
	good("{\"path\":\"x\\u00e9.jpg\",\"format\":\"jpeg\",\"pdq\":\"" H1 "\",\"quality\":88,"
	     "\"md5\":\"00\"}", HASHLIST_AUTO, HASHLIST_JSON, 0, 0, 88, "x\xc3\xa9.jpg");
	good("  {\"pdq\":\"" H1 "\",\"id\":5}\r\n", HASHLIST_AUTO, HASHLIST_JSON, 1, 5, -1, NULL);
	good("{\"pdq\":\"" H1 "\"}", HASHLIST_JSON, HASHLIST_JSON, 0, 0, -1, NULL);

	skip("");
	skip("\n");
	skip("\r\n");
	skip("   \t ");
	skip("# a comment, " H1);
	skip("  # indented comment");

	/* bad lines */
	bad("b1946ac92492d234", 16, HASHLIST_AUTO, "64-bit");
	bad("b1946ac92492d234,3", 18, HASHLIST_AUTO, "64-bit");
	bad(H1 "0", 65, HASHLIST_AUTO, "65 hex digits");
	bad(&H1[1], 63, HASHLIST_AUTO, "63 hex digits");
	bad("g162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95", 64, HASHLIST_AUTO,
	    "not hexadecimal");
	bad("0x62eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95", 64, HASHLIST_AUTO,
	    "not hexadecimal");
	bad(",5", 2, HASHLIST_AUTO, "no hash");
	bad(H1 ",", 65, HASHLIST_AUTO, "bad id ''");
	bad(H1 ",-1", 67, HASHLIST_AUTO, "bad id");
	bad(H1 ",1x", 67, HASHLIST_AUTO, "bad id '1x'");
	bad(H1 ",9223372036854775808", strlen(H1 ",9223372036854775808"), HASHLIST_AUTO, "bad id");
	bad(H1 ",101,x.jpg", strlen(H1 ",101,x.jpg"), HASHLIST_AUTO, "bad quality '101'");
	bad(H1 ",q,x.jpg", strlen(H1 ",q,x.jpg"), HASHLIST_AUTO, "bad quality 'q'");
	bad(H1, 64, HASHLIST_PDQ_CSV, "no quality");
	bad(H1, 64, HASHLIST_JSON, "not valid JSON");
	bad("{\"pdq\":", 7, HASHLIST_AUTO, "not valid JSON");
	bad("[1]", 3, HASHLIST_JSON, "object");
	bad("{\"quality\":100}", 15, HASHLIST_AUTO, "\"pdq\"");
	bad("{\"pdq\":\"b1946ac92492d234\"}", 26, HASHLIST_AUTO, "64-bit");
	bad("{\"pdq\":\"" H1 "\",\"quality\":101}", strlen("{\"pdq\":\"" H1 "\",\"quality\":101}"),
	    HASHLIST_AUTO, "\"quality\"");
	bad("{\"pdq\":\"" H1 "\",\"id\":-3}", strlen("{\"pdq\":\"" H1 "\",\"id\":-3}"),
	    HASHLIST_AUTO, "\"id\"");
	bad("{\"pdq\":\"" H1 "\",\"path\":3}", strlen("{\"pdq\":\"" H1 "\",\"path\":3}"),
	    HASHLIST_AUTO, "\"path\"");
	bad(H1 "\0,5", 67, HASHLIST_AUTO, "NUL");

	CHECK_INT(hashlist_format_parse("auto"), HASHLIST_AUTO, "auto");
	CHECK_INT(hashlist_format_parse("ids"), HASHLIST_IDS, "ids");
	CHECK_INT(hashlist_format_parse("pdq-csv"), HASHLIST_PDQ_CSV, "pdq-csv");
	CHECK_INT(hashlist_format_parse("json"), HASHLIST_JSON, "json");
	CHECK_INT(hashlist_format_parse("csv"), -1, "csv");
	CHECK_STR(hashlist_format_name(HASHLIST_PDQ_CSV), "pdq-csv", "name");
}

/* The reader: line numbers, messages, BOM, no final newline. */
static void test_reader(void)
{
	static const char text[] = "\xEF\xBB\xBF" H1 ",1\r\n"  /* line 1, after a BOM */
	                           "# comment\n"                 /* 2 */
	                           "\n"                          /* 3 */
	                           "b1946ac92492d234\n"          /* 4: bad */
	                           H1 ",100,p.jpg\n"             /* 5 */
	                           H1;                           /* 6: no newline */
	FILE *f = fmemopen((void *)text, sizeof text - 1, "r");
	REQUIRE(f, "fmemopen");
	hashlist_reader r;
	hashlist_open(&r, f, "list.txt", HASHLIST_AUTO);
	hashlist_item it;
	char msg[512];
	CHECK_INT(hashlist_next(&r, &it, msg, sizeof msg), HASHLIST_ITEM, "line 1: %s", msg);
	CHECK_INT(r.line, 1, "line number after the BOM line");
	CHECK(it.has_id && it.id == 1, "line 1 id");
	CHECK_INT(hashlist_next(&r, &it, msg, sizeof msg), HASHLIST_BAD, "line 4");
	CHECK_INT(r.line, 4, "comment and blank lines are counted");
	CHECK(!strncmp(msg, "list.txt:4: ", 12), "message '%s' names list.txt:4", msg);
	CHECK_INT(hashlist_next(&r, &it, msg, sizeof msg), HASHLIST_ITEM, "line 5: %s", msg);
	CHECK_INT(r.line, 5, "line 5");
	CHECK_STR(it.path, "p.jpg", "line 5 path");
	CHECK_INT(it.quality, 100, "line 5 quality");
	CHECK_INT(hashlist_next(&r, &it, msg, sizeof msg), HASHLIST_ITEM, "line 6: %s", msg);
	CHECK_INT(r.line, 6, "line 6");
	CHECK(!it.has_id, "line 6 has no id");
	CHECK_INT(hashlist_next(&r, &it, msg, sizeof msg), HASHLIST_END, "end");
	hashlist_close(&r);
	fclose(f);
}

/* A reference file of one hash per line: the reader gives each line's hash
 * with its line number, and nothing else. */
static void test_plain_file(const char *pdq, const char *name, int want_lines)
{
	char *path = path_join(pdq, name);
	FILE *f = fopen(path, "r"), *g = fopen(path, "r");
	REQUIRE(f && g, "cannot open %s", path);
	hashlist_reader r;
	hashlist_open(&r, f, path, HASHLIST_AUTO);
	hashlist_item it;
	char msg[512], line[256];
	int n = 0, rc;
	while ((rc = hashlist_next(&r, &it, msg, sizeof msg)) == HASHLIST_ITEM) {
		REQUIRE(fgets(line, sizeof line, g), "%s: the reader read more lines", name);
		n++;
		line[strcspn(line, "\r\n")] = '\0';
		char hex[VETO_PDQ_HEX_LEN + 1];
		veto_pdq_to_hex(&it.hash, hex);
		CHECK_STR(hex, line, "%s line %d", name, n);
		CHECK_INT(r.line, n, "%s line number", name);
		CHECK(!it.has_id && it.quality == -1 && !it.path, "%s:%d: extra fields", name, n);
	}
	CHECK_INT(rc, HASHLIST_END, "%s: %s", name, msg);
	CHECK_INT(n, want_lines, "%s: hashes read", name);
	hashlist_close(&r);
	fclose(f);
	fclose(g);
	free(path);
}

static void test_reference_files(const char *td)
{
	char *pdq = path_join(td, "pdq");
	test_plain_file(pdq, "reg-test-input/haystack.txt", 1350);
	test_plain_file(pdq, "reg-test-input/needles.txt", 100);
	test_plain_file(pdq, "reg-test-input/long256.dat", 50);
	test_plain_file(pdq, "reg-test-input/short256.dat", 6);
	test_plain_file(pdq, "reg-test-input/order256.dat", 2);

	/* 64-bit lists: every line refused as such */
	char *p64 = path_join(pdq, "reg-test-input/short64.dat");
	FILE *f = fopen(p64, "r");
	REQUIRE(f, "cannot open %s", p64);
	hashlist_reader r;
	hashlist_open(&r, f, "short64.dat", HASHLIST_AUTO);
	hashlist_item it;
	char msg[512];
	int nbad = 0, rc;
	while ((rc = hashlist_next(&r, &it, msg, sizeof msg)) != HASHLIST_END) {
		CHECK_INT(rc, HASHLIST_BAD, "short64.dat line %llu accepted",
		          (unsigned long long)r.line);
		CHECK(strstr(msg, "64-bit") != NULL, "short64.dat: '%s'", msg);
		nbad++;
	}
	CHECK_INT(nbad, 6, "short64.dat bad lines");
	hashlist_close(&r);
	fclose(f);
	free(p64);

	/* expected-pdq.csv: hash, quality and path of every row */
	char *csv = path_join(pdq, "expected-pdq.csv");
	int n;
	expected_row *rows = read_expected(csv, 1, &n);
	f = fopen(csv, "r");
	REQUIRE(f, "cannot open %s", csv);
	hashlist_open(&r, f, csv, HASHLIST_AUTO);
	int i = 0;
	while ((rc = hashlist_next(&r, &it, msg, sizeof msg)) == HASHLIST_ITEM && i < n) {
		char hex[VETO_PDQ_HEX_LEN + 1];
		veto_pdq_to_hex(&it.hash, hex);
		CHECK_STR(hex, rows[i].hash[0], "expected-pdq.csv row %d", i);
		CHECK_INT(it.quality, rows[i].quality, "expected-pdq.csv row %d quality", i);
		CHECK_STR(it.path, rows[i].path, "expected-pdq.csv row %d path", i);
		CHECK_INT(it.format, HASHLIST_PDQ_CSV, "expected-pdq.csv row %d format", i);
		i++;
	}
	CHECK_INT(rc, HASHLIST_END, "expected-pdq.csv: %s", msg);
	CHECK_INT(i, n, "expected-pdq.csv rows");
	hashlist_close(&r);
	fclose(f);
	free(rows);
	free(csv);
	free(pdq);
}

int main(int argc, char **argv)
{
	const char *td = testdata_dir(argc, argv);
	test_lines();
	test_reader();
	test_reference_files(td);
	return check_exit("test_hashlist");
}
