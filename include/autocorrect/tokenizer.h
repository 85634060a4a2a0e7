/* autocorrect/tokenizer.h: byte-level BPE (GPT-2's tokenizer): load, encode, decode, stream-decode,
 * look up tokens by prefix for mid-word completion, and train a new vocabulary.
 *
 *     char err[AC_ERR_SIZE];
 *     ac_bpe *bpe;
 *     if (ac_bpe_load("models/default", &bpe, err)) { fprintf(stderr, "%s\n", err); ... }
 *     ac_bpe_cache *cache = ac_bpe_cache_new(0);          // optional, one per thread
 *     int32_t ids[256]; size_t n;
 *     ac_bpe_encode(bpe, cache, "Hello world", 11, 0, ids, 256, &n, err);   // n == 2
 *     ac_buf text = {0};
 *     ac_bpe_decode(bpe, ids, n, &text, err);             // text.data == "Hello world"
 *     ac_buf_free(&text); ac_bpe_cache_free(cache); ac_bpe_free(bpe);
 *
 * What it computes. encode(text) = the concatenation over the pre-tokens of `text`, in order, of
 * the BPE of each pre-token's bytes:
 *   - Pre-tokens follow GPT-2's pattern, as JavaScript's regex engine (js-tiktoken) runs it:
 *       's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *     Contractions are ASCII and case-sensitive ("'S" is not one). \p{L} = general categories
 *     Lu Ll Lt Lm Lo, \p{N} = Nd Nl No, as utf8proc's Unicode version (15.0 for Debian 12's 2.8.0)
 *     says; a code point unassigned in that version is neither. \s is JavaScript's: U+0009..000D,
 *     U+0020, U+00A0, U+1680, U+2000..200A, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF
 *     (not U+0085 nor U+001C..001F, which Python's `re` counts; not U+180E). " ?" is U+0020 only.
 *   - Invalid UTF-8: each byte that does not begin a well-formed sequence (stray continuation
 *     bytes, truncated sequences, overlong forms, surrogates D800..DFFF, values over U+10FFFF) is a
 *     character of its own that is neither a letter, a number nor a space, like a lone surrogate in
 *     a JavaScript string. Being bytes, it still encodes and decodes exactly.
 *   - BPE of a pre-token: start from one token per byte and repeatedly merge the adjacent pair
 *     with the lowest merge rank (merges.txt's line order), leftmost first on ties, until no
 *     adjacent pair has a rank. This is Hugging Face's and GPT-2's algorithm (not greedy longest
 *     match); for GPT-2's files it gives tiktoken's ids.
 *   - Special tokens (e.g. "<|endoftext|>") are matched in the text only when AC_BPE_SPECIAL is
 *     passed; the text between two of them is pre-tokenized as a text of its own. Without the
 *     flag, "<|endoftext|>" in the text is ordinary text ("<", "|", "endoftext", "|>").
 * decode(ids) = the concatenation of the tokens' bytes, so decode(encode(x)) == x for every byte
 * string x, valid UTF-8 or not (with or without AC_BPE_SPECIAL).
 *
 * Files. ac_bpe_load reads a directory or a file:
 *   vocab.json + merges.txt         (Hugging Face names)
 *   encoder.json + vocab.bpe        (OpenAI's names for the same two files)
 *   tokenizer.json                  (Hugging Face `tokenizers`, model type BPE, ByteLevel)
 * The vocabulary maps token strings in GPT-2's byte-to-unicode form to ids; merges list "A B" per
 * line, lowest rank first (a first line "#version: ..." is skipped). Special tokens: tokenizer.json's
 * added_tokens, and in vocab.json any token that is neither a single byte nor a merge's result.
 * ac_bpe_save writes vocab.json + merges.txt (what ac_bpe_train writes too).
 *
 * Threads: an ac_bpe is immutable once loaded and may be shared by any number of threads. An
 * ac_bpe_cache is a per-thread memo of pre-token -> ids; pass NULL to run without one (slower).
 */
#ifndef AUTOCORRECT_TOKENIZER_H
#define AUTOCORRECT_TOKENIZER_H

#include <stdio.h>

#include "autocorrect/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ac_bpe ac_bpe;
typedef struct ac_bpe_cache ac_bpe_cache;

/* Encode flags. */
enum {
    AC_BPE_SPECIAL = 1, /* recognise special tokens ("<|endoftext|>") in the text */
};

/* Longest token the loader accepts, in bytes. */
#define AC_BPE_MAX_TOKEN_BYTES 1024

