#!/usr/bin/python3
"""Tiny-input tests of the corpus builder's extraction, cleaning, dedup and split functions.

What this is: synthetic inputs (an HTML page with navigation and a code block, a roff man
page, a POD page, GCIDE and FOLDOC dictionary entries, Brown-corpus tokens, fortunes,
WordNet lines) fed to python/corpus/extract.py and clean.py, with assertions on the output.
Runs in well under a second; no apt, no network, no installed packages.
What this is not: a test of the full build (that needs the ~700 MB of source packages).
Prints PASS/FAIL per check and exits non-zero if any check fails.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python", "corpus"))

import clean     # noqa: E402
import extract   # noqa: E402
import testlib  # noqa: E402 (tests/python/testlib.py: PASS/FAIL/SKIP lines, the failure count)
from testlib import report  # noqa: E402

HTML_PAGE = """<!DOCTYPE html><html><head><title>Page</title><style>p {color: red}</style></head>
<body>
<div class="related" role="navigation"><ul><li><a href="index.html">Home</a></li>
<li><a href="next.html">Next topic</a></li></ul></div>
<div class="navheader"><table><tr><td>Prev</td><td>Up</td></tr></table></div>
<h1>Configuring the mail server<a class="headerlink" href="#x">&para;</a></h1>
<p>The mail server reads its settings from a single file, and you rarely need to
change more than <code>relayhost</code> to get started.</p>
<div class="highlight-python"><div class="highlight"><pre>import smtplib
server = smtplib.SMTP("localhost")  # connect
</pre></div></div>
<p>After editing the file, restart the service &amp; check the log for errors.</p>
<table><tr><td>Option</td><td>Default</td></tr><tr><td>port</td><td>25</td></tr></table>
<script>var searchindex = {};</script>
<div class="footer">&copy; Copyright 2001-2023, The Example Foundation.</div>
</body></html>"""

ROFF_PAGE = r""".\" Copyright (c) 1993 by Example Author
.TH FROB 1 2023-01-01 "frob 1.0" "User Commands"
.SH NAME
frob \- adjust the frobnication level
.SH SYNOPSIS
.B frob
[\fIoptions\fR] \fIfile\fR
.SH DESCRIPTION
.B frob
reads each \fIfile\fP and adjusts its frobnication level \(em slowly,
so that nothing breaks.
.PP
If no file is given, it reads the standard input \- which may be a pipe.
.SH EXAMPLES
.EX
$ frob \-v notes.txt
.EE
.nf
int frob(const char *path);
.fi
.TS
tab(:);
l l.
level:meaning
.TE
.SH SEE ALSO
.BR frobnicate (3)
"""

POD_PAGE = """=head1 NAME

perlfrob - how to frobnicate in Perl

=head1 DESCRIPTION

You can call B<frob> on any scalar; see L<the manual|perlfunc> for E<lt>detailsE<gt>.

    my $x = frob($y);
    print "$x\\n";

=cut

sub frob { return 1 }
"""

GCIDE_ENTRY = """Lantern \\Lan"tern\\, n. [F. lanterne, L. lanterna.]
   1. Something inclosing a light, and protecting it from wind,
      rain, etc.; -- sometimes portable, as a closed vessel or
      case of horn, perforated tin, glass, oiled paper, or other
      material, having a lamp or candle within.
      [1913 Webster]

   2. (Arch.) An open structure of light material set upon a roof,
      to give light and air to the interior.
      [1913 Webster]

   Syn: lamp, light, torch.
"""

BROWN_TOKENS = """

\tThe/at jury/nn said/vbd ``/`` it/pps did/dod n't/* find/vb any/dti problems/nns ''/'' ./.
\tIt/pps was/bedz ,/, however/rb ,/, late/jj (/( again/rb )/) ./.

"""


def test_html():
    text = extract.html_to_text(HTML_PAGE)
    report("html_keeps_prose", "reads its settings from a single file" in text, text[:200])
    report("html_keeps_inline_code", "change more than relayhost to get started" in text,
           text[:300])
    report("html_unescapes_entities", "restart the service & check the log" in text, text)
    report("html_drops_pre_code", "smtplib" not in text and "connect" not in text, text)
    report("html_drops_navigation", "Next topic" not in text and "Prev" not in text, text)
    report("html_drops_tables", "Default" not in text and "port" not in text, text)
    report("html_drops_script_style", "searchindex" not in text and "color" not in text, text)
    report("html_drops_headerlink", "\u00b6" not in text, text)
    cleaned = clean.clean_text(text)
    report("html_clean_drops_copyright", "Copyright" not in cleaned, cleaned)
    report("html_clean_keeps_paragraphs", cleaned.count("\n\n") == 2
           and cleaned.startswith("Configuring the mail server"), repr(cleaned))
    # broken markup: unclosed tags must not lose the rest of the page
    broken = extract.html_to_text("<p>First para<div class='x'><p>Second one here</div>"
                                  "<p>Third one</p>")
    report("html_broken_markup", "Third one" in broken and "Second one here" in broken, broken)


def test_roff():
    text = extract.roff_to_text(ROFF_PAGE)
    report("roff_keeps_description", "reads each file and adjusts its frobnication level "
           "\u2014 slowly, so that nothing breaks." in " ".join(text.split()), text)
    report("roff_unescapes_minus", "standard input - which may be a pipe" in text, text)
    report("roff_drops_name_synopsis", "adjust the frobnication" not in text
           and "[options]" not in text, text)
    report("roff_drops_examples_and_nofill", "notes.txt" not in text and "int frob" not in text,
           text)
    report("roff_drops_tables", "meaning" not in text and "tab(" not in text, text)
    report("roff_drops_comments_and_see_also", "Copyright" not in text and "frobnicate (3)"
           not in text, text)
    report("roff_no_leftover_escapes", "\\f" not in text and "\\(" not in text, text)


def test_pod():
    text = extract.pod_to_text(POD_PAGE)
    report("pod_keeps_prose", "You can call frob on any scalar; see the manual for <details>."
           in text, text)
    report("pod_drops_verbatim", "my $x" not in text, text)
    report("pod_drops_code_after_cut", "sub frob" not in text, text)


def test_dictionary():
    text = extract.gcide_entry_to_text(GCIDE_ENTRY)
    report("gcide_drops_headword_line", "Lan\"tern" not in text and "Lantern" not in text,
           text)
    report("gcide_drops_etymology_and_source", "lanterne" not in text and "1913" not in text,
           text)
    report("gcide_keeps_definition", text.startswith("Something inclosing a light"), text)
    report("gcide_drops_synonyms", "Syn" not in text, text)
    report("gcide_two_senses", text.count("\n\n") == 1, repr(text))
    index = "lantern\tA\tS\nlamp\tA\tS\n00databaseurl\tK\tC\n"
    data = b"lantern\n  a light\n\nxx"
    entries = list(extract.dictd_entries(index, data))
    report("dictd_index_and_aliases", entries == [("lantern", "lantern\n  a light\n")],
           repr(entries))
    foldoc = "lisp\n\n   1. <language> A {programming language} for lists.\n\n(1995-01-01)\n"
    report("foldoc_entry", "A programming language for lists." in
           extract.foldoc_entry_to_text(foldoc), extract.foldoc_entry_to_text(foldoc))
    # a headword line on its own is no prose
    report("clean_drops_headword_line", not clean.paragraph_is_prose(
        "Lantern Lan\"tern n. [F. lanterne]"), "kept")


def test_brown_and_others():
    text = extract.brown_to_text(BROWN_TOKENS)
    report("brown_detokenise", 'The jury said "it didn\'t find any problems".' in text
           or 'The jury said "it did n\'t find any problems".' in text
           or "The jury said \"it didn't find any problems\"." in text, text)
    report("brown_punctuation_glue", "It was, however, late (again)." in text, text)
    items = extract.fortune_items("A quiet mind.\n\t-- Someone\n%\nSecond item,\ntwo lines.\n%\n")
    report("fortune_items", items == ["A quiet mind.", "Second item,\ntwo lines."], repr(items))
    lines = "  1 This software and database is provided\n" \
            "00001740 03 n 01 entity 0 | that which is perceived; \"the cat sat here\"\n"
    glosses = list(extract.wordnet_glosses(lines))
    report("wordnet_glosses", glosses == [("that which is perceived", ["the cat sat here"])],
           repr(glosses))


def test_clean():
    sep = clean.clean_text("The model stops when it writes <|endoftext|> after the answer.")
    report("clean_removes_separator_token", "<|endoftext|>" not in sep and "model stops" in sep,
           sep)
    prose = ("When you commit a change, write a short summary line, then a blank line, "
             "then a few sentences that say why the change was needed.")
    report("clean_keeps_prose", clean.paragraph_is_prose(prose), prose)
    for name, paragraph in (
            ("code", "for (i = 0; i < n; i++) { sum += a[i]; } return sum;"),
            ("shell", "$ sudo apt-get install --no-install-recommends foo-bar"),
            ("identifiers", "ac_model_load ac_session_new ac_bpe_encode ac_beam_search run"),
            ("license", "This program is free software; you can redistribute it under the "
                        "terms of the GNU General Public License."),
            ("table_row", "0x10 0x20 0x30 0x40 1024 2048 4096 8192"),
            ("short_nav", "Next topic"),
            ("non_latin", "\u0414\u043e\u0431\u0440\u043e \u043f\u043e\u0436\u0430\u043b"
                          "\u043e\u0432\u0430\u0442\u044c \u0432 \u043c\u0430\u043d\u0443"
                          "\u0430\u043b \u043f\u043e Debian"),
            ("title_case_menu", "File Edit View Insert Format Table Tools Window Help")):
        report("clean_drops_" + name, not clean.paragraph_is_prose(paragraph), paragraph)


def test_dedup():
    seen = set()
    first = clean.dedup_document(
        "The quick brown fox jumps over the lazy dog.\n\nA second paragraph that is long "
        "enough to count.", seen)
    report("dedup_first_document_intact", first.count("\n\n") == 1, repr(first))
    second = clean.dedup_document(
        "the QUICK brown fox   jumps over the lazy dog!\n\nVersion 3.11 adds a new feature "
        "to the parser.\n\nOk.\n\nOk.", seen)
    report("dedup_near_duplicate_removed", "fox" not in second, repr(second))
    report("dedup_short_repeat_within_document", second.count("Ok.") == 1, repr(second))
    third = clean.dedup_document("Version 3.12 adds a new feature to the parser.", seen)
    report("dedup_numbers_normalised", third == "", repr(third))
    fourth = clean.dedup_document("Ok. And something else entirely different here.", seen)
    report("dedup_keeps_new_text", fourth != "", repr(fourth))
    furniture = {clean.paragraph_key("To access this command...")}
    fifth = clean.dedup_document("To access this command...\n\nOpen the Format menu and "
                                 "choose Paragraph to set the indent.", furniture)
    report("dedup_drops_marked_furniture", fifth.startswith("Open the Format"), repr(fifth))


def test_split_and_weights():
    ids = ["doc-%d" % i for i in range(20000)]
    held = [i for i in ids if clean.is_held_out("src", i, 0.015)]
    report("split_fraction", 200 <= len(held) <= 400, "%d of 20000" % len(held))
    again = [i for i in ids if clean.is_held_out("src", i, 0.015)]
    report("split_deterministic", held == again, "differs between calls")
    other = [i for i in ids if clean.is_held_out("other", i, 0.015)]
    report("split_depends_on_source", held != other, "same ids held out for two sources")
    copies = [clean.copies_for_weight("src", i, 2.5) for i in ids]
    report("weight_whole_part", min(copies) == 2 and max(copies) == 3, repr(set(copies)))
    mean = sum(copies) / len(copies)
    report("weight_fraction_mean", abs(mean - 2.5) < 0.03, "mean %.3f" % mean)
    kept = sum(clean.copies_for_weight("src", i, 0.3) for i in ids) / len(ids)
    report("weight_below_one_samples", abs(kept - 0.3) < 0.02, "kept %.3f" % kept)


MAIL = """From: Ann <ann@example.org>
To: list@example.org
Subject: Re: the backup script
Content-Type: text/plain; charset=us-ascii

On Monday, Bob Smith wrote:
> Has anyone got the backup script to run from cron? It never
> starts for me.

Yes, it runs fine here. I think the problem is that cron does not
read your shell's startup files, so the path is different.

    0 3 * * * /usr/local/bin/backup --all
    # runs at three every night

Try setting the full path at the top of the script and let us know
how it goes. The details are at http://example.org/backup if you need them.

Thanks for asking, by the way.
--
Ann, who should be asleep
_______________________________________________
List mailing list
"""

MAIL_HTML = """From: Ann <ann@example.org>
Subject: hello
Content-Type: text/html

<p>Only an HTML body, which is not read at all.</p>
"""


def test_mail_eval():
    import mail_eval
    paragraphs = mail_eval.message_paragraphs(MAIL)
    report("mail_keeps_the_senders_words",
           paragraphs[:1] == ["Yes, it runs fine here. I think the problem is that cron does not read your "
                              "shell's startup files, so the path is different."]
           and "Thanks for asking, by the way." in paragraphs, repr(paragraphs))
    report("mail_drops_quotes_and_attribution",
           not any("Bob Smith" in p or "Has anyone" in p for p in paragraphs), repr(paragraphs))
    report("mail_drops_indented_urls_signature_footer",
           not any(w in p for p in paragraphs for w in ("cron\n", "backup --all", "example.org", "asleep", "List"))
           and len(paragraphs) == 2, repr(paragraphs))
    report("mail_without_plain_text_is_empty", mail_eval.message_paragraphs(MAIL_HTML) == [],
           repr(mail_eval.message_paragraphs(MAIL_HTML)))

    # the split: messages in hash order until the paragraphs asked for are held out, the rest for
    # fine-tuning, and no paragraph on both sides (a repeated one stays with its first message)
    import json
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for group in mail_eval.GROUPS:
            os.makedirs(os.path.join(tmp, group))
        shared = "This paragraph was sent twice, to two different lists, by the same person."
        names = "one two three four five six seven eight nine ten eleven twelve".split()
        for i in range(12):
            body = "Message %s says something of its own today.\n\n%s\n" % (names[i], shared)
            raw = "From: a@b.c\nSubject: s\nContent-Type: text/plain\n\n" + body
            with open(os.path.join(tmp, mail_eval.GROUPS[i % 2], "%05d.json" % i), "w") as f:
                json.dump({"id": "%05d" % i, "text": raw}, f)
        held, rest = mail_eval.split(tmp, 3)
        again, _ = mail_eval.split(tmp, 3)
    held_p = [p for _, ps in held for p in ps]
    rest_p = [p for _, ps in rest for p in ps]
    report("mail_split_disjoint_and_stable",
           len(held) + len(rest) == 12 and len(held_p) >= 3 and not set(held_p) & set(rest_p)
           and held_p.count(shared) + rest_p.count(shared) == 1 and again == held
           and mail_eval.as_text(held).count("<|endoftext|>\n") == len(held),
           "held %d messages (%d paragraphs), rest %d" % (len(held), len(held_p), len(rest)))


def main():
    test_mail_eval()
    test_html()
    test_roff()
    test_pod()
    test_dictionary()
    test_brown_and_others()
    test_clean()
    test_dedup()
    test_split_and_weights()
    print("%d failed" % testlib.failure_count() if testlib.failure_count() else "all passed")
    return testlib.exit_status()


if __name__ == "__main__":
    sys.exit(main())
