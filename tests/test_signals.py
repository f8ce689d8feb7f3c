"""test_signals.py - `veto signals` end to end against the provenance corpus.

    python3 tests/test_signals.py VETO_BINARY TESTDATA_DIR

Every file listed in TESTDATA/provenance/INDEX.tsv is run through
`veto signals --json` and checked against its class:
  - C.jpg, CA.jpg, XCA.jpg: validity and status codes agree with c2pa-rs's
    own reader output (c2pa/expected/*.json): the same failures, and every
    success and informational code c2pa-rs gives (veto adds only the
    signingCredential.* trust codes, since c2pa-rs ran without a trust list);
  - tampered fixtures: invalid with the failure code that names the damage;
  - AI-declared fixtures: ai_declared with the right term and evidence;
  - BMFF: the claim and the c2pa.hash.bmff.v2 binding validate; the fMP4
    init segment's binding (needs its fragments) is listed as not validated;
  - remote / sidecar: the URL is reported; the sidecar store validates
    against cloud.jpg and fails against cloudx.jpg;
  - no manifest: c2pa absent;
  - generator metadata: the right tool, as unsigned metadata;
  - watermarks: the reference decoder's bit counts, exactly.
Then byte-patched copies of C.jpg (one byte flipped in the claim, in an
assertion, in the pixels, in the signature; the store truncated) must each
be reported with the failure code for that damage, and never crash.
Standard library only.
"""

import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

VETO, DATA = sys.argv[1], sys.argv[2]
PROV = os.path.join(DATA, "provenance")
TRUST = os.path.join(PROV, "c2pa/trust/test_cert_root_bundle.pem")
checks = 0


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, what, detail=""):
    global checks
    checks += 1
    if not cond:
        fail(what + (("\n  " + detail) if detail else ""))
    print("ok   " + what)


def signals(path, *extra):
    p = subprocess.run([VETO, "signals", "--json", *extra, path], capture_output=True)
    if p.returncode != 0:
        fail("veto signals %s %s: exit %d: %s" % (" ".join(extra), path, p.returncode,
                                                  p.stderr.decode(errors="replace")))
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        fail("veto signals %s: output is not JSON (%s): %r" % (path, e, p.stdout[:300]))


def codes(c2pa, kind, group=None):
    vr = c2pa["validation_results"]
    if group is None:
        lst = vr["activeManifest"][kind]
    else:
        lst = [s for d in vr.get("ingredientDeltas", []) for s in d["validationDeltas"][kind]]
    return sorted((s["code"], s.get("url", "")) for s in lst)


def all_failures(c2pa):
    return sorted(s["code"] for s in c2pa["validation_status"])


TRUST_CODES = ("signingCredential.",)

# ------------------------------------------------------------------ index
rows = []
with open(os.path.join(PROV, "INDEX.tsv")) as f:
    head = f.readline().rstrip("\n").split("\t")
    for line in f:
        if line.strip():
            rows.append(dict(zip(head, line.rstrip("\n").split("\t"))))
check(len(rows) >= 40, "INDEX.tsv lists the corpus (%d files)" % len(rows))
for r in rows:
    p = os.path.join(PROV, r["path"])
    with open(p, "rb") as f:
        check(hashlib.sha256(f.read()).hexdigest() == r["sha256"], "sha256 of " + r["path"])

classes = {r["path"]: r["class"] for r in rows}
handled = set()


def mark(path):
    handled.add(path)
    return os.path.join(PROV, path)


