/* Tests for src/util: the growable buffer, error messages and whole-file reads. */
#include "check.h"
#include "autocorrect/common.h"

#include <stdlib.h>
#include <unistd.h>

static void buf_append_and_consume(void)
{
    ac_buf b = {0};
    for (int i = 0; i < 1000; i++)
        CHECK(ac_buf_printf(&b, "%d,", i) == AC_OK);
    CHECK(b.len == 3890);
    CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
    CHECK(b.data[b.len] == 0);
    ac_buf_consume(&b, 4);
    CHECK(strncmp(b.data, "2,3,", 4) == 0);
    CHECK(b.len == 3886);
    ac_buf_consume(&b, 100000);
    CHECK(b.len == 0 && b.data[0] == 0);
    ac_buf_free(&b);
    CHECK(b.data == NULL);
    ac_buf_free(&b); /* freeing twice is harmless */
}

static void errorf_fills_buffer_and_returns_status(void)
{
    char err[AC_ERR_SIZE];
    CHECK(ac__errorf(err, AC_E_FORMAT, "bad %s at %d", "magic", 7) == AC_E_FORMAT);
    CHECK_STR(err, "bad magic at 7");
    CHECK(ac__errorf(NULL, AC_E_IO, "ignored") == AC_E_IO);
    CHECK_STR(ac_status_name(AC_E_UNSUPPORTED), "unsupported");
}

static void file_read_limits_and_errors(void)
{
    char path[] = "/tmp/ac_test_util_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello", 5) == 5);
    close(fd);
    char err[AC_ERR_SIZE], *data;
    size_t len;
    CHECK(ac_file_read(path, 100, &data, &len, err) == AC_OK);
    CHECK(len == 5 && strcmp(data, "hello") == 0);
    free(data);
    CHECK(ac_file_read(path, 4, &data, &len, err) == AC_E_LIMIT);
    CHECK(data == NULL);
    const void *map;
    CHECK(ac_file_map(path, &map, &len, err) == AC_OK && len == 5 && memcmp(map, "hello", 5) == 0);
    ac_file_unmap(map, len);
    unlink(path);
    CHECK(ac_file_read(path, 100, &data, &len, err) == AC_E_IO);
    CHECK(strstr(err, path) != NULL);
}

static void terminal_text_is_inert(void)
{
    /* ESC [2J, BEL, a CR LF pair, a lone CR, DEL, a C1 (U+009B, the one-byte CSI), a bad byte, TAB
     * and a real two-byte letter: the controls become U+FFFD, the line breaks one space each. */
    const char in[] = "a\x1b[2J\x07" "b\r\nc\rd\x7f\xc2\x9b\xff\te\xc3\xa9";
    const char want[] = "a\xEF\xBF\xBD[2J\xEF\xBF\xBD" "b c d\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\te\xc3\xa9";
    ac_buf b = {0};
    CHECK(ac_buf_append_for_terminal(&b, in, sizeof in - 1) == AC_OK);
    CHECK(b.len == sizeof want - 1 && memcmp(b.data, want, b.len) == 0);
    /* a character cut at the end of the input is invalid (each of its bytes), never read past */
    b.len = 0;
    CHECK(ac_buf_append_for_terminal(&b, "x\xe2\x82", 3) == AC_OK);
    CHECK(b.len == 7 && memcmp(b.data, "x\xEF\xBF\xBD\xEF\xBF\xBD", 7) == 0);
    ac_buf_free(&b);
}

int main(void)
{
    RUN(buf_append_and_consume);
    RUN(errorf_fills_buffer_and_returns_status);
    RUN(file_read_limits_and_errors);
    RUN(terminal_text_is_inert);
    return CHECK_EXIT_CODE();
}
