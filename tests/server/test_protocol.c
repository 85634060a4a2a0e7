/* Tests of what the daemon's replies may carry to a terminal, and of its peer check, from memory
 * (no daemon process): src/server/protocol.c's plain-text reply (the `nc -U` fallback) and JSON text,
 * and src/server/sock.c's peer user id and policy.
 *
 * Not here: the same through a running daemon (tests/server/test_daemon.c: plain_text_controls,
 * peer_uid_refused, root_peer_allowed).
 */
#include "check.h"
#include "server/protocol.h"
#include "server/sock.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* A completion with every kind of control character, invalid UTF-8 and harmless text around them. */
static const char hostile[] = "a\x1b[2J\x1b]0;title\x07" "b\bc\rd\ne\r\nf\tg\x7fh\xc2\x9b" "31mi\xc2\x85j"
                              "\xff" "k\xe2\x82" "l\xc3\xa9m\xe2\x80\xa8n\x01o\x1fp";
/* what it must become: LF, CR, CR LF -> one space; TAB kept; other controls and bad bytes -> U+FFFD */
#define R "\xef\xbf\xbd"
static const char hostile_plain[] = "a" R "[2J" R "]0;title" R "b" R "c d e f\tg" R "h" R "31mi" R "j" R
                                    "k" R R "l\xc3\xa9m\xe2\x80\xa8n" R "o" R "p";

/* No byte a terminal acts on: C0 other than TAB and LF, DEL, and C1 in its UTF-8 form (C2 80..9F). */
static int terminal_safe(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F)
            return 0;
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9F)
            return 0;
    }
    return 1;
}

static void plain_reply_controls(void)
{
    ac_reply rep = {0};
    CHECK(ac__reply_add_completion(&rep, hostile, sizeof hostile - 1, -0.5, 3) == AC_OK);
    CHECK(ac__reply_add_completion(&rep, " plain words", 12, -1.0, 2) == AC_OK);
    CHECK(ac__reply_add_completion(&rep, "\n", 1, -2.0, 1) == AC_OK);
    size_t len = 0;
    char *out = ac__reply_plain(&rep, NULL, &len);
    CHECK(out != NULL);
    if (out) {
        CHECK(len == strlen(out));
        CHECK(terminal_safe(out, len));
        size_t lines = 0;
        for (size_t i = 0; i < len; i++)
            lines += out[i] == '\n';
        CHECKF(lines == 3, "%zu lines for 3 completions", lines);
        char *nl = strchr(out, '\n');
        if (nl) {
            *nl = 0;
            CHECK_STR(out, hostile_plain);
            CHECK(!strncmp(nl + 1, " plain words\n \n", 15));
        }
    }
    free(out);
    ac__reply_free(&rep);
}

static void plain_error_controls(void)
{
    size_t len = 0;
    char *out = ac__reply_plain(NULL, "bad \x1b[31mthing\r\nhere\x9b", &len);
    CHECK(out != NULL);
    if (out) {
        CHECK_STR(out, "error: bad " R "[31mthing here" R "\n");
        CHECK(terminal_safe(out, len));
    }
    free(out);
}

static void json_escapes_controls(void)
{
    /* what jansson alone leaves raw (DEL, C1) is escaped too, and the value reads back unchanged */
    const char text[] = "x\x1b[1m\x07\x7f\xc2\x9b\xc2\x80\xc2\x9f\xc2\xa0\xc3\x80y";
    json_t *o = json_pack("{s:i,s:o}", "id", 5, "text", ac__json_text(text, sizeof text - 1));
    size_t len = 0;
    char *line = ac__json_line(o, &len);
    CHECK(line != NULL);
    if (!line)
        return;
    CHECK(len == strlen(line) && len > 0 && line[len - 1] == '\n');
    CHECKF(terminal_safe(line, len), "raw control bytes in %s", line);
    CHECK(strstr(line, "\\u007F") && strstr(line, "\\u009B") && strstr(line, "\\u0080") && strstr(line, "\\u009F"));
    CHECK(strstr(line, "\xc2\xa0\xc3\x80") != NULL); /* printable non-ASCII stays as it is */
    json_t *back = json_loads(line, 0, NULL);
    const char *t = json_string_value(json_object_get(back, "text"));
    CHECK(t && json_string_length(json_object_get(back, "text")) == sizeof text - 1 && !memcmp(t, text, sizeof text - 1));
    json_decref(back);
    free(line);
    /* a reply with nothing to escape is byte for byte jansson's */
    o = json_pack("{s:i,s:s}", "id", 6, "text", "caf\xc3\xa9 \\ \"q\"");
    char *plain = json_dumps(o, ac__json_dump_flags(o));
    char *ours = ac__json_dumps(o);
    CHECK(plain && ours && !strcmp(plain, ours));
    free(plain);
    free(ours);
    json_decref(o);
}

static void peer_uid_policy(void)
{
    CHECK(ac__sock_peer_allowed(1000, 1000));
    CHECK(ac__sock_peer_allowed(0, 1000));   /* root may connect to a user's daemon */
    CHECK(!ac__sock_peer_allowed(1001, 1000));
    CHECK(!ac__sock_peer_allowed(65534, 0)); /* a root daemon serves root only */
    CHECK(ac__sock_peer_allowed(0, 0));
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    uid_t uid = (uid_t)-1;
    CHECK(ac__sock_peer_uid(sv[0], &uid) == 0);
    CHECKF(uid == geteuid(), "peer uid %u, ours %u", (unsigned)uid, (unsigned)geteuid());
    close(sv[0]);
    close(sv[1]);
    CHECK(ac__sock_peer_uid(-1, &uid) < 0);
}

int main(void)
{
    RUN(plain_reply_controls);
    RUN(plain_error_controls);
    RUN(json_escapes_controls);
    RUN(peer_uid_policy);
    return CHECK_EXIT_CODE();
}