# ----------------------------------------- c2pa-rs known-good agreement
for name in ("C", "CA", "XCA"):
    exp = json.load(open(mark("c2pa/expected/%s.json" % name)))
    for trust in (False, True):
        rep = signals(mark("c2pa/%s.jpg" % name), *(["--trust", TRUST] if trust else []))
        c = rep["c2pa"]
        tag = "%s.jpg%s" % (name, " --trust" if trust else "")
        check(c is not None, tag + ": manifest store found")
        check(c["active_manifest"] == exp["active_manifest"], tag + ": active manifest label")
        state = {"Valid": "untrusted-but-intact", "Invalid": "invalid"}[exp["validation_state"]]
        if trust and state != "invalid":
            state = "valid"
        check(c["state"] == state, tag + ": state %s" % state, "got %s" % c["state"])
        for kind in ("success", "informational", "failure"):
            want = sorted((s["code"], s.get("url", "")) for s in
                          exp["validation_results"]["activeManifest"][kind])
            got = [x for x in codes(c, kind) if not x[0].startswith(TRUST_CODES)]
            check(got == want, tag + ": activeManifest %s codes agree with c2pa-rs" % kind,
                  "want %s\n  got  %s" % (want, got))
        want_d = sorted((s["code"], s.get("url", "")) for d in
                        exp["validation_results"].get("ingredientDeltas", [])
                        for k in ("success", "informational", "failure")
                        for s in d["validationDeltas"][k])
        got_d = sorted(codes(c, "success", 1) + codes(c, "informational", 1) + codes(c, "failure", 1))
        check(got_d == want_d, tag + ": ingredientDeltas agree with c2pa-rs", "want %s got %s" % (want_d, got_d))
        want_vs = sorted(s["code"] for s in exp.get("validation_status", []))
        got_vs = [x for x in all_failures(c) if not x.startswith(TRUST_CODES)]
        check(got_vs == want_vs, tag + ": validation_status agrees", "want %s got %s" % (want_vs, got_vs))
        trust_code = "signingCredential.trusted" if trust else "signingCredential.untrusted"
        check(any(s["code"] == trust_code for k in ("success", "failure")
                  for s in c["validation_results"]["activeManifest"][k]), tag + ": " + trust_code)
        m = c["manifests"][c["active_manifest"]]
        em = exp["manifests"][exp["active_manifest"]]
        for k in ("alg", "issuer", "common_name", "cert_serial_number", "time"):
            check(m["signature_info"].get(k) == em["signature_info"][k], tag + ": signature_info." + k,
                  "want %r got %r" % (em["signature_info"][k], m["signature_info"].get(k)))
        for k in ("claim_generator", "title", "format", "instance_id"):
            check(m.get(k) == em[k], tag + ": " + k)
        check([i.get("title") for i in m["ingredients"]] == [i["title"] for i in em.get("ingredients", [])],
              tag + ": ingredients")
        labels = sorted(a["label"] for a in m["assertions"])
        for a in em["assertions"]:
            base = a["label"].replace("c2pa.actions.v2", "c2pa.actions")
            check(base in labels or a["label"] in labels, tag + ": assertion " + a["label"] + " reported")
    c = signals(os.path.join(PROV, "c2pa/C.jpg"))
    d = c["c2pa"]["ai_declarations"]
    check(len(d) == 1 and d[0]["term"] == "algorithmicMedia" and not d[0]["ai"],
          "C.jpg: algorithmicMedia declared, and not counted as generative AI")
    check(not c["summary"]["ai_declared"], "C.jpg: summary says no AI declaration")

# ---------------------------------------------------------- other classes
def rep_of(path, *extra):
    return signals(mark(path), *extra)


r = rep_of("c2pa/E-sig-CA.jpg")
check(r["c2pa"]["state"] == "invalid", "E-sig-CA.jpg: invalid")
check("claimSignature.mismatch" in all_failures(r["c2pa"]), "E-sig-CA.jpg: claimSignature.mismatch",
      str(all_failures(r["c2pa"])))

r = rep_of("c2pa/CIE-sig-CA.jpg")
c = r["c2pa"]
check(len(c["manifests"]) == 2, "CIE-sig-CA.jpg: two manifests")
check(("claimSignature.validated", "self#jumbf=/c2pa/%s/c2pa.signature" % c["active_manifest"])
      in codes(c, "success"), "CIE-sig-CA.jpg: the active manifest's signature verifies")
ing_fail = [s["code"] for s in c.get("ingredient_history", [])] + all_failures(c)
check("claimSignature.mismatch" in ing_fail, "CIE-sig-CA.jpg: the ingredient's signature failure is reported",
      json.dumps(c.get("ingredient_history")))

r = rep_of("c2pa/CACAE-uri-CA.jpg")
c = r["c2pa"]
check(len(c["manifests"]) == 3, "CACAE-uri-CA.jpg: three manifests")
ing_fail = [s["code"] for s in c.get("ingredient_history", [])] + all_failures(c)
check("assertion.hashedURI.mismatch" in ing_fail, "CACAE-uri-CA.jpg: assertion.hashedURI.mismatch reported",
      json.dumps(c.get("ingredient_history")))

