#!/usr/bin/env python3
"""test_serve_hma.py - HMA 1.1.7's API test cases, re-pointed at `veto serve`.

    python3 tests/test_serve_hma.py VETO_BINARY TESTDATA_DIR [--pg]

Re-expresses the cases of HMA's OpenMediaMatch/tests (test_api.py,
test_api_banks.py, test_match_api.py, test_e2e_workflow.py) against a real
`veto serve --no-auth --allow-hosts 127.0.0.1` serving every role. Where HMA
starts each test with empty tables, this starts a fresh server (own data
folder, own database with --pg), so content ids are HMA's. Media comes from
a local HTTP server, as HMA's image_server fixture does: two checkerboard
JPEGs, whose PDQ hashes come from `veto hash --json`.

Also checked: veto's documented differences from HMA (deleting a missing
bank is 404; content of bank A is not reachable under bank B), that a write
is visible to the very next lookup (there is no index-build step), and the
video signals of an uploaded video (video_md5, vpdq, tmk).
"""

import base64
import hashlib
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_harness as H  # noqa: E402

PROG = "test_serve_hma.py"
h = H.parse_args(PROG)
work = H.tmp_root()

# ---------------------------------------------------------------- media
img_dir = os.path.join(work, "media")
IMG1, IMG2 = H.make_checkerboards(h, img_dir)
VIDEO_NAME = "doorknob-hd-no-bar"
VIDEO = os.path.join(h.testdata, "video", "samples", VIDEO_NAME + ".mp4")
if not os.path.exists(VIDEO):
    H.fail("test video present", "missing %s" % VIDEO)
os.symlink(VIDEO, os.path.join(img_dir, "video1.mp4"))
PDQ1 = H.pdq_of(h, IMG1)
PDQ2 = H.pdq_of(h, IMG2)
H.check("the two checkerboards have usable PDQ hashes (quality >= 50)",
        len(PDQ1) == 64 and len(PDQ2) == 64, "pdq1=%r pdq2=%r" % (PDQ1, PDQ2))
H.check("the two checkerboards do not match each other (distance > 31)",
        H.hamming(PDQ1, PDQ2) > 31, "distance %d" % H.hamming(PDQ1, PDQ2))
with open(IMG1, "rb") as f:
    IMG1_BYTES = f.read()
with open(VIDEO, "rb") as f:
    VIDEO_BYTES = f.read()

files = H.FileServer(img_dir)
URL1 = files.base + "/image1.jpg"
URL2 = files.base + "/image2.jpg"
VURL = files.base + "/video1.mp4"

_n = [0]


def fresh(label, extra=()):
    """A new server with empty tables (HMA's per-test reset_tables)."""
    _n[0] += 1
    s = H.Server(h, "%d-%s" % (_n[0], label),
                 extra=["--allow-hosts", "127.0.0.1"] + list(extra)).start()
    H.note("server %s on port %d" % (s.name, s.port))
    return s


def create_bank(s, name):
    """HMA's tests/utils.py create_bank."""
    r = s.post("/c/banks", json_body={"name": name})
    H.expect_json("create bank %s -> 201" % name, r, 201,
                  {"matching_enabled_ratio": 1.0, "name": name})


def add_url(s, bank, url, content_id=None, body=None, label=None):
    """HMA's add_hash_to_bank: POST /c/bank/B/content?url=...&content_type=photo."""
    r = s.post("/c/bank/%s/content?url=%s&content_type=photo" % (bank, url),
               json_body=body)
    want = {URL1: PDQ1, URL2: PDQ2}[url]
    j = r.json()
    name = label or "add %s to %s by URL" % (url.rsplit("/", 1)[1], bank)
    if content_id is not None:
        H.expect_json(name + " -> id %d" % content_id, r, 200,
                      {"id": content_id, "signals": {"pdq": want}})
    else:
        if r.status != 200 or not isinstance(j, dict) or j.get("signals") != {"pdq": want} \
                or not isinstance(j.get("id"), int):
            H.fail(name, "expected: 200 {\"id\": N, \"signals\": {\"pdq\": %s}}\ngot:      %s"
                   % (want, r.describe()))
        H.ok(name)
    return j["id"]


def lookup(s, sig, st="pdq", extra=""):
    return s.get("/m/lookup?signal_type=%s&signal=%s%s" % (st, sig, extra))


def raw(s, sig, st="pdq", extra=""):
    return s.get("/m/raw_lookup?signal_type=%s&signal=%s%s" % (st, sig, extra))


# ============================================================ status, banks
s = fresh("banks")
r = s.get("/status")
H.eq("GET /status -> 200 I-AM-ALIVE (test_status_response)", (r.status, r.body),
     (200, b"I-AM-ALIVE"))
r = s.get("/status/live")
H.eq("GET /status/live -> 200 I-AM-ALIVE (test_status_live_always_alive)",
     (r.status, r.body), (200, b"I-AM-ALIVE"))
r = s.get("/hello")
H.expect_error("GET /hello (CONTRIBUTING.md's curl example) -> 404", r, 404)
r = s.get("/openapi/openapi.json")
H.expect_error("GET /openapi/openapi.json -> 404 (test_openapi_documentation_available: "
               "not implemented, docs/serve.md)", r, 404)
H.note("known gap, documented in docs/serve.md: HMA serves /openapi/openapi.json (200); veto "
       "does not (nor /c/exchanges, nor the UI)")
H.expect_json("GET /c/banks on empty tables -> [] (test_banks_empty_index)",
              s.get("/c/banks"), 200, [])

# test_banks_create
H.expect_error("POST /c/banks 01_TEST_BANK (starts with a digit)",
               s.post("/c/banks", json_body={"name": "01_TEST_BANK"}), 400)
H.expect_error("POST /c/banks my_test_bank (lower case)",
               s.post("/c/banks", json_body={"name": "my_test_bank"}), 400)