/* Loads a tokenizer from `path`: a directory holding vocab.json + merges.txt, encoder.json +
 * vocab.bpe or tokenizer.json (looked for in that order), or one of those files (a vocab file
 * finds its merges file in the same directory, and the other way round). On success *out owns a
 * new tokenizer (free with ac_bpe_free). Errors: AC_E_IO (no such files), AC_E_FORMAT (malformed
 * file; the message names the file and line), AC_E_UNSUPPORTED (tokenizer.json that is not a
 * byte-level BPE), AC_E_NOMEM. */
int ac_bpe_load(const char *path, ac_bpe **out, char *err);

/* The same from memory: a vocabulary (vocab.json or encoder.json text) and merges (merges.txt or
 * vocab.bpe text). `vocab_name` and `merges_name` only label error messages. */
int ac_bpe_load_memory(const char *vocab, size_t vocab_len, const char *vocab_name,
                       const char *merges, size_t merges_len, const char *merges_name,
                       ac_bpe **out, char *err);

/* The same from a tokenizer.json held in memory. */
int ac_bpe_load_tokenizer_json(const char *json, size_t len, const char *name, ac_bpe **out, char *err);

/* Frees a tokenizer; NULL is a no-op. */
void ac_bpe_free(ac_bpe *bpe);

/* Writes `dir`/vocab.json and `dir`/merges.txt (Hugging Face format, ids in order; the directory
 * must exist). Loading them gives a tokenizer that encodes every text the same. */
int ac_bpe_save(const ac_bpe *bpe, const char *dir, char *err);

/* Number of ids: one more than the largest id (ids in [0, n_vocab) may be unused, see
 * ac_bpe_token_bytes). */
int32_t ac_bpe_n_vocab(const ac_bpe *bpe);

/* Number of merges. */
int32_t ac_bpe_n_merges(const ac_bpe *bpe);

/* The bytes of token `id` (not NUL-terminated) and their count in *len; NULL for an id out of range
 * or unused. A special token's bytes are its text. Valid while `bpe` lives. */
const uint8_t *ac_bpe_token_bytes(const ac_bpe *bpe, int32_t id, size_t *len);

/* 1 if `id` is a special token, else 0. */
int ac_bpe_is_special(const ac_bpe *bpe, int32_t id);

/* The id of the token whose bytes are exactly bytes[0..len) (special tokens included), or -1. */
int32_t ac_bpe_token_id(const ac_bpe *bpe, const void *bytes, size_t len);

/* The id of "<|endoftext|>", or -1 if the vocabulary has none. */
int32_t ac_bpe_eot(const ac_bpe *bpe);

/* Bytes of memory the tokenizer holds (its tables, counted; not the allocator's overhead). */
size_t ac_bpe_memory_bytes(const ac_bpe *bpe);

/* A memo of pre-token bytes -> ids that makes repeated words cost one hash lookup. `max_bytes`
 * bounds its memory (0: 8 MiB); it empties itself when full. NULL when out of memory. One per
 * thread: a cache may be used with any tokenizer, but not by two threads at once. */
ac_bpe_cache *ac_bpe_cache_new(size_t max_bytes);
void ac_bpe_cache_free(ac_bpe_cache *cache);

/* Encodes text[0..len) into ids[0..*n_ids). `cache` may be NULL. `flags`: AC_BPE_SPECIAL or 0.
 * There are never more ids than bytes, so cap >= len always suffices; with a smaller cap the call
 * returns AC_E_LIMIT when the ids do not fit (*n_ids then says how many were written). Any bytes
 * are accepted (see the file header for invalid UTF-8). Allocates nothing when `cache` is NULL or
 * warm, except for pre-tokens longer than 256 bytes. */
int ac_bpe_encode(const ac_bpe *bpe, ac_bpe_cache *cache, const void *text, size_t len, unsigned flags,
                  int32_t *ids, size_t cap, size_t *n_ids, char *err);

/* Appends the bytes of ids[0..n) to `out`. Errors: AC_E_ARG for an id that is out of range or
 * unused (nothing is appended then), AC_E_NOMEM. */
int ac_bpe_decode(const ac_bpe *bpe, const int32_t *ids, size_t n, ac_buf *out, char *err);

/* Splits `text` into GPT-2 pre-tokens: calls fn(start, end, user) for each, in order, and returns
 * their count. The pre-tokens tile the text exactly. (For tests, the trainer and tools.) */
size_t ac_bpe_pretokenize(const void *text, size_t len, void (*fn)(size_t start, size_t end, void *user),
                          void *user);