r = rep_of("c2pa/ocsp.jpg")
c = r["c2pa"]
check(c["state"] != "invalid", "ocsp.jpg: intact", str(all_failures(c)))
check(r["summary"]["ai_declared"], "ocsp.jpg: AI declared")
terms = {(d["term"], d["in_active_manifest"]) for d in c["ai_declarations"]}
check(("compositeWithTrainedAlgorithmicMedia", True) in terms, "ocsp.jpg: Photoshop composite with trained AI")
check(("trainedAlgorithmicMedia", False) in terms, "ocsp.jpg: Firefly ingredient trained AI")
check(r["summary"]["ai_strongest_evidence"] == "c2pa-signed-untrusted",
      "ocsp.jpg: evidence is a signed, intact, untrusted (no trust list) manifest")

for t in (False, True):
    r = rep_of("c2pa/C_with_CAWG_data.jpg", *(["--trust", TRUST] if t else []))
    c = r["c2pa"]
    check(c["state"] == ("valid" if t else "untrusted-but-intact"), "C_with_CAWG_data.jpg: state" + (" --trust" if t else ""),
          str(all_failures(c)))
    check(c["manifests"][c["active_manifest"]]["claim_version"] == 2, "C_with_CAWG_data.jpg: claim v2")

r = rep_of("c2pa/no_alg.jpg")
check("algorithm.unsupported" in all_failures(r["c2pa"]), "no_alg.jpg: algorithm.unsupported",
      str(all_failures(r["c2pa"])))
check(r["c2pa"]["state"] == "invalid", "no_alg.jpg: invalid")

r = rep_of("c2pa/update_manifest.jpg")
c = r["c2pa"]
check(c["state"] != "invalid", "update_manifest.jpg: intact", str(all_failures(c)))
check(any(s[0] == "assertion.dataHash.match" for s in codes(c, "success")),
      "update_manifest.jpg: the parent's data hash matches")

r = rep_of("c2pa/cloud.jpg")
check(r["c2pa"] is None and r["summary"]["c2pa"] == "remote-only", "cloud.jpg: no embedded store, remote only")
check(r["remote_manifest"].startswith("https://cai-manifests.adobe.com/manifests/adobe-urn-uuid-5f37e182"),
      "cloud.jpg: remote manifest URL reported")
r = rep_of("c2pa/cloud.jpg", "--manifest", os.path.join(PROV, "c2pa/cloud_manifest.c2pa"))
c = r["c2pa"]
check(c["source"] == "sidecar" and c["state"] != "invalid", "cloud.jpg + its manifest: intact",
      str(all_failures(c)))
check(any(s[0] == "assertion.dataHash.match" for s in codes(c, "success")), "cloud.jpg + manifest: data hash matches")
r = rep_of("c2pa/cloudx.jpg", "--manifest", os.path.join(PROV, "c2pa/cloud_manifest.c2pa"))
check("assertion.dataHash.mismatch" in all_failures(r["c2pa"]), "cloudx.jpg + manifest: assertion.dataHash.mismatch")
check("cai-manifestx" in (r["remote_manifest"] or ""), "cloudx.jpg: the altered URL is reported")
r = rep_of("c2pa/cloud_manifest.c2pa")
c = r["c2pa"]
check(r["format"] == "c2pa" and c["source"] == "manifest-store-file", "cloud_manifest.c2pa read as a store")
check(any(s[0] == "claimSignature.validated" for s in codes(c, "success")), "cloud_manifest.c2pa: signature verifies (x5chain unprotected)")
check(any("hash.data" in n["what"] for n in c["not_validated"]), "cloud_manifest.c2pa: data hash listed as not validated (no asset)")

r = rep_of("c2pa/no_manifest.jpg")
check(r["c2pa"] is None and r["remote_manifest"] is None and r["summary"]["c2pa"] == "absent",
      "no_manifest.jpg: no manifest")
check(r["missing_manifest"]["reference"].startswith("self#jumbf=/c2pa/adobe:urn:uuid:5f5bba8c"),
      "no_manifest.jpg: its XMP still names the embedded manifest it lost (stripped)")
for p in ("c2pa/libpng-test.png", "c2pa/sample1.webp", "c2pa/sample1.avif"):
    r = rep_of(p)
    check(r["c2pa"] is None and r["summary"]["c2pa"] == "absent" and not r["summary"]["ai_declared"],
          p + ": no manifest, nothing declared")
r = rep_of("c2pa/libpng-test_with_url.png")
check(r["remote_manifest"] == "http://localhost:5000/libpng-test.c2pa", "libpng-test_with_url.png: remote URL")