r = s.post("/c/banks", json_body={"name": "MY_TEST_BANK_01"})
H.expect_json("POST /c/banks MY_TEST_BANK_01 -> 201 with HMA's exact JSON", r, 201,
              {"matching_enabled_ratio": 1.0, "name": "MY_TEST_BANK_01"})
H.check("the ratio is written as a float (1.0), as HMA's jsonify does",
        b'"matching_enabled_ratio":1.0' in r.body.replace(b" ", b""), r.describe())
H.expect_json("GET /c/banks lists it", s.get("/c/banks"), 200,
              [{"matching_enabled_ratio": 1.0, "name": "MY_TEST_BANK_01"}])
H.expect_json("GET /c/bank/MY_TEST_BANK_01", s.get("/c/bank/MY_TEST_BANK_01"), 200,
              {"matching_enabled_ratio": 1.0, "name": "MY_TEST_BANK_01"})
H.expect_error("POST /c/banks of an existing bank -> 403 (HMA: IntegrityError)",
               s.post("/c/banks", json_body={"name": "MY_TEST_BANK_01"}), 403)
H.expect_error("GET /c/bank/NO_SUCH_BANK -> 404", s.get("/c/bank/NO_SUCH_BANK"), 404)
H.expect_json("POST /c/banks with enabled: false -> ratio 0.0",
              s.post("/c/banks", json_body={"name": "OFF_BANK", "enabled": False}), 201,
              {"matching_enabled_ratio": 0.0, "name": "OFF_BANK"})
H.expect_json("POST /c/banks with enabled_ratio 0.25",
              s.post("/c/banks", json_body={"name": "QUARTER_BANK", "enabled_ratio": 0.25}),
              201, {"matching_enabled_ratio": 0.25, "name": "QUARTER_BANK"})
s.stop()

# test_banks_update
s = fresh("bank-update")
r = s.post("/c/banks", json_body={"name": "MY_TEST_BANK"})
H.eq("POST /c/banks MY_TEST_BANK -> 201", r.status, 201)
H.expect_error("PUT /c/bank/MY_TEST_BANK rename to 1_invalid_name",
               s.put("/c/bank/MY_TEST_BANK", json_body={"name": "1_invalid_name"}), 400)
r = s.put("/c/bank/MY_TEST_BANK", json_body={"name": "MY_TEST_BANK_RENAMED"})
H.eq("PUT rename -> 200 with the new name", (r.status, r.json().get("name")
                                             if isinstance(r.json(), dict) else r.json()),
     (200, "MY_TEST_BANK_RENAMED"))
H.expect_error("the old name is gone", s.get("/c/bank/MY_TEST_BANK"), 404)
r = s.put("/c/bank/MY_TEST_BANK_RENAMED", json_body={"enabled": False})
H.check("PUT enabled: false -> 200, matching_enabled_ratio 0",
        r.status == 200 and isinstance(r.json(), dict)
        and r.json().get("matching_enabled_ratio") == 0, r.describe())
r = s.put("/c/bank/MY_TEST_BANK_RENAMED", json_body={"enabled_ratio": 0.5})
H.check("PUT enabled_ratio 0.5 -> 200, matching_enabled_ratio 0.5",
        r.status == 200 and isinstance(r.json(), dict)
        and r.json().get("matching_enabled_ratio") == 0.5, r.describe())
H.expect_json("GET /c/banks: one bank, renamed, ratio 0.5", s.get("/c/banks"), 200,
              [{"name": "MY_TEST_BANK_RENAMED", "matching_enabled_ratio": 0.5}])
H.expect_json("PUT with enabled and enabled_ratio: the ratio wins (HMA's order)",
              s.put("/c/bank/MY_TEST_BANK_RENAMED",
                    json_body={"enabled": False, "enabled_ratio": 0.75}),
              200, {"name": "MY_TEST_BANK_RENAMED", "matching_enabled_ratio": 0.75})
H.expect_error("PUT /c/bank/NO_SUCH_BANK -> 404 Bank not found",
               s.put("/c/bank/NO_SUCH_BANK", json_body={"enabled": True}), 404,
               "Bank not found")
create_bank(s, "OTHER_BANK")
H.expect_error("PUT rename onto an existing bank -> 403",
               s.put("/c/bank/OTHER_BANK", json_body={"name": "MY_TEST_BANK_RENAMED"}), 403)

# test_banks_delete
r = s.post("/c/banks", json_body={"name": "DEL_BANK"})
H.eq("POST /c/banks DEL_BANK -> 201", r.status, 201)
H.expect_json("DELETE /c/bank/DEL_BANK -> 200 {\"message\": \"Done\"}",
              s.delete("/c/bank/DEL_BANK"), 200, {"message": "Done"})
H.expect_error("GET /c/bank/DEL_BANK after the delete", s.get("/c/bank/DEL_BANK"), 404)
r = s.delete("/c/bank/DEL_BANK")
H.expect_error("DELETE of a missing bank -> 404", r, 404)
H.note("intended deviation from HMA: deleting a missing bank is 404 in veto "
       "(HMA answers 200 {\"message\": \"Done\"}); see docs/serve.md")
s.stop()

# ============================================================ bank content
s = fresh("content")
# test_bank_get_content_404
H.expect_error("GET content of a bank that does not exist -> 404",
               s.get("/c/bank/TEST_BANK_GET/content/1"), 404)
create_bank(s, "TEST_BANK_GET")
H.expect_error("GET content that does not exist -> 404",
               s.get("/c/bank/TEST_BANK_GET/content/1"), 404)

# test_banks_add_content / test_bank_get_content
add_url(s, "TEST_BANK_GET", URL1, content_id=1)
H.expect_json("the new content is visible to the very next lookup (no index build step)",
              raw(s, PDQ1), 200, {"matches": [1]})