/* --- incremental decoding -------------------------------------------------------------------
 * Turns ids into text as they come, holding back the bytes of a UTF-8 character that is not yet
 * complete, so that what is shown never ends in half a character. A plain value: copy it to fork
 * a beam. Bytes that can never become valid UTF-8 are passed on as they are (not held). */
typedef struct ac_bpe_stream {
    uint8_t held[4]; /* [n_held] bytes of an incomplete UTF-8 character */
    uint8_t n_held;
} ac_bpe_stream;

/* Starts an empty stream. */
void ac_bpe_stream_init(ac_bpe_stream *s);

/* Appends to `out` the complete part of (held bytes + token id's bytes) and holds the rest.
 * AC_E_ARG for a bad id (the stream is then unchanged), AC_E_NOMEM. */
int ac_bpe_stream_push(ac_bpe_stream *s, const ac_bpe *bpe, int32_t id, ac_buf *out, char *err);

/* Appends the held bytes (an incomplete character at the end of the ids) and empties the stream. */
int ac_bpe_stream_flush(ac_bpe_stream *s, ac_buf *out);

/* The length of the longest prefix of bytes[0..len) that does not end inside a UTF-8 character
 * that could still be completed by more bytes: len minus 0..3. */
size_t ac_utf8_complete_len(const void *bytes, size_t len);

/* --- prefix lookups (token healing, mid-word completion) ------------------------------------
 * Both ignore special tokens. Lookups are binary searches in a table sorted by bytes, built at load
 * time (4 bytes per token). */

/* The tokens whose bytes START WITH bytes[0..len): sets *ids to a read-only array of them (sorted by
 * their bytes, so the shortest comes first) and returns their count (0: none; then *ids is
 * undefined). len == 0 gives every ordinary token. The array lives as long as `bpe`. */
size_t ac_bpe_tokens_with_prefix(const ac_bpe *bpe, const void *bytes, size_t len, const int32_t **ids);

/* The tokens whose bytes ARE A PREFIX of bytes[0..len) (the token may equal the whole of it):
 * writes up to `cap` of their ids, shortest first, and returns how many there are in all. */
size_t ac_bpe_tokens_prefix_of(const ac_bpe *bpe, const void *bytes, size_t len, int32_t *ids, size_t cap);

/* --- corpus documents -------------------------------------------------------------------------
 * A corpus file is documents separated by lines that are exactly "<|endoftext|>" (a "\r" before
 * the line's "\n" is allowed). A document is the lines between two separators, with their line
 * endings; empty documents are skipped. */

/* Finds the next document at or after *pos in text[0..len): sets *doc and *doc_len, moves *pos past
 * it (and its separator line) and returns 1; returns 0 when no document is left. */
int ac_corpus_next_doc(const char *text, size_t len, size_t *pos, const char **doc, size_t *doc_len);

/* --- training -------------------------------------------------------------------------------- */

typedef struct ac_bpe_train_params {
    int32_t vocab_size;    /* ids in all: 256 bytes + merges + 1 for "<|endoftext|>" (>= 257) */
    int32_t max_word_bytes; /* pre-tokens longer than this are not learned from (0: 256) */
    FILE *progress;        /* progress lines go here (stderr by default; NULL for none) */
} ac_bpe_train_params;

ac_bpe_train_params ac_bpe_train_default_params(void);

/* Learns a byte-level BPE from the corpus file at `corpus_path` (see "corpus documents"; the
 * separator lines are not learned from) and writes `out_dir`/vocab.json and `out_dir`/merges.txt,
 * creating out_dir if needed. Ids: the 256 bytes in GPT-2's order (as encoder.json), then one per
 * merge in rank order (a merge whose result equals an existing token reuses that id, as Hugging
 * Face's trainer does), then "<|endoftext|>" last.
 * Each step merges the adjacent pair with the highest count over all pre-tokens (weighted by how
 * often each pre-token occurs; within a pre-token, non-overlapping, leftmost first). Ties go to the
 * pair whose (left, right) token strings in GPT-2's byte-to-unicode form are the smallest
 * (code point by code point, left string first), so training is deterministic. Training stops early
 * when no pair is left. */
int ac_bpe_train(const char *corpus_path, const char *out_dir, const ac_bpe_train_params *params, char *err);

/* The same over a corpus in memory. */
int ac_bpe_train_memory(const char *text, size_t len, const char *out_dir, const ac_bpe_train_params *params,
                        char *err);

#ifdef __cplusplus
}
#endif
#endif