for p in ("c2pa/dashinit.mp4", "c2pa/video1.mp4", "c2pa/trustnxt-icon-signed-v2-bmff.heic"):
    r = rep_of(p)
    c = r["c2pa"]
    check(r["format"] == "bmff" and c is not None, p + ": BMFF store found")
    check(any(s[0] == "claimSignature.validated" for s in codes(c, "success")), p + ": claim signature verifies",
          str(all_failures(c)))
    check(c["state"] != "invalid", p + ": nothing failed", str(all_failures(c)))
    if p.endswith("dashinit.mp4"):
        # an fMP4 init segment: its binding (initHash / merkle) needs the fragments
        check(any("c2pa.hash.bmff" in n["what"] and "fragment" in n["why"] for n in c["not_validated"]),
              p + ": fragmented binding listed as not validated")
    else:
        check(any(s[0] == "assertion.bmffHash.match" for s in codes(c, "success")), p + ": assertion.bmffHash.match")
        check(not c["not_validated"], p + ": everything validated", str(c["not_validated"]))

r = rep_of("c2pa/amazon-titan-g1.png")
c = r["c2pa"]
check(c["state"] != "invalid" and any(s[0] == "assertion.dataHash.match" for s in codes(c, "success")),
      "amazon-titan-g1.png: intact, data hash matches", str(all_failures(c)))
check(any(d["term"] == "trainedAlgorithmicMedia" and d["ai"] for d in c["ai_declarations"]),
      "amazon-titan-g1.png: trainedAlgorithmicMedia")
check(r["summary"]["ai_declared"], "amazon-titan-g1.png: AI declared")

r = rep_of("c2pa/firefly_thirdparty_gemini.png")
c = r["c2pa"]
check(c["state"] != "invalid", "firefly_thirdparty_gemini.png: intact", str(all_failures(c)))
check(any(d["ai"] and "com.adobe.digitalSourceType" in d["field"] for d in c["ai_declarations"]),
      "firefly_thirdparty_gemini.png: vendor parameter com.adobe.digitalSourceType declares AI")
mark("c2pa/trust/test_cert_root_bundle.pem")

# ------------------------------------------------------- generator metadata
tools = {"automatic1111_cropped.png": "AUTOMATIC1111", "automatic1111_cropped.jpg": "AUTOMATIC1111",
         "automatic1111_stealth.png": "AUTOMATIC1111", "img2img_cropped.png": "ComfyUI",
         "fooocus1_cropped.png": "Fooocus", "invokeai_dream1.png": "InvokeAI",
         "invokeai_imeta1.png": "InvokeAI", "invokeai_sdmeta1.png": "InvokeAI",
         "novelai1_cropped.png": "NovelAI"}
for f, tool in tools.items():
    r = rep_of("genmeta/" + f)
    gens = [s for s in r["signals"] if s["evidence"] == "unsigned-metadata" and s["what"] == tool and s["ai"]]
    check(gens, "genmeta/%s: %s record, as unsigned metadata" % (f, tool),
          json.dumps(r["signals"])[:400])
    check(r["summary"]["ai_declared"] and r["summary"]["ai_strongest_evidence"] == "unsigned-metadata",
          "genmeta/%s: AI declared by unsigned metadata" % f)
mark("genmeta/LICENSE-sd-parsers.txt")

# --------------------------------------------------------------- watermark
ref = json.load(open(mark("watermark/imwatermark_reference_decode.json")))["results"]
for f, counts in sorted(ref.items()):
    r = rep_of("watermark/" + f)
    res = {x["payload"]: x for x in r["watermark"]["results"]}
    for key, payload in (("sd1_matched", "SD1"), ("sd2_matched", "SD2"), ("sdxl_matched", "SDXL")):
        got = "%d/%d" % (res[payload]["matched"], res[payload]["bits"])
        check(got == counts[key], "watermark/%s: %s %s" % (f, payload, counts[key]), "got " + got)
    detected = sorted(p for p, x in res.items() if x["verdict"] == "very likely")
    want = {"sd1_dwtdct_512.png": ["SD1"], "sd2_dwtdct_512.png": ["SD2"],
            "sdxl_dwtdct_512.png": ["SDXL"]}.get(f, [])
    check(detected == want, "watermark/%s: detected %s" % (f, want or "nothing"), "got %s" % detected)

missing = sorted(set(classes) - handled)
check(not missing, "every INDEX.tsv file was checked", "unchecked: %s" % missing)

# ------------------------------------------------------- byte-patched C.jpg
src = open(os.path.join(PROV, "c2pa/C.jpg"), "rb").read()