H.expect_json("... and to /m/lookup", lookup(s, PDQ1), 200,
              {"TEST_BANK_GET": [{"bank_content_id": 1, "distance": "0"}]})
H.expect_json("GET /c/bank/TEST_BANK_GET/content/1: HMA's BankContentResponse",
              s.get("/c/bank/TEST_BANK_GET/content/1"), 200,
              {"id": 1, "disable_until_ts": 1, "original_media_uri": None,
               "bank": {"name": "TEST_BANK_GET", "matching_enabled_ratio": 1.0}})
# test_bank_get_content_with_signals
H.expect_json("... ?include_signals=true adds the signals",
              s.get("/c/bank/TEST_BANK_GET/content/1?include_signals=true"), 200,
              {"id": 1, "disable_until_ts": 1, "original_media_uri": None,
               "bank": {"name": "TEST_BANK_GET", "matching_enabled_ratio": 1.0},
               "signals": {"pdq": PDQ1}})

# test_bank_update_content
new_ts = int(time.time()) + 365 * 86400
r = s.put("/c/bank/TEST_BANK_GET/content/1", json_body={"disable_until_ts": new_ts})
H.expect_json("PUT content disable_until_ts = now + 1 year -> 200, the updated content",
              r, 200, {"id": 1, "disable_until_ts": new_ts, "collab_metadata": {},
                       "original_media_uri": None,
                       "bank": {"name": "TEST_BANK_GET", "matching_enabled_ratio": 1.0},
                       "user_metadata": None, "note": None})
H.expect_json("disabled content: /m/lookup skips it at once", lookup(s, PDQ1), 200, {})
H.expect_json("disabled content: /m/raw_lookup still finds it (HMA: no enabled check)",
              raw(s, PDQ1), 200, {"matches": [1]})
# test_bank_update_content_400
H.expect_error("PUT disable_until_ts 9999999999 (over 5 years) -> 400",
               s.put("/c/bank/TEST_BANK_GET/content/1",
                     json_body={"disable_until_ts": 9999999999}), 400, "5 years")
H.expect_error("PUT disable_until_ts now + 5 years + 1 day -> 400",
               s.put("/c/bank/TEST_BANK_GET/content/1",
                     json_body={"disable_until_ts": int(time.time()) + 5 * 365 * 86400 + 86400}),
               400)
r = s.put("/c/bank/TEST_BANK_GET/content/1",
          json_body={"disable_until_ts": int(time.time()) + 5 * 365 * 86400 - 86400})
H.eq("PUT disable_until_ts now + 5 years - 1 day -> 200", r.status, 200)
H.expect_error("PUT disable_until_ts -1 -> 400",
               s.put("/c/bank/TEST_BANK_GET/content/1", json_body={"disable_until_ts": -1}),
               400)
r = s.put("/c/bank/TEST_BANK_GET/content/1", json_body={"disable_until_ts": "1"})
H.check("PUT disable_until_ts \"1\" (a string, HMA's str_to_type) -> 200, enabled again",
        r.status == 200 and isinstance(r.json(), dict) and r.json().get("disable_until_ts") == 1,
        r.describe())
H.expect_json("re-enabled content: /m/lookup finds it at once", lookup(s, PDQ1), 200,
              {"TEST_BANK_GET": [{"bank_content_id": 1, "distance": "0"}]})
r = s.put("/c/bank/TEST_BANK_GET/content/1", json_body={"disable_until_ts": 0})
H.check("PUT disable_until_ts 0 (HMA's DISABLED) -> 200",
        r.status == 200 and r.json().get("disable_until_ts") == 0, r.describe())
H.expect_json("... /m/lookup skips it", lookup(s, PDQ1), 200, {})
r = s.put("/c/bank/TEST_BANK_GET/content/1", json_body={"disable_until_ts": 1})
H.eq("PUT disable_until_ts 1 (HMA's ENABLED) -> 200", r.status, 200)
H.expect_error("PUT content that does not exist -> 404",
               s.put("/c/bank/TEST_BANK_GET/content/99", json_body={"disable_until_ts": 1}),
               404)

# test_banks_add_metadata
create_bank(s, "NEW_BANK")
H.expect_error("POST content with metadata {invalid_metadata: 5} -> 400",
               s.post("/c/bank/NEW_BANK/content?url=%s&content_type=photo" % URL1,
                      json_body={"metadata": {"invalid_metadata": 5}}), 400)
add_url(s, "NEW_BANK", URL1, body={"metadata": {"content_id": "1197433091", "json": {"asdf": {}}}},
        label="POST content with metadata {content_id, json} -> 200")
H.expect_error("metadata that is not an object -> 400",
               s.post("/c/bank/NEW_BANK/content?url=%s&content_type=photo" % URL1,
                      json_body={"metadata": "nope"}), 400)
H.expect_error("metadata content_id of the wrong type -> 400",
               s.post("/c/bank/NEW_BANK/content?url=%s&content_type=photo" % URL1,
                      json_body={"metadata": {"content_id": 5}}), 400)

# test_bank_get_content_returns_stored_metadata
create_bank(s, "TEST_BANK_METADATA")
meta = {"content_id": "ext-id-123", "content_uri": "https://example.com/item/123",
        "json": {"source": "test", "nested": {"key": "value"}}}
cid = add_url(s, "TEST_BANK_METADATA", URL1, body={"metadata": meta},
              label="POST content with full metadata")
r = s.get("/c/bank/TEST_BANK_METADATA/content/%d" % cid)
H.expect_json("GET returns the stored metadata (and collab: null)", r, 200,
              {"id": cid, "disable_until_ts": 1, "original_media_uri": None,
               "bank": {"name": "TEST_BANK_METADATA", "matching_enabled_ratio": 1.0},
               "metadata": dict(meta, collab=None)})
