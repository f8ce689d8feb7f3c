/*
 * prov_meta.h - unsigned metadata evidence for `veto signals`.
 *
 * Three readers turn what prov_container.c pulls out of a file into a flat
 * list of findings a moderator can read:
 *
 *   prov_xmp.c       the XMP packet: IPTC DigitalSourceType (the one field
 *                    meant to say "made by generative AI"), the IPTC AI
 *                    properties, dcterms:provenance (where a remote C2PA
 *                    manifest lives), creator tool, credit, creator.
 *   prov_exiftags.c  EXIF IFD0 and the Exif sub-IFD: Make, Model,
 *                    Software, Artist, DateTime, ImageDescription,
 *                    DateTimeOriginal and UserComment in its four encodings.
 *   prov_genmeta.c   the generation records Stable Diffusion front ends
 *                    write (AUTOMATIC1111 and its forks, ComfyUI, Fooocus,
 *                    InvokeAI, NovelAI) in PNG text, EXIF comments and the
 *                    "stealth" LSB encoding in the pixels.
 *
 * None of this is signed: anyone can write or strip any of it. A finding is
 * what the file says about itself, never proof; `ai` marks the findings
 * that, if true, declare generative AI on their own.
 *
 * All input is hostile. Every length is checked against what is left, every
 * count and depth is capped (below), and malformed input becomes a line in
 * prov_meta.problems, never an error: the functions fail only for lack of
 * memory. Strings handed out are always valid UTF-8 without NUL bytes
 * (invalid bytes and NULs become U+FFFD).
 *
 * Ownership: a prov_meta starts zeroed (prov_meta m = {0};), any number of
 * prov_meta_* calls append to it, and prov_meta_free releases everything it
 * holds, including after a call that failed (it is always consistent).
 * Nothing points into the caller's input.
 */
#ifndef VETO_PROV_META_H
#define VETO_PROV_META_H

#include "prov.h"

#include <stddef.h>
#include <stdint.h>

/* Caps (hostile input). */
#define PROV_META_MAX_VALUE    (64u << 10) /* bytes of one value or detail field;
                                            * longer ones are cut (item.truncated) */
#define PROV_META_MAX_ITEMS    256         /* findings in one prov_meta */
#define PROV_META_MAX_PROBLEMS 64          /* problem lines in one prov_meta */
#define PROV_META_MAX_XML_NODES 200000     /* elements in one XMP packet */
#define PROV_META_MAX_STEALTH  (1u << 20)  /* inflated stealth payload */
#define PROV_META_MAX_JSON     (4u << 20)  /* a JSON text record parsed for details */

/* What an IPTC digital source type says (prov_dst_classify). */
enum prov_dst_class {
	PROV_DST_UNKNOWN = 0,  /* not a term of the vocabulary (or not a DST item) */
	PROV_DST_NOT_AI = 1,   /* capture, scan, human edit, digital art, ...:
	                        * a recognised term that declares no generative AI */
	PROV_DST_ALGORITHMIC = 2, /* algorithmicMedia: made purely by an algorithm
	                        * NOT trained on sampled content (a test gradient, a
	                        * fractal); reported as "algorithmic (not trained)",
	                        * ai = 0 */
	PROV_DST_AI = 3        /* trainedAlgorithmicMedia,
	                        * compositeWithTrainedAlgorithmicMedia,
	                        * compositeSynthetic, C2PA trainedAlgorithmicData:
	                        * generative AI made or contributed to the media */
};

/* One finding. */
typedef struct prov_meta_item {
	const char *kind;      /* static: "xmp", "exif" or "generator" */
	char *name;            /* what it is. XMP: canonical prefix:local whatever
	                        * prefix the packet used ("Iptc4xmpExt:DigitalSourceType",
	                        * "dcterms:provenance", "xmp:CreatorTool", ...).
	                        * EXIF: "exif:Software", "exif:UserComment", ...
	                        * Generator: the tool, "AUTOMATIC1111", "ComfyUI",
	                        * "Fooocus", "InvokeAI", "NovelAI", "SwarmUI", or "unknown" for a
	                        * stealth payload that is neither infotext nor JSON */
	char *value;           /* the value as found, UTF-8, at most
	                        * PROV_META_MAX_VALUE bytes (cut on a character
	                        * boundary; see truncated) */
	int truncated;         /* value (or a field of detail_json) was cut */
	char *source;          /* where: "xmp", "exif:0x9286", "png:tEXt:parameters",
	                        * "alpha-stealth:stealth_pngcomp", ... */
	int ai;                /* 1 when this item by itself declares generative AI
	                        * (a DigitalSourceType of class PROV_DST_AI, the IPTC
	                        * AI system / prompt properties, any SD front-end
	                        * record); 0 otherwise */
	int dst;               /* DigitalSourceType (and DigitalSourceFileType)
	                        * items: enum prov_dst_class;
	                        * PROV_DST_UNKNOWN for every other item */
	char *detail_json;     /* JSON object text (compact) with parsed fields, or
	                        * NULL. DigitalSourceType: {"term","class"}.
	                        * Generators: whichever of "prompt", "negative_prompt",
	                        * "model", "model_hash", "seed", "steps", "sampler",
	                        * "scheduler", "cfg_scale", "size", "version", ... the
	                        * record carries, every value a JSON string, plus
	                        * "parameters" (an object of all infotext key/values)
	                        * for infotext records */
} prov_meta_item;