def jumbf_boxes(buf, off, end, path, out):
    """(label path, box type, payload start, payload end) for every box."""
    while off + 8 <= end:
        lbox, tbox = struct.unpack(">I4s", buf[off:off + 8])
        hdr = 8
        if lbox == 1:
            lbox = struct.unpack(">Q", buf[off + 8:off + 16])[0]
            hdr = 16
        if lbox < hdr or off + lbox > end:
            break
        p0, p1 = off + hdr, off + lbox
        if tbox == b"jumb":
            dl = struct.unpack(">I", buf[p0:p0 + 4])[0]
            d = buf[p0 + 8:p0 + dl]
            label = d[17:d.index(b"\0", 17)].decode() if d[16] & 2 else ""
            out.append((path + "/" + label, "jumb", p0, p1))
            jumbf_boxes(buf, p0 + dl, p1, path + "/" + label, out)
        else:
            out.append((path, tbox.decode("latin-1"), p0, p1))
        off += lbox


# C.jpg holds its store in one APP11 segment: find it.
pos, store = 2, None
while pos < len(src):
    marker, ln = struct.unpack(">HH", src[pos:pos + 4])
    if marker == 0xFFEB and src[pos + 4:pos + 6] == b"JP":
        store = (pos + 12, pos + 2 + ln)
        break
    pos += 2 + ln
check(store is not None, "C.jpg: APP11 store located for patching")
boxes = []
jumbf_boxes(src, store[0], store[1], "", boxes)


def box(label_end, typ):
    for path, t, p0, p1 in boxes:
        if path.endswith(label_end) and t == typ:
            return p0, p1
    fail("no %s box under %s" % (typ, label_end))


tmp = tempfile.mkdtemp(prefix="veto-signals-")


def patched(name, offset, new=None):
    b = bytearray(src)
    b[offset] = new if new is not None else b[offset] ^ 0x01
    p = os.path.join(tmp, name)
    open(p, "wb").write(bytes(b))
    return p


c0, c1 = box("/c2pa.claim", "cbor")
i = src.index(b"make_test_images", c0, c1)
r = signals(patched("claim.jpg", i + 3))
check("claimSignature.mismatch" in all_failures(r["c2pa"]) and r["c2pa"]["state"] == "invalid",
      "patched claim byte: claimSignature.mismatch", str(all_failures(r["c2pa"])))

a0, a1 = box("/stds.schema-org.CreativeWork", "json") if any(
    p.endswith("/stds.schema-org.CreativeWork") and t == "json" for p, t, _, _ in boxes) else \
    box("/stds.schema-org.CreativeWork", "cbor")
i = src.index(b"John Doe", a0, a1)
r = signals(patched("assertion.jpg", i + 1))
check("assertion.hashedURI.mismatch" in all_failures(r["c2pa"]), "patched assertion byte: assertion.hashedURI.mismatch",
      str(all_failures(r["c2pa"])))

r = signals(patched("pixels.jpg", len(src) - 100))
check([x for x in all_failures(r["c2pa"]) if x != "signingCredential.untrusted"] == ["assertion.dataHash.mismatch"],
      "patched pixel byte: assertion.dataHash.mismatch only (beside the untrusted signer)",
      str(all_failures(r["c2pa"])))

s0, s1 = box("/c2pa.signature", "cbor")
r = signals(patched("signature.jpg", s1 - 5))
check("claimSignature.mismatch" in all_failures(r["c2pa"]), "patched signature byte: claimSignature.mismatch",
      str(all_failures(r["c2pa"])))

# A byte flipped near the end of video1.mp4 (media data, not excluded).
v = bytearray(open(os.path.join(PROV, "c2pa/video1.mp4"), "rb").read())
v[len(v) - 1000] ^= 0x01
pv = os.path.join(tmp, "video1-patched.mp4")
open(pv, "wb").write(bytes(v))
r = signals(pv)
check("assertion.bmffHash.mismatch" in all_failures(r["c2pa"]) and r["c2pa"]["state"] == "invalid",
      "patched video byte: assertion.bmffHash.mismatch", str(all_failures(r["c2pa"])))