# test_bank_get_content_include_metadata_false
r = s.get("/c/bank/TEST_BANK_METADATA/content/%d?include_metadata=false" % cid)
H.check("GET ?include_metadata=false omits metadata",
        r.status == 200 and isinstance(r.json(), dict) and "metadata" not in r.json(),
        r.describe())
# test_bank_get_content_without_metadata_omitted
cid2 = add_url(s, "TEST_BANK_METADATA", URL1, label="POST content without metadata")
r = s.get("/c/bank/TEST_BANK_METADATA/content/%d" % cid2)
H.check("GET of content without metadata has no metadata key",
        r.status == 200 and isinstance(r.json(), dict) and "metadata" not in r.json(),
        r.describe())
# metadata in a multipart upload's form field (HMA: request.form["metadata"])
body, ct = H.multipart([("photo", "image1.jpg", "image/jpeg", IMG1_BYTES),
                        ("metadata", None, None, json.dumps({"content_id": "form-1"})),
                        ("note", None, None, "from a form")])
r = s.post("/c/bank/TEST_BANK_METADATA/content", body=body, headers={"Content-Type": ct})
H.check("POST content as a multipart upload with metadata and note fields -> 200",
        r.status == 200 and isinstance(r.json(), dict) and r.json().get("signals") == {"pdq": PDQ1},
        r.describe())
cid3 = r.json()["id"]
r = s.get("/c/bank/TEST_BANK_METADATA/content/%d" % cid3)
H.check("... GET returns the form's metadata and note",
        r.status == 200 and r.json().get("metadata", {}).get("content_id") == "form-1"
        and r.json().get("note") == "from a form", r.describe())

# test_bank_add_content_with_note / _without_note_omitted / update / too long
create_bank(s, "TEST_BANK_NOTE")
cid = add_url(s, "TEST_BANK_NOTE", URL1, body={"note": "Reported by user X"},
              label="POST content with a note")
r = s.get("/c/bank/TEST_BANK_NOTE/content/%d" % cid)
H.check("GET returns the note", r.status == 200 and r.json().get("note") == "Reported by user X",
        r.describe())
cid = add_url(s, "TEST_BANK_NOTE", URL1, label="POST content without a note")
r = s.get("/c/bank/TEST_BANK_NOTE/content/%d" % cid)
H.check("GET of content without a note has no note key",
        r.status == 200 and "note" not in r.json(), r.describe())
for text in ("Initial note", "Updated note"):
    r = s.put("/c/bank/TEST_BANK_NOTE/content/%d" % cid, json_body={"note": text})
    H.check("PUT note %r -> 200" % text, r.status == 200 and r.json().get("note") == text,
            r.describe())
    r = s.get("/c/bank/TEST_BANK_NOTE/content/%d" % cid)
    H.eq("GET shows note %r" % text, r.json().get("note") if r.status == 200 else r.describe(),
         text)
r = s.put("/c/bank/TEST_BANK_NOTE/content/%d" % cid, json_body={"note": ""})
H.eq("PUT note \"\" clears it -> 200", r.status, 200)
r = s.get("/c/bank/TEST_BANK_NOTE/content/%d" % cid)
H.check("GET after clearing has no note key", r.status == 200 and "note" not in r.json(),
        r.describe())
H.expect_error("POST content with a 256-character note -> 400",
               s.post("/c/bank/TEST_BANK_NOTE/content?url=%s&content_type=photo" % URL1,
                      json_body={"note": "x" * 256}), 400)
add_url(s, "TEST_BANK_NOTE", URL1, body={"note": "y" * 255},
        label="POST content with a 255-character note -> 200")
# test_bank_add_hash_with_note
create_bank(s, "TEST_BANK_HASH_NOTE")
r = s.post("/c/bank/TEST_BANK_HASH_NOTE/signal",
           json_body={"pdq": "0" * 64, "note": "Hash from campaign ABC"})
H.check("POST /signal {pdq: 0*64, note} -> 200 {id, signals}",
        r.status == 200 and isinstance(r.json(), dict)
        and r.json().get("signals") == {"pdq": "0" * 64}, r.describe())
r = s.get("/c/bank/TEST_BANK_HASH_NOTE/content/%d" % r.json()["id"])
H.check("GET returns the signal's note",
        r.status == 200 and r.json().get("note") == "Hash from campaign ABC", r.describe())

# veto's fix: content of one bank is not reachable under another
create_bank(s, "OTHER_BANK")
H.expect_error("GET content 1 (of TEST_BANK_GET) under OTHER_BANK -> 404 (HMA returns it)",
               s.get("/c/bank/OTHER_BANK/content/1"), 404)
H.expect_error("PUT content 1 under OTHER_BANK -> 404",
               s.put("/c/bank/OTHER_BANK/content/1", json_body={"disable_until_ts": 0}), 404)
H.expect_json("DELETE content 1 under OTHER_BANK deletes nothing",
              s.delete("/c/bank/OTHER_BANK/content/1"), 200, {"deleted": 0})
r = s.get("/c/bank/TEST_BANK_GET/content/1")
H.check("... content 1 is still in TEST_BANK_GET and enabled",
        r.status == 200 and r.json().get("disable_until_ts") == 1, r.describe())
s.stop()

# test_banks_delete_content
s = fresh("delete-content")
create_bank(s, "NEW_BANK")
add_url(s, "NEW_BANK", URL1, content_id=1)
H.expect_json("DELETE /c/bank/NEW_BANK/content/1 -> {\"deleted\": 1}",
              s.delete("/c/bank/NEW_BANK/content/1"), 200, {"deleted": 1})
H.expect_json("the deleted content is gone from the very next lookup", raw(s, PDQ1), 200,
              {"matches": []})
H.expect_error("GET of the deleted content -> 404", s.get("/c/bank/NEW_BANK/content/1"), 404)
H.expect_json("DELETE again -> {\"deleted\": 0}", s.delete("/c/bank/NEW_BANK/content/1"), 200,
              {"deleted": 0})
