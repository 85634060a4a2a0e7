/* Tests for the pre-tokenizer's character classes (src/tokenizer/pretokenize.c): JavaScript's \s,
 * \p{L} and \p{N} from utf8proc, and every invalid UTF-8 form as "other".
 *
 * With `--dump FILE` it instead writes one letter per code point U+0000..U+10FFFF, surrogates left
 * out: S (space), L (letter), N (number), O (other) or U (other because unassigned in utf8proc's
 * Unicode version). tests/sh/test_tokenizer_reference.sh compares that with what node's regex engine
 * says, and keeps code points assigned only in node's newer Unicode out of its random texts. */
#include "check.h"
#include "tokenizer/bpe_internal.h"

#include <stdio.h>
#include <utf8proc.h>

static void js_whitespace_set(void)
{
    const uint32_t spaces[] = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0x1680, 0x2000, 0x2005, 0x200A,
                               0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF};
    for (size_t i = 0; i < sizeof spaces / sizeof spaces[0]; i++)
        CHECKF(ac__cp_class(spaces[i]) == AC__CLS_SPACE, "U+%04X should be \\s", (unsigned)spaces[i]);
    const uint32_t not_spaces[] = {0x1C, 0x1F, 0x85, 0x180E, 0x200B, 0x2060, 0x08, 0x0E};
    for (size_t i = 0; i < sizeof not_spaces / sizeof not_spaces[0]; i++)
        CHECKF(ac__cp_class(not_spaces[i]) == AC__CLS_OTHER, "U+%04X should not be \\s", (unsigned)not_spaces[i]);
    int n = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++)
        n += ac__cp_class(cp) == AC__CLS_SPACE;
    CHECKF(n == 25, "%d code points are \\s, JavaScript has 25", n);
}

static void letters_and_numbers(void)
{
    const uint32_t letters[] = {'a', 'Z', 0xE9, 0x1C5 /* Lt */, 0x2B0 /* Lm */, 0x5D0, 0x4E2D, 0xAC00, 0x1D400,
                                0x20000, 0x3042};
    for (size_t i = 0; i < sizeof letters / sizeof letters[0]; i++)
        CHECKF(ac__cp_class(letters[i]) == AC__CLS_LETTER, "U+%04X should be \\p{L}", (unsigned)letters[i]);
    const uint32_t numbers[] = {'0', '9', 0xB2 /* No */, 0xBD, 0x660, 0x966, 0x2160 /* Nl */, 0xFF10, 0x1D7CE,
                                0x3007};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        CHECKF(ac__cp_class(numbers[i]) == AC__CLS_NUMBER, "U+%04X should be \\p{N}", (unsigned)numbers[i]);
    const uint32_t others[] = {'_', '\'', 0x301 /* Mn */, 0x903 /* Mc */, 0x1F600, 0x200D, 0xFE0F, 0xE000,
                               0xFFFE, 0x10FFFF, 0x0};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        CHECKF(ac__cp_class(others[i]) == AC__CLS_OTHER, "U+%04X should be other", (unsigned)others[i]);
}

/* The scanner's table lookup agrees with ac__cp_class on every code point, through real UTF-8:
 * "x" + c + "x" splits into 1 piece (c a letter: "xcx"), or 3 ("x", c, "x"). */
typedef struct count_ctx {
    size_t n;
} count_ctx;
static void count_cb(size_t s, size_t e, void *u)
{
    (void)s;
    (void)e;
    ((count_ctx *)u)->n++;
}

static void scanner_agrees_with_classes(void)
{
    int bad = 0;
    for (uint32_t cp = 0x80; cp <= 0x10FFFF && bad < 5; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        uint8_t buf[8];
        buf[0] = 'x';
        utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)cp, buf + 1);
        buf[1 + k] = 'x';
        count_ctx c = {0};
        ac_bpe_pretokenize(buf, (size_t)k + 2, count_cb, &c);
        size_t want = ac__cp_class(cp) == AC__CLS_LETTER ? 1 : 3;
        if (c.n != want) {
            bad++;
            CHECKF(0, "U+%04X: %zu pieces, want %zu", (unsigned)cp, c.n, want);
        }
    }
}

static int dump(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    static const char letter[] = "OLNS";
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        int k = ac__cp_class(cp);
        char c = letter[k];
        if (k == AC__CLS_OTHER && utf8proc_category((utf8proc_int32_t)cp) == UTF8PROC_CATEGORY_CN)
            c = 'U';
        fputc(c, f);
    }
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--dump"))
        return dump(argv[2]);
    RUN(js_whitespace_set);
    RUN(letters_and_numbers);
    RUN(scanner_agrees_with_classes);
    return CHECK_EXIT_CODE();
}
