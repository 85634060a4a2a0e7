/* bpe_internal.h: the tokenizer module's shared internals (not installed; include/autocorrect/
 * tokenizer.h is the API). The layout of an ac_bpe, the byte <-> unicode map, the pre-tokenizer's
 * entry point and the helpers the loader, the trainer and the prefix index share. */
#ifndef AC_TOKENIZER_BPE_INTERNAL_H
#define AC_TOKENIZER_BPE_INTERNAL_H

#include "autocorrect/tokenizer.h"

#include <stdint.h>

/* Token flags. */
enum {
    AC__TOK_USED = 1,    /* the id has bytes */
    AC__TOK_SPECIAL = 2, /* special token: matched in text only with AC_BPE_SPECIAL */
    AC__TOK_MERGED = 4,  /* the result of some merge */
};

/* One slot of the pair table: (left id, right id) -> merge rank and merged id. */
typedef struct ac__pair_slot {
    uint64_t key;   /* (uint64_t)left << 32 | right; AC__PAIR_EMPTY for a free slot */
    int32_t rank;   /* merge rank: the merge's line number among the merges, from 0 */
    int32_t merged; /* id of the token left+right */
} ac__pair_slot;
#define AC__PAIR_EMPTY UINT64_MAX

struct ac_bpe {
    int32_t n_vocab;          /* ids are [0, n_vocab) */
    int32_t n_merges;
    uint8_t *tok_bytes;       /* [tok_bytes_len] all tokens' bytes, back to back */
    size_t tok_bytes_len, tok_bytes_cap;
    uint32_t *tok_off;        /* [n_vocab] offset of each token's bytes in tok_bytes */
    uint32_t *tok_len;        /* [n_vocab] their count */
    uint8_t *tok_flags;       /* [n_vocab] AC__TOK_* */
    int32_t byte_id[256];     /* id of each single-byte token */
    int32_t (*merges)[2];     /* [n_merges] (left, right) ids in rank order */
    ac__pair_slot *pairs;     /* [pair_mask + 1] open addressing, linear probing */
    uint64_t pair_mask;
    int32_t *str_slots;       /* [str_mask + 1] bytes -> id hash: id + 1, 0 when free */
    uint64_t str_mask;
    int32_t *specials;        /* [n_specials] special token ids, longest bytes first */
    int32_t n_specials;
    int32_t eot;              /* "<|endoftext|>" or -1 */
    int32_t *sorted;          /* [n_sorted] ordinary token ids sorted by bytes (prefix index) */
    int32_t n_sorted;
    uint32_t max_token_len;   /* longest ordinary token, bytes */
    uint64_t serial;          /* distinct per loaded tokenizer (caches key on it) */
};

/* --- bytes_unicode.c: GPT-2's reversible byte <-> code point map ---------------------------- */

/* The code point GPT-2 writes for byte b: b itself for the printable bytes '!'..'~', 0xA1..0xAC and
 * 0xAE..0xFF, else 256 + its index among the other bytes (so ' ' is U+0120). */
static inline uint32_t ac__byte_to_cp(uint8_t b)
{
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
        return b;
    if (b <= 0x20)
        return 256u + b;
    if (b <= 0xA0)
        return 256u + 33u + (b - 0x7Fu);
    return 256u + 67u; /* 0xAD */
}
/* GPT-2's byte order: its byte token ids 0..255 (encoder.json's first 256) are the bytes sorted by
 * ac__byte_to_cp. The byte of GPT-2's byte id i (0 <= i < 256). */
uint8_t ac__gpt2_byte(int i);
/* The byte a code point stands for, or -1 if it stands for none. */
int ac__cp_to_byte(uint32_t cp);
/* Converts a token string in byte-to-unicode form (UTF-8, len bytes) to its bytes in out[0..*out_len)
 * (out has room for len bytes: the bytes are never more). -1 if a character is not in the map or
 * the UTF-8 is bad. */
int ac__unicode_to_bytes(const char *s, size_t len, uint8_t *out, size_t *out_len);
/* Appends the byte-to-unicode form of bytes[0..n) to out (UTF-8). */
int ac__bytes_to_unicode(const uint8_t *bytes, size_t n, ac_buf *out);

/* --- pretokenize.c ---------------------------------------------------------------------------- */

/* Builds the class tables; call once (it is cheap to repeat) before ac__pretok_next. */
void ac__pretok_init(void);
/* End of the pre-token that starts at s[i] (i < len): the exact GPT-2 split. */
size_t ac__pretok_next(const uint8_t *s, size_t len, size_t i);

/* Character classes of the pattern. */
enum { AC__CLS_OTHER = 0, AC__CLS_LETTER = 1, AC__CLS_NUMBER = 2, AC__CLS_SPACE = 3 };
/* The class of code point cp (AC__CLS_*). */
int ac__cp_class(uint32_t cp);

/* --- bpe.c: building and lookups ------------------------------------------------------------ */

/* A new empty tokenizer with n_vocab unused ids. */
int ac__bpe_alloc(int32_t n_vocab, ac_bpe **out, char *err);
/* Gives id its bytes (AC_E_ARG if the id is out of range or already used). */
int ac__bpe_set_token(ac_bpe *bpe, int32_t id, const uint8_t *bytes, size_t len, int special, char *err);
/* Builds the bytes -> id hash; call after the last ac__bpe_set_token and before ac__bpe_lookup. */
int ac__bpe_index_strings(ac_bpe *bpe, char *err);
/* id of the token with these bytes, or -1 (needs ac__bpe_index_strings). */
int32_t ac__bpe_lookup(const ac_bpe *bpe, const uint8_t *bytes, size_t len);
/* Finishes loading: takes the merges (left, right) ids [n_merges] in rank order (copied), builds
 * the pair table, the byte ids, the special-token list and the prefix index. Every merge's
 * left+right must be a token; all 256 single bytes must be tokens. `name` labels errors. */
int ac__bpe_finish(ac_bpe *bpe, const int32_t (*merges)[2], int32_t n_merges, const char *name, char *err);

/* Merge rank and merged id of the pair (left, right), or -1 (and *merged untouched). */
static inline int32_t ac__bpe_pair(const ac_bpe *bpe, int32_t left, int32_t right, int32_t *merged)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> 20;
    for (;;) {
        const ac__pair_slot *slot = &bpe->pairs[h & bpe->pair_mask];
        if (slot->key == key) {
            *merged = slot->merged;
            return slot->rank;
        }
        if (slot->key == AC__PAIR_EMPTY)
            return -1;
        h++;
    }
}

/* 64-bit hash of a byte string (not cryptographic). */
static inline uint64_t ac__hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0x243F6A8885A308D3ull ^ (n * 0x9E3779B97F4A7C15ull);
    while (n >= 8) {
        uint64_t v;
        __builtin_memcpy(&v, p, 8);
        h = (h ^ v) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    h = (h ^ v) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 32);
}

/* --- bpe_prefix.c ------------------------------------------------------------------------------ */

/* Builds bpe->sorted (ordinary tokens by bytes) and bpe->max_token_len. */
int ac__bpe_build_prefix_index(ac_bpe *bpe, char *err);

/* --- bpe_files.c ---------------------------------------------------------------------------- */

/* Writes vocab.json and merges.txt into dir for tokens given as byte strings: tok[i] (len[i] bytes)
 * is id i for i < n_tok, with merges (left, right) ids [n_merges]. */
int ac__write_hf_files(const char *dir, int32_t n_tok, const uint8_t *const *tok, const uint32_t *len,
                       const int32_t (*merges)[2], int32_t n_merges, char *err);

#endif