add_url(s, "NEW_BANK", URL1, content_id=2, label="add again -> a new id (2)")
H.expect_json("DELETE /c/bank/NEW_BANK (with content) -> Done", s.delete("/c/bank/NEW_BANK"),
              200, {"message": "Done"})
H.expect_json("content of a deleted bank no longer matches", raw(s, PDQ1), 200,
              {"matches": []})
s.stop()

# ============================================================ index / lookups
# test_banks_add_hash_index
s = fresh("index")
create_bank(s, "NEW_BANK")
add_url(s, "NEW_BANK", URL1, content_id=1)
create_bank(s, "NEW_BANK_2")
add_url(s, "NEW_BANK", URL2, content_id=2)
H.expect_json("raw_lookup image1's PDQ -> {\"matches\": [1]}", raw(s, PDQ1), 200,
              {"matches": [1]})
H.expect_json("raw_lookup image2's PDQ -> {\"matches\": [2]}", raw(s, PDQ2), 200,
              {"matches": [2]})
H.expect_json("raw_lookup include_distance=True",
              raw(s, PDQ1, extra="&include_distance=True"), 200,
              {"matches": [{"bank_content_id": 1, "distance": "0"}]})

# test_lookup_success: by URL, by upload (photo), and a JPEG posted as "video"
want1 = {"NEW_BANK": [{"bank_content_id": 1, "distance": "0"}]}
H.expect_json("GET /m/lookup?url=image1 -> {pdq: {NEW_BANK: [1]}}",
              s.get("/m/lookup?url=%s" % URL1), 200, {"pdq": want1})
H.expect_json("GET /m/lookup?url=image1&signal_type=pdq elides the outer object",
              s.get("/m/lookup?url=%s&signal_type=pdq" % URL1), 200, want1)
r = s.upload("/m/lookup", "photo", "image1.jpg", IMG1_BYTES, "image/jpeg")
H.expect_json("POST /m/lookup multipart photo=image1.jpg", r, 200, {"pdq": want1})
r = s.upload("/m/lookup?banks=NEW_BANK_2", "photo", "image1.jpg", IMG1_BYTES, "image/jpeg")
H.expect_json("POST /m/lookup?banks=NEW_BANK_2 -> no matches", r, 200, {"pdq": {}})
r = s.upload("/m/lookup?types=video_md5", "video", "image1.jpg", IMG1_BYTES, "image/jpeg")
H.expect_json("POST /m/lookup a JPEG as video, ?types=video_md5 -> its md5, no match", r, 200,
              {"video_md5": {}})
r = s.upload("/m/lookup", "video", "image1.jpg", IMG1_BYTES, "image/jpeg")
if r.status == 200:
    H.ok("POST /m/lookup a JPEG as \"video\" -> 200 (test_lookup_success)")
else:
    H.fail("POST /m/lookup a JPEG as \"video\" -> 200 (test_lookup_success: HMA hashes "
           "video_md5 only and answers 200)", "expected: 200\ngot:      %s" % r.describe())

# /h/hash
r = s.upload("/h/hash", "photo", "image1.jpg", IMG1_BYTES, "image/jpeg")
H.expect_json("POST /h/hash photo -> {pdq: <veto hash's PDQ>}", r, 200, {"pdq": PDQ1})
H.expect_json("GET /h/hash?url=image1", s.get("/h/hash?url=%s" % URL1), 200, {"pdq": PDQ1})
H.expect_json("GET /h/hash?url=image2&types=pdq", s.get("/h/hash?url=%s&types=pdq" % URL2),
              200, {"pdq": PDQ2})
H.expect_json("GET /h/hash?url=video&types=video_md5",
              s.get("/h/hash?url=%s&types=video_md5" % VURL), 200,
              {"video_md5": hashlib.md5(VIDEO_BYTES).hexdigest()})

# bank ratios: /m/lookup honours them, raw_lookup and bypass_coinflip do not
r = s.put("/c/bank/NEW_BANK", json_body={"enabled_ratio": 0.0})
H.eq("PUT NEW_BANK enabled_ratio 0 -> 200", r.status, 200)
H.expect_json("/m/lookup skips a bank with ratio 0 at once", lookup(s, PDQ1), 200, {})
H.expect_json("/m/raw_lookup still finds it", raw(s, PDQ1), 200, {"matches": [1]})
r = s.upload("/m/lookup?bypass_coinflip=true", "photo", "image1.jpg", IMG1_BYTES, "image/jpeg")
H.expect_json("POST /m/lookup?bypass_coinflip=true finds it", r, 200, {"pdq": want1})
r = s.put("/c/bank/NEW_BANK", json_body={"enabled": True})
H.expect_json("PUT enabled: true -> /m/lookup finds it again", lookup(s, PDQ1), 200, want1)

# test_lookup_without_role (HMA's ROLE_HASHER = False)
s2 = fresh("no-hasher", extra=["--role", "matcher,curator"])
H.expect_error("GET /m/lookup?url= without the hasher role -> 403",
               s2.get("/m/lookup?url=%s" % URL1), 403)
jpeg_header = (b"\xff\xd8\xff\xe0\x00\x10\x4a\x46\x49\x46\x00\x01\x01\x00\x00\x01\x00\x01"
               b"\x00\x00\xff\xd9")
H.expect_error("POST /m/lookup (file) without the hasher role -> 403",
               s2.upload("/m/lookup", "file", "x.jpg", jpeg_header, "image/jpeg"), 403)
H.expect_json("... lookups by signal still work", lookup(s2, PDQ1), 200, {})
s2.stop()
s.stop()

# ============================================================ /m/compare
s = fresh("compare")
H.expect_json("POST /m/compare HMA's specimens -> {pdq: [true, {distance: 9}]}",
              s.post("/m/compare", json_body={"pdq": [H.SPECIMEN1, H.SPECIMEN2]}), 200,
              {"pdq": [True, {"distance": 9}]})
