/* corpus.c: splitting a training corpus into documents at "<|endoftext|>" lines, for the trainer
 * and the bulk tokenizer (`autocorrect tokenize --out-u16`). Not a reader: the caller holds the
 * text (read or mapped). */
#include "tokenizer/bpe_internal.h"

#include <string.h>

static const char SEP[] = "<|endoftext|>";
#define SEP_LEN (sizeof SEP - 1)

/* Finds the next separator line at or after `from`: sets *line_start and *next (just past the line
 * and its newline) and returns 1, or returns 0. */
static int find_separator(const char *text, size_t len, size_t from, size_t *line_start, size_t *next)
{
    while (from + SEP_LEN <= len) {
        const char *hit = memmem(text + from, len - from, SEP, SEP_LEN);
        if (!hit)
            return 0;
        size_t at = (size_t)(hit - text), end = at + SEP_LEN;
        if (end < len && text[end] == '\r')
            end++;
        int starts_line = at == 0 || text[at - 1] == '\n';
        int ends_line = end == len || text[end] == '\n';
        if (starts_line && ends_line) {
            *line_start = at;
            *next = end < len ? end + 1 : len;
            return 1;
        }
        from = at + 1;
    }
    return 0;
}

int ac_corpus_next_doc(const char *text, size_t len, size_t *pos, const char **doc, size_t *doc_len)
{
    while (*pos < len) {
        size_t start = *pos, sep, next;
        if (!find_separator(text, len, start, &sep, &next)) {
            sep = len;
            next = len;
        }
        *pos = next;
        if (sep > start) {
            *doc = text + start;
            *doc_len = sep - start;
            return 1;
        }
    }
    return 0;
}
