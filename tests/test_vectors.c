/*
 * test_vectors.c - veto against the reference's own outputs, file by file.
 *
 * Every line of the three expected-*.csv files in ../shared/testdata/pdq
 * was produced by Meta's C++ pdq-photo-hasher. Banks only interoperate if
 * veto gives the same 256 bits and the same quality, so this hashes each
 * file through the public API (veto_hash_image_file) and requires identical
 * hex and quality:
 *   expected-pdq.csv                   default options (VETO_MODE_EXACT)
 *   expected-pdq-cli512.csv            VETO_MODE_CLI512
 *   expected-pdq-cli512-dihedral.csv   VETO_MODE_CLI512 + dihedral, 8 hashes
 * Nothing is skipped: a file veto cannot decode yet is a failure.
 */
#include "check.h"
#include "veto.h"

static void run_csv(const char *pdqdir, const char *csvname, int mode, int dihedral)
{
	char *csv = path_join(pdqdir, csvname);
	int n;
	expected_row *rows = read_expected(csv, dihedral ? 8 : 1, &n);
	int ok = 0;
	for (int i = 0; i < n; i++) {
		const expected_row *r = &rows[i];
		char *file = path_join(pdqdir, r->path);
		veto_hash_options o;
		veto_hash_options_init(&o);
		o.mode = mode;
		o.dihedral = dihedral;
		veto_image_hashes h;
		veto_error err = {0, ""};
		int rc = veto_hash_image_file(file, &o, &h, &err);
		if (rc != VETO_OK) {
			CHECK(rc == VETO_OK, "%s [%s]: %s (%s)", r->path, csvname, err.message,
			      veto_status_name(rc));
			free(file);
			continue;
		}
		int good = 1;
		char hex[VETO_PDQ_HEX_LEN + 1];
		veto_pdq_to_hex(&h.pdq, hex);
		if (strcmp(hex, r->hash[0]) != 0) {
			CHECK(0, "%s [%s]: pdq\n    got  %s\n    want %s", r->path, csvname, hex, r->hash[0]);
			good = 0;
		}
		if (h.quality != r->quality) {
			CHECK(0, "%s [%s]: quality got %d, want %d", r->path, csvname, h.quality, r->quality);
			good = 0;
		}
		if (dihedral) {
			CHECK(h.has_dihedral, "%s: has_dihedral not set", r->path);
			for (int k = 0; k < 8 && h.has_dihedral; k++) {
				veto_pdq_to_hex(&h.dihedral[k], hex);
				if (strcmp(hex, r->hash[k]) != 0) {
					CHECK(0, "%s [%s]: dihedral %d (%s)\n    got  %s\n    want %s",
					      r->path, csvname, k, veto_dihedral_name(k), hex, r->hash[k]);
					good = 0;
				}
			}
		}
		if (good) {
			CHECK(1, "match");
			ok++;
		}
		free(file);
	}
	printf("%s: %d of %d files match the reference\n", csvname, ok, n);
	free(rows);
	free(csv);
}

int main(int argc, char **argv)
{
	const char *td = testdata_dir(argc, argv);
	char *pdqdir = path_join(td, "pdq");
	run_csv(pdqdir, "expected-pdq.csv", VETO_MODE_EXACT, 0);
	run_csv(pdqdir, "expected-pdq-cli512.csv", VETO_MODE_CLI512, 0);
	run_csv(pdqdir, "expected-pdq-cli512-dihedral.csv", VETO_MODE_CLI512, 1);
	free(pdqdir);
	return check_exit("test_vectors");
}