bad_inputs = [
    ("not a dict", ["banana"]),
    ("values not lists", {"pdq": "banana"}),
    ("empty list", {"pdq": []}),
    ("invalid hashes", {"pdq": ["banana", "banana"]}),
    ("three hashes", {"pdq": [H.SPECIMEN1, H.SPECIMEN2, H.SPECIMEN1]}),
]
for label, bad in bad_inputs:
    H.expect_error("POST /m/compare %s -> 400" % label, s.post("/m/compare", json_body=bad), 400)
H.expect_json("POST /m/compare video_md5 pair -> [true, {}]",
              s.post("/m/compare", json_body={"video_md5": [H.MD5_EXAMPLES[1],
                                                            H.MD5_EXAMPLES[1].upper()]}),
              200, {"video_md5": [True, {}]})
H.expect_json("POST /m/compare far PDQs -> [false, {distance}]",
              s.post("/m/compare", json_body={"pdq": [PDQ1, PDQ2]}), 200,
              {"pdq": [False, {"distance": H.hamming(PDQ1, PDQ2)}]})
H.expect_error("POST /m/compare unknown signal type -> 400",
               s.post("/m/compare", json_body={"nope": [PDQ1, PDQ2]}), 400)
s.stop()

# ============================================================ e2e workflow
# test_add_hashes_and_find_match
s = fresh("e2e")
create_bank(s, "TEST_BANK")
for i, pdq in enumerate(H.PDQ_EXAMPLES):
    r = s.post("/c/bank/TEST_BANK/signal", json_body={"pdq": pdq})
    if r.status != 200 or r.json() != {"id": i + 1, "signals": {"pdq": pdq}}:
        H.fail("POST /c/bank/TEST_BANK/signal example %d" % (i + 1),
               "expected: 200 {id: %d, signals: {pdq: %s}}\ngot:      %s"
               % (i + 1, pdq, r.describe()))
H.ok("POST /c/bank/TEST_BANK/signal: the 16 PdqSignal examples -> ids 1..16")
r = s.get("/m/index/status?signal_type=pdq")
j = r.json()
H.check("GET /m/index/status?signal_type=pdq -> present, size 16",
        r.status == 200 and isinstance(j, dict) and list(j) == ["pdq"]
        and j["pdq"].get("present") is True and j["pdq"].get("size") == 16
        and isinstance(j["pdq"].get("built_to"), int), r.describe())
H.expect_json("GET /m/lookup the last example -> TEST_BANK content 16 at distance \"0\"",
              lookup(s, H.PDQ_EXAMPLES[-1]), 200,
              {"TEST_BANK": [{"bank_content_id": 16, "distance": "0"}]})
H.expect_json("GET /m/lookup 5*64 -> {}", lookup(s, "5" * 64), 200, {})
r = s.get("/m/raw_lookup?signal_type=pdq&signal=%s&include_distance=true" % H.PDQ_EXAMPLES[0])
j = r.json()
H.check("raw_lookup of a bridge photo finds the 12 bridge variants, nearest first",
        r.status == 200 and len(j.get("matches", [])) == 12
        and j["matches"][0] == {"bank_content_id": 1, "distance": "0"}
        and [int(m["distance"]) for m in j["matches"]]
        == sorted(int(m["distance"]) for m in j["matches"]), r.describe())
r = s.get("/c/signal_type/index")
j = r.json()
H.check("GET /c/signal_type/index: pdq db_size 16 = index_size, not out of date",
        r.status == 200 and isinstance(j, dict) and j.get("pdq", {}).get("db_size") == 16
        and j["pdq"].get("index_size") == 16 and j["pdq"].get("index_out_of_date") is False
        and set(j["pdq"]) == {"db_size", "index_size", "index_out_of_date", "newest_db_item",
                              "index_built_to"}, r.describe())
r = s.get("/m/index/status")
j = r.json()
H.check("GET /m/index/status lists every signal type with built_to/present/size",
        r.status == 200 and isinstance(j, dict) and {"pdq", "video_md5"} <= set(j)
        and all(set(v) == {"built_to", "present", "size"} for v in j.values()), r.describe())
H.expect_error("GET /m/index/status?signal_type=nope -> 400",
               s.get("/m/index/status?signal_type=nope"), 400)

# writes are visible to the very next request
r = s.post("/c/bank/TEST_BANK/signal", json_body={"pdq": "5" * 64})
H.expect_json("POST /signal 5*64 -> id 17", r, 200, {"id": 17, "signals": {"pdq": "5" * 64}})
H.expect_json("... found by the very next /m/lookup", lookup(s, "5" * 64), 200,
              {"TEST_BANK": [{"bank_content_id": 17, "distance": "0"}]})
r = s.get("/c/signal_type/index?signal_type=pdq")
H.check("... /c/signal_type/index counts it at once (17, not out of date)",
        r.status == 200 and r.json().get("pdq", {}).get("index_size") == 17
        and r.json()["pdq"].get("index_out_of_date") is False and list(r.json()) == ["pdq"],
        r.describe())
H.expect_json("DELETE content 17", s.delete("/c/bank/TEST_BANK/content/17"), 200, {"deleted": 1})
H.expect_json("... gone from the very next /m/lookup", lookup(s, "5" * 64), 200, {})

# video_md5 (HMA's sample data: VideoMD5Signal.get_examples())
r = s.post("/c/bank/TEST_BANK/signal", json_body={"video_md5": H.MD5_EXAMPLES[1]})
H.expect_json("POST /signal {video_md5: d41d8cd98f00b204e9800998ecf8427e} -> id 18", r, 200,
              {"id": 18, "signals": {"video_md5": H.MD5_EXAMPLES[1]}})