typedef struct prov_meta {
	prov_meta_item *v;     /* findings in the order found */
	size_t n, cap;
	char **problems;       /* one line each ("xmp: not well-formed XML ...");
	                        * at most PROV_META_MAX_PROBLEMS (the last says so
	                        * when more were dropped) */
	size_t nproblems;
} prov_meta;

/*
 * The XMP packet xmp[0..len) (need not be NUL-terminated; trailing NULs and
 * padding are ignored). Parsed with expat in namespace mode: properties are
 * matched by namespace URI and local name, never by prefix, whether written
 * as an attribute of rdf:Description, as an element with text, as an
 * rdf:resource, or as rdf:Bag/Seq/Alt items (joined with "; "). Reports
 * Iptc4xmpExt:DigitalSourceType (http://iptc.org/std/Iptc4xmpExt/2008-02-29/)
 * and its retired predecessor DigitalSourceFileType (same vocabulary),
 * Iptc4xmpExt:AISystemUsed / AISystemVersionUsed / AIPromptInformation /
 * AIPromptWriterName, dcterms:provenance (http://purl.org/dc/terms/: the
 * remote C2PA manifest URL), xmp:CreatorTool, photoshop:Credit,
 * dc:creator. A DOCTYPE (and so any entity declaration) is refused, as are
 * more than PROV_MAX_DEPTH levels of nesting, more than
 * PROV_META_MAX_XML_NODES elements or more than PROV_MAX_TEXT bytes; those
 * and malformed XML stop the parse with a problem line, keeping what was
 * found before. VETO_OK, or VETO_ERR_NOMEM.
 */
int prov_meta_xmp(const char *xmp, size_t len, prov_meta *out, veto_error *err);

/*
 * A TIFF-structured EXIF block ("II*\0" or "MM\0*"): IFD0 and the Exif
 * sub-IFD it points to, nothing else (so no loops; a sub-IFD pointer back
 * at IFD0 is a problem). Reports Make, Model, Software, Artist, DateTime,
 * ImageDescription (IFD0) and DateTimeOriginal, UserComment (Exif IFD) as
 * "exif:<Name>" items, source "exif:0x<tag>". ASCII fields that are not
 * valid UTF-8 are read as Latin-1. UserComment's 8-byte code: "ASCII",
 * "UNICODE" (UTF-16: a BOM wins, else the TIFF byte order, unless the
 * bytes plainly say the other order - AUTOMATIC1111 via piexif always
 * writes big-endian), "JIS" (not decoded: a problem says so), and the
 * all-zero "undefined" code (UTF-8, else Latin-1). A UserComment or
 * ImageDescription holding AUTOMATIC1111 infotext (or Fooocus JSON when
 * Software says Fooocus) also yields a generator item. VETO_OK, or
 * VETO_ERR_NOMEM.
 */
int prov_meta_exif(const uint8_t *tiff, size_t len, prov_meta *out, veto_error *err);

/*
 * Generator records in the container's text records (PNG tEXt/zTXt/iTXt,
 * JPEG COM): AUTOMATIC1111 infotext ("parameters", or any record that
 * parses as infotext: a line with at least three of Steps, Sampler,
 * CFG scale, Seed, Schedule type, ENSD), ComfyUI ("prompt" API graph and/or
 * "workflow"), Fooocus ("parameters" JSON or infotext with
 * "fooocus_scheme"), SwarmUI ("parameters" JSON with "sui_image_params"),
 * InvokeAI ("invokeai_metadata", "invokeai_graph",
 * legacy "sd-metadata" and "Dream"; one item for the image), NovelAI
 * (Software "NovelAI" or a Comment JSON of its shape with Description /
 * Source). Each yields one "generator" item with ai = 1, the tool as name,
 * the record that identified it as value and source
 * "<where>:<key>" ("png:tEXt:parameters"), and detail_json. A record that
 * names a tool but does not parse still yields the item plus a problem.
 * VETO_OK, or VETO_ERR_NOMEM.
 */