# Damaged structure: every one still gives a report (exit 0), flags a
# problem or a failure, and never crashes.
for name, data in (("truncated-store.jpg", src[:store[0] + 600]),
                   ("truncated-mid.jpg", src[:len(src) // 2]),
                   ("jumbf-length.jpg", src[:store[0]] + b"\xff\xff\xff\xff" + src[store[0] + 4:])):
    p = os.path.join(tmp, name)
    open(p, "wb").write(data)
    r = signals(p)
    bad = r["problems"] or (r["c2pa"] and r["c2pa"]["state"] == "invalid")
    check(bad, "damaged %s: reported as damaged" % name, json.dumps(r)[:300])

# --fetch-remote: libpng-test_with_url.png names http://localhost:5000/libpng-test.c2pa
# in its XMP. A copy points at a local server on a free port instead (the
# PNG's iTXt rewritten, CRC fixed; it has no manifest whose hash this could
# break), which serves a real store there: cloud.jpg's, so the claim must
# verify and the data hash must not (a store made for another file).
import http.server
import threading
import zlib


class Store(http.server.BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):
        Store.hits.append(self.path)
        body = open(os.path.join(PROV, "c2pa/cloud_manifest.c2pa"), "rb").read()
        if self.path != "/libpng-test.c2pa":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/c2pa")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Store)
port = srv.server_address[1]
threading.Thread(target=srv.serve_forever, daemon=True).start()
old_url = b"http://localhost:5000/libpng-test.c2pa"
new_url = ("http://127.0.0.1:%d/libpng-test.c2pa" % port).encode()
src_png = open(os.path.join(PROV, "c2pa/libpng-test_with_url.png"), "rb").read()
out, pos = bytearray(src_png[:8]), 8
while pos < len(src_png):
    ln, typ = struct.unpack(">I4s", src_png[pos:pos + 8])
    data = src_png[pos + 8:pos + 8 + ln]
    if typ == b"iTXt" and old_url in data:
        data = data.replace(old_url, new_url)
    out += struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data) & 0xffffffff)
    pos += 12 + ln
check(new_url in out, "--fetch-remote: a copy of libpng-test_with_url.png points at the local server")
png = os.path.join(tmp, "with_url.png")
open(png, "wb").write(bytes(out))
r = signals(png)
check(r["c2pa"] is None and r["remote_manifest"] == new_url.decode() and not Store.hits,
      "without --fetch-remote nothing is fetched")
r = signals(png, "--fetch-remote")
c = r["c2pa"]
check(Store.hits == ["/libpng-test.c2pa"], "--fetch-remote: the manifest URL was fetched once")
check(c is not None and c["source"] == "remote" and c["fetched_from"] == new_url.decode(),
      "--fetch-remote: the fetched store is reported as remote, with its URL")
check(any(x[0] == "claimSignature.validated" for x in codes(c, "success")), "--fetch-remote: its claim signature verifies")
check("assertion.dataHash.mismatch" in all_failures(c) and c["state"] == "invalid",
      "--fetch-remote: a store made for another file does not bind this one")
srv.shutdown()
srv.server_close()
q = subprocess.run([VETO, "signals", "--fetch-remote", png], capture_output=True)
check(q.returncode == 1 and str(port).encode() in q.stderr, "--fetch-remote with the server gone: exit 1 naming the URL",
      q.stderr.decode(errors="replace"))

# A directory is walked; files that are no format veto reads are skipped.
q = subprocess.run([VETO, "signals", "--json", os.path.join(PROV, "watermark")], capture_output=True)
reps = json.loads(q.stdout) if q.returncode == 0 else None
check(isinstance(reps, list) and len(reps) == 6 and b"1 file in directories skipped" in q.stderr,
      "a directory: one report per image (6), the JSON file skipped and counted",
      "exit %d, stderr %s" % (q.returncode, q.stderr.decode(errors="replace")))

# Not an image at all: a clear error naming the file, exit 1.
p = os.path.join(tmp, "notes.txt")
open(p, "w").write("hello\n")
q = subprocess.run([VETO, "signals", p], capture_output=True)
check(q.returncode == 1 and b"notes.txt" in q.stderr, "a text file: exit 1 and a message naming it",
      q.stderr.decode(errors="replace"))
q = subprocess.run([VETO, "signals", "--trust", p, os.path.join(PROV, "c2pa/C.jpg")], capture_output=True)
check(q.returncode == 1 and b"notes.txt" in q.stderr, "a trust file without certificates: exit 1, named")
q = subprocess.run([VETO, "signals", os.path.join(PROV, "c2pa/C.jpg")], capture_output=True)
check(q.returncode == 0 and b"C2PA untrusted-but-intact" in q.stdout, "human summary names the C2PA state",
      q.stdout.decode(errors="replace"))
print("%d checks passed" % checks)