H.expect_json("GET /m/lookup video_md5 d41d8cd9... -> distance \"-\"",
              lookup(s, H.MD5_EXAMPLES[1], "video_md5"), 200,
              {"TEST_BANK": [{"bank_content_id": 18, "distance": "-"}]})
H.expect_json("raw_lookup video_md5 with distance",
              raw(s, H.MD5_EXAMPLES[1], "video_md5", "&include_distance=true"), 200,
              {"matches": [{"bank_content_id": 18, "distance": "-"}]})
H.expect_json("video_md5 lookups normalise case and spaces (validate_signal_str)",
              s.get("/m/lookup?" + H.q({"signal_type": "video_md5",
                                        "signal": " %s " % H.MD5_EXAMPLES[1].upper()})),
              200, {"TEST_BANK": [{"bank_content_id": 18, "distance": "-"}]})
H.expect_json("video_md5 cab08b36... is not banked -> {}",
              lookup(s, H.MD5_EXAMPLES[0], "video_md5"), 200, {})

# signal types and content types
r = s.get("/c/signal_type")
j = r.json()
H.check("GET /c/signal_type lists pdq and video_md5 enabled (ratio 1.0)",
        r.status == 200 and isinstance(j, list)
        and {"name": "pdq", "enabled_ratio": 1.0} in j
        and {"name": "video_md5", "enabled_ratio": 1.0} in j
        and all(set(x) == {"name", "enabled_ratio"} for x in j), r.describe())
H.expect_json("GET /c/content_type", s.get("/c/content_type"), 200,
              [{"name": "photo", "enabled": True}, {"name": "video", "enabled": True}])
r = s.put("/c/signal_type/video_md5", json_body={"enabled_ratio": 0})
H.check("PUT /c/signal_type/video_md5 {enabled_ratio: 0} -> 204, no body",
        r.status == 204 and r.body == b"", r.describe())
H.check("... GET /c/signal_type shows 0.0",
        {"name": "video_md5", "enabled_ratio": 0.0} in s.get("/c/signal_type").json(),
        s.get("/c/signal_type").describe())
H.expect_error("... lookups of video_md5 -> 400 not enabled",
               lookup(s, H.MD5_EXAMPLES[1], "video_md5"), 400, "not enabled")
r = s.put("/c/signal_type/video_md5", json_body={"enabled_ratio": "1.0"})
H.eq("PUT /c/signal_type/video_md5 {enabled_ratio: \"1.0\"} -> 204", r.status, 204)
H.expect_json("... video_md5 lookups work again", lookup(s, H.MD5_EXAMPLES[1], "video_md5"),
              200, {"TEST_BANK": [{"bank_content_id": 18, "distance": "-"}]})
H.expect_error("PUT /c/signal_type/no_such_type -> 404 (veto; documented)",
               s.put("/c/signal_type/no_such_type", json_body={"enabled_ratio": 1}), 404)
H.expect_error("GET /m/lookup signal_type=no_such_type -> 400",
               lookup(s, PDQ1, "no_such_type"), 400)
H.expect_error("GET /m/lookup without signal or url -> 400", s.get("/m/lookup"), 400)
s.stop()

# ============================================================ multiple banks
# test_match_api.py: client_with_multi_bank_data
s = fresh("multibank")
sig = H.PDQ_EXAMPLES[0]
for b in ("BANK_A", "BANK_B", "BANK_C"):
    create_bank(s, b)
    r = s.post("/c/bank/%s/signal" % b, json_body={"pdq": sig})
    H.eq("add PdqSignal.get_examples()[0] to %s" % b, r.status, 200)


def raw_count(banks=None, dist=False):
    p = {"signal": sig, "signal_type": "pdq"}
    if banks is not None:
        p["banks"] = banks
    if dist:
        p["include_distance"] = "True"
    r = s.get("/m/raw_lookup?" + H.q(p))
    if r.status != 200:
        H.fail("raw_lookup banks=%s" % banks, r.describe())
    return r.json()["matches"]


H.eq("test_raw_lookup_with_bank_filter: no filter -> 3 matches", len(raw_count()), 3)
H.eq("... banks=BANK_A -> 1", raw_count("BANK_A"), [1])
H.eq("... banks=BANK_A,BANK_B -> 2", sorted(raw_count("BANK_A,BANK_B")), [1, 2])
H.eq("... banks=NON_EXISTENT_BANK -> 0", raw_count("NON_EXISTENT_BANK"), [])
H.eq("... banks=BANK_ (a prefix) -> 0", raw_count("BANK_"), [])
m = raw_count("BANK_A,BANK_B", dist=True)
H.eq("test_raw_lookup_with_distance_and_bank_filter -> 2 with ids and distances",
     sorted(m, key=lambda x: x["bank_content_id"]),
     [{"bank_content_id": 1, "distance": "0"}, {"bank_content_id": 2, "distance": "0"}])


def lk(banks=None):
    p = {"signal": sig, "signal_type": "pdq"}
    if banks is not None:
        p["banks"] = banks
    r = s.get("/m/lookup?" + H.q(p))
    if r.status != 200:
        H.fail("lookup banks=%s" % banks, r.describe())
    return r.json()


one = lambda i: [{"bank_content_id": i, "distance": "0"}]  # noqa: E731
H.eq("test_lookup_with_bank_filter: no filter -> BANK_A, BANK_B, BANK_C", lk(),
     {"BANK_A": one(1), "BANK_B": one(2), "BANK_C": one(3)})