int prov_meta_generators(const prov_text *texts, size_t n, prov_meta *out, veto_error *err);

/*
 * The AUTOMATIC1111 "stealth" encoding in decoded pixels: rgba is
 * width*height*4 bytes, row-major RGBA. Bits are read column by column
 * (x outer, y inner), most significant bit first: either the alpha LSB of
 * each pixel (signatures "stealth_pnginfo" / "stealth_pngcomp") or the R,
 * G, B LSBs of each pixel in turn ("stealth_rgbinfo" / "stealth_rgbcomp").
 * After the 15-byte signature comes a 32-bit big-endian payload length in
 * bits, then the payload: UTF-8 text ("info") or gzip of it ("comp"),
 * inflated to at most PROV_META_MAX_STEALTH bytes. The text is then read as
 * AUTOMATIC1111 infotext, or as a JSON object of text records (NovelAI's
 * stealth form); source "alpha-stealth:<signature>" or
 * "rgb-stealth:<signature>". No signature: no item and no problem (almost
 * every image). VETO_OK, or VETO_ERR_NOMEM.
 */
int prov_meta_stealth(const uint8_t *rgba, uint32_t width, uint32_t height, prov_meta *out,
                      veto_error *err);

/* Frees everything m holds and zeroes it (m itself is the caller's). */
void prov_meta_free(prov_meta *m);

/*
 * IPTC digital source types (http://cv.iptc.org/newscodes/digitalsourcetype/).
 * s is a full URI (http or https, cv.iptc.org; also C2PA's
 * http://c2pa.org/digitalsourcetype/ terms), the QCode "digsrctype:term" or
 * the bare term; surrounding spaces and the letter case of the term are
 * ignored. Returns an enum prov_dst_class; *term (may be NULL) receives the
 * canonical static term ("trainedAlgorithmicMedia") or NULL if unknown.
 *
 * Decisions: algorithmicMedia (pure algorithm, no training data) is NOT AI
 * but its own class; compositeSynthetic ("composite including synthetic
 * elements") counts as AI, since a synthetic element in practice means a
 * generated one; algorithmicallyEnhanced, computationalCapture and
 * dataDrivenMedia are not AI (IPTC defines them as non-generative).
 */
int prov_dst_classify(const char *s, const char **term);
/* 1 if s is a digital source type of class PROV_DST_AI, else 0 (also for
 * algorithmicMedia and unknown values); *term as prov_dst_classify. */
int prov_dst_is_ai(const char *uri_or_term, const char **term);
/* Human label of a class: "generative AI (trained model)",
 * "algorithmic (not trained)", "not AI", "unknown". Static. */
const char *prov_dst_class_name(int cls);

/* ------------------------------------------------------------------
 * Shared by prov_xmp.c, prov_exiftags.c and prov_genmeta.c only.
 * Internal helpers return 0 on success, -1 for lack of memory.
 */

/* Appends an item (name, value, source copied; value sanitised to UTF-8 and
 * cut at PROV_META_MAX_VALUE; detail_json is taken over, even on failure).
 * Past PROV_META_MAX_ITEMS the item is dropped and a problem added once.
 * *added (may be NULL) points at the new item or NULL if dropped. */
int prov_meta_push(prov_meta *m, const char *kind, const char *name, const uint8_t *value,
                   size_t len, const char *source, int ai, char *detail_json,
                   prov_meta_item **added);
/* Appends a problem line (printf format). */
int prov_meta_problem(prov_meta *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A valid UTF-8, NUL-free copy of s[0..len) of at most cap bytes (cut on a
 * character boundary; *truncated set if cut, may be NULL). With latin1,
 * input that is not valid UTF-8 as a whole is read as Latin-1 instead;
 * otherwise invalid bytes (and NULs) become U+FFFD. NULL for no memory. */
char *prov_meta_text(const uint8_t *s, size_t len, size_t cap, int latin1, int *truncated);

/* If text[0..len) is AUTOMATIC1111 infotext, adds a generator item named
 * tool (NULL: "AUTOMATIC1111") with source `source`. Returns 1 if added,
 * 0 if the text is not infotext, -1 for no memory. */
int prov_genmeta_infotext(prov_meta *m, const uint8_t *text, size_t len, const char *source,
                          const char *tool);
/* Adds a "Fooocus" item for a JSON parameters record known to be
 * Fooocus's (the caller saw its Software tag), with details if the JSON
 * parses and a problem line if it does not. Returns 1, or -1 for no
 * memory. */
int prov_genmeta_fooocus_json(prov_meta *m, const uint8_t *text, size_t len,
                              const char *source);

#endif