H.eq("... banks=BANK_A", lk("BANK_A"), {"BANK_A": one(1)})
H.eq("... banks=BANK_A,BANK_C", lk("BANK_A,BANK_C"), {"BANK_A": one(1), "BANK_C": one(3)})
H.eq("... banks=NON_EXISTENT_BANK -> {}", lk("NON_EXISTENT_BANK"), {})
# test_raw_lookups / test_lookups: every signal type finds its example
r = s.post("/c/bank/BANK_A/signal", json_body={"video_md5": H.MD5_EXAMPLES[0]})
H.eq("add VideoMD5Signal.get_examples()[0] to BANK_A", r.status, 200)
for st, ex in (("pdq", sig), ("video_md5", H.MD5_EXAMPLES[0])):
    r = raw(s, ex, st)
    H.check("test_raw_lookups %s: >= 1 match" % st,
            r.status == 200 and len(r.json().get("matches", [])) >= 1, r.describe())
    r = raw(s, ex, st, "&include_distance=True")
    H.check("test_raw_lookups %s with distance: bank_content_id and distance" % st,
            r.status == 200 and all(set(x) == {"bank_content_id", "distance"}
                                    for x in r.json()["matches"]), r.describe())
s.stop()

# ============================================================ video
s = fresh("video")
t0 = time.time()
r = s.upload("/h/hash", "video", VIDEO_NAME + ".mp4", VIDEO_BYTES, "video/mp4")
secs = time.time() - t0
j = r.json()
H.check("POST /h/hash video=%s.mp4 -> 200 {video_md5, vpdq, tmk} (%.1f s)" % (VIDEO_NAME, secs),
        r.status == 200 and isinstance(j, dict) and set(j) == {"video_md5", "vpdq", "tmk"},
        r.describe())
H.eq("video_md5 is the MD5 of the uploaded bytes", j["video_md5"],
     hashlib.md5(VIDEO_BYTES).hexdigest())
try:
    frames = json.loads(j["vpdq"])
except ValueError:
    frames = None
H.check("vpdq is python-threatexchange's string: a JSON list of \"hash,quality,ts\"",
        isinstance(frames, list) and frames and all(isinstance(x, str) for x in frames),
        repr(j["vpdq"][:300]))
expected = []
with open(os.path.join(h.testdata, "video", "expected-vpdq", VIDEO_NAME + ".txt")) as f:
    for line in f:
        p = line.strip().split(",")
        if len(p) == 4:
            expected.append((float(p[3]), p[2]))
worst = 0
for fr in frames:
    parts = fr.split(",")
    if len(parts) != 3 or len(parts[0]) != 64 or not parts[1].isdigit():
        H.fail("vpdq frame format", "bad frame %r" % fr)
    ts = float(parts[2])
    if parts[2] != format(ts, ".3"):
        H.fail("vpdq timestamps as VpdqCompactFeature.__str__ prints them ({:.3})",
               "frame %r: expected timestamp %r" % (fr, format(ts, ".3")))
    near = min(expected, key=lambda e: abs(e[0] - ts))
    worst = max(worst, H.hamming(near[1], parts[0]))
duration = expected[-1][0]
H.check("one vpdq frame per second (%d frames for %.1f s)" % (len(frames), duration),
        abs(len(frames) - (int(duration) + 1)) <= 1, "%d frames" % len(frames))
H.check("vpdq frames agree with the reference vpdq-hash-video (max distance %d <= 31)" % worst,
        worst <= 31, "max distance %d" % worst)
H.ok("vpdq timestamps are printed as python-threatexchange does ({:.3})")
try:
    tmk = base64.b64decode(j["tmk"], validate=True)
except ValueError:
    tmk = b""
with open(os.path.join(h.testdata, "video", "expected-tmk", VIDEO_NAME + ".tmk"), "rb") as f:
    ref_tmk = f.read()
H.check("tmk is base64 of a %d-byte .tmk file" % len(ref_tmk), len(tmk) == len(ref_tmk),
        "%d bytes" % len(tmk))
if tmk != ref_tmk:
    H.fail("tmk is byte-identical to the reference tmk-hash-video's file",
           "first differing byte at offset %d"
           % next(i for i in range(len(tmk)) if tmk[i] != ref_tmk[i]))
H.ok("tmk is byte-identical to the reference tmk-hash-video's file")
video_hashes = j
# bank the video, then find it by each of its signals
create_bank(s, "VIDEO_BANK")
r = s.upload("/c/bank/VIDEO_BANK/content", "video", "v.mp4", VIDEO_BYTES, "video/mp4")
H.expect_json("POST /c/bank/VIDEO_BANK/content video upload -> id 1 with the 3 signals", r, 200,
              {"id": 1, "signals": video_hashes})
for st in ("video_md5", "vpdq"):  # (a tmk is 350 kB of base64: too long for a URL)
    r = s.get("/m/raw_lookup?" + H.q({"signal_type": st, "signal": video_hashes[st]}))
    H.expect_json("raw_lookup %s of the banked video -> [1]" % st, r, 200, {"matches": [1]})
r = s.post("/m/compare", json_body={"tmk": [video_hashes["tmk"], video_hashes["tmk"]]})
H.check("POST /m/compare tmk with itself -> [true, {level1, level2}]",
        r.status == 200 and r.json().get("tmk", [None])[0] is True
        and set(r.json()["tmk"][1]) == {"level1", "level2"}, r.describe())
r = s.post("/m/compare", json_body={"vpdq": [video_hashes["vpdq"], video_hashes["vpdq"]]})
H.check("POST /m/compare vpdq with itself -> [true, {query/compared 100%}]",
        r.status == 200 and r.json().get("vpdq", [None])[0] is True
        and r.json()["vpdq"][1] == {"query_match_percent": 100.0,
                                    "compared_match_percent": 100.0}, r.describe())
r = s.upload("/m/lookup", "video", "v.mp4", VIDEO_BYTES, "video/mp4")
H.check("POST /m/lookup video upload -> every signal type finds content 1",
        r.status == 200 and set(r.json()) == {"video_md5", "vpdq", "tmk"}
        and all([m["bank_content_id"] for m in v.get("VIDEO_BANK", [])] == [1]
                for v in r.json().values()), r.describe())
s.stop()

files.close()
H.done(PROG)
