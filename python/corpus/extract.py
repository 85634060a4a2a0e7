"""Format readers for the corpus builder: turn one source file into plain text.

What this is: pure functions from the bytes/text of one file (HTML page, roff man page, POD page,
Brown-corpus tagged file, dictd database, WordNet data file, fortune file) to plain text with
paragraphs separated by blank lines. Code blocks, tables, navigation and markup are dropped here
when the format marks them; the format-blind filters live in clean.py.

What this is not: it walks no directories, knows no packages and writes no files (sources.py and
build_corpus.py do that), and it does not judge whether a paragraph is prose (clean.py does).
"""

import gzip
import html
import html.parser
import re

# ---------------------------------------------------------------------------------------------
# HTML

# Elements whose whole content is dropped: code, tables, navigation, page furniture.
_HTML_SKIP_TAGS = {
    "script", "style", "pre", "table", "nav", "header", "footer", "head", "noscript",
    "svg", "math", "form", "button", "select", "textarea", "object", "iframe", "kbd", "samp",
}
# Class or id words that mark navigation, code or index furniture in Sphinx, DocBook,
# LibreOffice and the Debian manuals.
_HTML_SKIP_CLASSES = {
    "related", "sphinxsidebar", "sphinxsidebarwrapper", "footer", "navheader", "navfooter",
    "breadcrumb", "breadcrumbs", "toc", "headerlink", "navigation", "nav", "menu",
    "highlight", "literal-block", "programlisting", "screen", "synopsis", "cmdsynopsis",
    "funcsynopsis", "toctree-wrapper", "topic", "contents", "index", "indexterm", "docnav",
    "header", "navbar", "searchbox", "copyright", "legalnotice", "doc-footer", "rst-versions",
    "wy-nav-side", "relbar", "bottomnav", "topnav", "literallayout", "bug", "debug",
    "code", "example-contents", "informalexample", "codeblock", "doctest", "sig", "sig-object",
    "tablecontents", "refsynopsisdiv", "navigation-bar", "mw-navigation", "printfooter",
    "revhistory", "authorgroup", "article-footer", "switch", "bm_module",
    "search", "language-selector", "lang_select", "back", "relatedtopics", "relatedbody",
}
_HTML_BLOCK_TAGS = {
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "section", "article", "tr", "br", "hr", "body", "html", "main", "aside",
    "figure", "figcaption", "caption", "address", "center", "td", "th",
}
_HTML_VOID_TAGS = {
    "br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "param",
    "source", "track", "wbr",
}


class _HtmlTextParser(html.parser.HTMLParser):
    """Collects visible prose text; drops skipped subtrees (see _HTML_SKIP_*)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []          # text pieces and "\n\n" paragraph breaks, in order
        self.skip_tag = None     # tag name of the subtree being skipped, or None
        self.skip_depth = 0      # nesting of skip_tag inside the skipped subtree

    def _is_skipped(self, tag, attrs):
        if tag in _HTML_SKIP_TAGS:
            return True
        for name, value in attrs:
            if name in ("class", "id", "role") and value:
                for word in value.lower().replace("_", "-").split():
                    if word in _HTML_SKIP_CLASSES:
                        return True
                    if name == "role" and word in ("navigation", "search", "banner"):
                        return True
        return False

    def handle_starttag(self, tag, attrs):
        if self.skip_tag is not None:
            if tag == self.skip_tag and tag not in _HTML_VOID_TAGS:
                self.skip_depth += 1
            return
        if tag not in _HTML_VOID_TAGS and self._is_skipped(tag, attrs):
            self.skip_tag = tag
            self.skip_depth = 1
            return
        if tag in _HTML_BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag, attrs):
        if self.skip_tag is None and tag in _HTML_BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
            return
        if tag in _HTML_BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self.skip_tag is None:
            self.parts.append(data)


def html_to_text(markup):
    """Visible prose of an HTML page as paragraphs separated by blank lines.

    markup: str, a whole page. Returns str (may be empty). Drops <pre>, tables, scripts,
    navigation and code-highlight blocks; inline markup (<b>, <code>, <a>) keeps its text.
    Whitespace inside a paragraph is collapsed to single spaces.
    """
    parser = _HtmlTextParser()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):
        pass  # html.parser gives up on some broken markup; keep what it had read
    return _join_paragraphs("".join(parser.parts).split("\n\n"))


def _join_paragraphs(chunks):
    paragraphs = []
    for chunk in chunks:
        text = " ".join(chunk.split())
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


def vim_help_to_text(markup):
    """Running text of a Vim help page as vim-doc renders it (the help file inside <pre>).

    markup: str. Returns str, paragraphs separated by blank lines. Blocks with an indented
    or tab-separated line (examples, tables, option lists), header and rule lines are dropped;
    |tag| and *tag* markers keep their word.
    """
    text = re.sub(r"<[^>]*>", "", markup)
    text = html.unescape(text)
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", text):
        lines = [line.rstrip() for line in block.strip("\n").split("\n")]
        if not lines or any(line[:1] in (" ", "\t") or "\t" in line for line in lines):
            continue
        if any(re.match(r"^(=+|-+|\*\S+\*)\s*$", line) or line.endswith((">", "~"))
               for line in lines):
            continue   # rules, headings, lines announcing an example block
        joined = " ".join(" ".join(lines).split())
        joined = re.sub(r"\|([^|\s]+)\|", r"\1", joined)
        joined = re.sub(r"\*([^*\s]+)\*", r"\1", joined)
        paragraphs.append(joined)
    return _join_paragraphs(paragraphs)


# ---------------------------------------------------------------------------------------------
# roff (man pages)

_ROFF_NAMED = {
    "em": "\u2014", "en": "\u2013", "hy": "-", "lq": "\u201c", "rq": "\u201d", "oq": "\u2018",
    "cq": "\u2019", "aq": "'", "dq": '"', "bu": "\u2022", "co": "\u00a9", "rg": "\u00ae",
    "tm": "\u2122", "mi": "-", "pl": "+", "mu": "\u00d7", "di": "\u00f7", "+-": "\u00b1",
    "<=": "\u2264", ">=": "\u2265", "!=": "\u2260", "->": "\u2192", "<-": "\u2190", "de": "\u00b0",
    "ti": "~", "ha": "^", "rs": "\\", "ga": "`", "at": "@", "sh": "#", "Do": "$", "ul": "_",
    "fm": "\u2032", "sc": "\u00a7", "ps": "\u00b6", "ss": "\u00df", "oe": "\u0153",
    "e'": "\u00e9", "a'": "\u00e1", "o'": "\u00f3", "u'": "\u00fa", "i'": "\u00ed",
    ":u": "\u00fc", ":o": "\u00f6", ":a": "\u00e4", "ba": "|", "or": "|", "sl": "/",
}
_ROFF_ESCAPE = re.compile(
    r"\\(?:"
    r"\((?P<two>..)"            # \(xx named glyph
    r"|\[(?P<long>[^\]]*)\]"    # \[name] named glyph
    r"|f(?:\[[^\]]*\]|\(..|.)"  # font change
    r"|s[-+]?(?:\d|\(\d\d|\[\d+\])"  # size change
    r"|[*n](?:\[[^\]]*\]|\(..|.)"    # string / register interpolation
    r"|[hvwlLDoxkbXNZz]'[^']*'"      # escapes with a quoted argument
    r"|[&|^%:/,)c!]"            # zero-width and break-control escapes
    r"|(?P<esc>[-e\\ ~0tu.'`\"])"  # printable escapes
    r"|(?P<other>.)"
    r")"
)
_ROFF_DROP_BLOCKS = {  # macro that opens -> macro that closes; content is code or a table
    ".nf": ".fi", ".EX": ".EE", ".TS": ".TE", ".EQ": ".EN", ".PS": ".PE", ".de": "..",
    ".ig": "..", ".SY": ".YS",
}
_ROFF_BREAK_MACROS = {
    ".PP", ".LP", ".P", ".TP", ".IP", ".HP", ".SH", ".SS", ".sp", ".br", ".RS", ".RE",
    ".TQ", ".in", ".ti", ".bp", ".Sh", ".Ss", ".Pp", ".Bl", ".El", ".It", ".Bd", ".Ed",
}
_ROFF_TEXT_MACROS = {  # font-change macros whose arguments are running text
    ".B", ".I", ".SM", ".SB", ".BR", ".RB", ".IR", ".RI", ".BI", ".IB", ".UR", ".MT",
    ".Nm", ".Ar", ".Fl", ".Em", ".Sy", ".Pa", ".Cm", ".Xr", ".Dq", ".Ql", ".Va", ".Ev",
}


def _roff_unescape(text):
    def replace(match):
        if match.group("two") is not None:
            return _ROFF_NAMED.get(match.group("two"), "")
        if match.group("long") is not None:
            name = match.group("long")
            if name.startswith("u") and re.fullmatch(r"u[0-9A-Fa-f]{4,6}", name):
                return chr(int(name[1:], 16))
            return _ROFF_NAMED.get(name, "")
        esc = match.group("esc")
        if esc is not None:
            return {"-": "-", "e": "\\", "\\": "\\", " ": " ", "~": " ", "0": " ", "t": " ",
                    "u": "", ".": ".", "'": "'", "`": "`", '"': '"'}[esc]
        if match.group("other") is not None:
            return ""
        return ""
    return _ROFF_ESCAPE.sub(replace, text)


def _roff_macro_args(rest):
    """Split macro arguments, honouring double quotes."""
    args = []
    for match in re.finditer(r'"((?:[^"]|"")*)"?|(\S+)', rest):
        args.append(match.group(1).replace('""', '"') if match.group(1) is not None
                    else match.group(2))
    return args


def roff_to_text(source):
    """Running text of a man page written in roff (man or mdoc macros), without groff.

    source: str, the page. Returns str, paragraphs separated by blank lines. Drops the title
    and NAME/SYNOPSIS sections, no-fill blocks (.nf/.fi, .EX/.EE: examples), tbl tables
    (.TS/.TE), comments and macro definitions; font changes keep their text.
    """
    out = []           # output pieces, "\n\n" for a paragraph break
    closing = None     # macro that ends the block being dropped
    skip_section = False
    for raw in source.split("\n"):
        line = raw.rstrip()
        if closing is not None:
            if line.startswith(closing):
                closing = None
            continue
        if line.startswith(('.\\"', "'\\\"", '\\"', ".\\#")) or line == ".":
            continue
        if line.startswith((".", "'")) and len(line) > 1:
            parts = line.split(None, 1)
            macro = "." + parts[0][1:]
            rest = parts[1] if len(parts) > 1 else ""
            if macro in _ROFF_DROP_BLOCKS:
                closing = _ROFF_DROP_BLOCKS[macro]
                out.append("\n\n")
                continue
            if macro in (".SH", ".Sh", ".SS", ".Ss"):
                title = _roff_unescape(" ".join(_roff_macro_args(rest))).strip().upper()
                skip_section = title in ("NAME", "SYNOPSIS", "COLOPHON", "SEE ALSO",
                                         "AUTHOR", "AUTHORS", "COPYRIGHT", "FILES",
                                         "REPORTING BUGS", "LICENSE", "EXAMPLE", "EXAMPLES")
                out.append("\n\n")
                continue
            if skip_section:
                continue
            if macro in _ROFF_BREAK_MACROS:
                out.append("\n\n")
                if macro in (".IP", ".It") and rest:
                    # .IP tag indent: a short tag (bullet, option name) goes before the text
                    args = _roff_macro_args(rest)
                    tag = _roff_unescape(args[0]).strip() if args else ""
                    if tag and len(tag) > 3:
                        out.append(tag + "\n\n")
                continue
            if macro in _ROFF_TEXT_MACROS:
                args = _roff_macro_args(rest)
                if macro in (".BR", ".RB", ".IR", ".RI", ".BI", ".IB"):
                    out.append(_roff_unescape("".join(args)) + "\n")
                else:
                    out.append(_roff_unescape(" ".join(args)) + "\n")
                continue
            continue  # any other request or macro carries no running text
        if skip_section:
            continue
        if not line.strip():
            out.append("\n\n")
            continue
        out.append(_roff_unescape(line) + "\n")
    return _join_paragraphs("".join(out).split("\n\n"))


# ---------------------------------------------------------------------------------------------
# POD (Perl documentation)

_POD_DOUBLE = re.compile(r"([BICFSLEXZ])<<+\s+(.*?)\s+>>+", re.S)
_POD_SINGLE = re.compile(r"([BICFSLEXZ])<([^<>]*)>")
_POD_ENTITIES = {"lt": "<", "gt": ">", "verbar": "|", "sol": "/"}


def _pod_code(match):
    kind, body = match.group(1), match.group(2)
    if kind in ("X", "Z"):
        return ""
    if kind == "E":
        if body in _POD_ENTITIES:
            return _POD_ENTITIES[body]
        if body.isdigit():
            return chr(int(body))
        return html.unescape("&" + body + ";")
    if kind == "L":
        if "|" in body:
            return body.split("|", 1)[0]
        return body.replace('"', "").replace("/", " ").strip()
    return body


def _pod_inline(text):
    """Removes POD formatting codes: B<x> -> x, L<text|target> -> text, E<gt> -> >."""
    text = _POD_DOUBLE.sub(_pod_code, text)
    for _ in range(8):  # innermost codes first, until nothing is left to replace
        replaced = _POD_SINGLE.sub(_pod_code, text)
        if replaced == text:
            break
        text = replaced
    return text


def pod_to_text(source):
    """Prose of a POD document: ordinary paragraphs only, formatting codes removed.

    source: str. Returns str, paragraphs separated by blank lines. Verbatim (indented)
    paragraphs are code and are dropped; =head and =item text is kept as short lines.
    """
    paragraphs = []
    in_pod = True
    skip_block = False
    for block in re.split(r"\n[ \t]*\n", source):
        if not block.strip():
            continue
        if block.startswith("="):
            command = block.split(None, 1)[0]
            rest = block[len(command):].strip()
            if command == "=cut":
                in_pod = False
            else:
                in_pod = True
            if command == "=begin":
                skip_block = True
            elif command == "=end":
                skip_block = False
            elif command in ("=head1", "=head2", "=head3", "=head4", "=item") and rest:
                rest = rest.lstrip("*").strip()
                if rest:
                    paragraphs.append(_pod_inline(rest))
            continue
        if not in_pod or skip_block:
            continue
        if block[0] in " \t":
            continue  # verbatim paragraph: code
        paragraphs.append(_pod_inline(block))
    return _join_paragraphs(paragraphs)


# ---------------------------------------------------------------------------------------------
# Brown corpus (word/tag tokens)

_NO_SPACE_BEFORE = {".", ",", ";", ":", "?", "!", ")", "]", "}", "'", "''", "'s", "n't", "%"}
_NO_SPACE_AFTER = {"(", "[", "{", "$", "``"}


def brown_to_text(source):
    """Detokenised text of one Brown-corpus file ("The/at jury/nn ./." tokens).

    source: str. Returns str, one paragraph per source paragraph (blank-line separated).
    `` and '' become straight double quotes; tags are dropped.
    """
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", source):
        words = []
        for token in block.split():
            word = token.rsplit("/", 1)[0] if "/" in token else token
            words.append(word)
        if not words:
            continue
        pieces = []
        open_quote = False
        for index, word in enumerate(words):
            if word == "``":
                text = '"'
                open_quote = True
            elif word == "''":
                text = '"'
                open_quote = False
            else:
                text = word
            glue = index == 0
            previous = words[index - 1] if index > 0 else ""
            if word in _NO_SPACE_BEFORE or previous in _NO_SPACE_AFTER:
                glue = True
            if word == "''" or (word in ("'", ) and not open_quote):
                glue = True
            pieces.append(text if glue else " " + text)
        paragraphs.append("".join(pieces))
    return _join_paragraphs(paragraphs)


# ---------------------------------------------------------------------------------------------
# dictd databases (GCIDE, FOLDOC)

def dictd_entries(index_text, dict_bytes):
    """(headword, body) pairs of a dictd database.

    index_text: str, the .index file (headword TAB base64-offset TAB base64-length per line).
    dict_bytes: bytes, the uncompressed .dict data. Yields tuples in index order; entries
    sharing one offset (aliases) are yielded once.
    """
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    values = {c: i for i, c in enumerate(alphabet)}

    def b64(word):
        number = 0
        for char in word:
            number = number * 64 + values[char]
        return number

    seen = set()
    for line in index_text.split("\n"):
        fields = line.split("\t")
        if len(fields) < 3 or fields[0].startswith("00database"):
            continue
        try:
            offset, length = b64(fields[1]), b64(fields[2])
        except KeyError:
            continue
        if offset in seen:
            continue
        seen.add(offset)
        yield fields[0], dict_bytes[offset:offset + length].decode("utf-8", "replace")


def read_dictzip(path):
    """Uncompressed bytes of a dictzip (.dict.dz) file, which is a gzip file."""
    with gzip.open(path, "rb") as handle:
        return handle.read()


def gcide_entry_to_text(body):
    """Definition and quotation prose of one GCIDE entry.

    body: str, the entry as dictd stores it (headword line, pronunciation, part of speech,
    [Etym: ...], numbered senses, quotations with authors, "Syn." lists). Returns str: the
    sense definitions and quotations as paragraphs; the headword line, etymologies,
    pronunciations, synonym lists and attribution lines are dropped.
    """
    text = body
    for _ in range(3):   # [Etym: ...], [1913 Webster], [imp. & p. p. ...], innermost first
        text = re.sub(r"\[[^\[\]]*\]", " ", text, flags=re.S)
    text = text.split("\n", 1)[1] if "\n" in text else ""   # the headword line
    text = re.sub(r"\{([^{}]*)\}", r"\1", text)              # {word} cross references
    text = re.sub(r"^[^()\n]{0,40}\)\s*", "", text.lstrip())  # end of a wrapped (label)
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", text):
        block = " ".join(block.split())
        block = re.sub(r"^(\d+\.|\([a-z]\))\s*", "", block)
        block = re.sub(r"^\([A-Z][^()]{0,40}\)\s*", "", block)   # (Arch.) domain label
        block = re.sub(r"\s--\s?[A-Z][^\n]*$", "", block)       # "--Shak." attribution
        if not block or re.match(r"^(Syn[.:]|Note:|--|See\b|Usage:|Ant[.:])", block):
            continue
        paragraphs.append(block)
    return _join_paragraphs(paragraphs)


def foldoc_entry_to_text(body):
    """Definition prose of one FOLDOC entry: drops the headword line and the date line."""
    lines = body.split("\n")[1:]
    text = "\n".join(lines)
    text = re.sub(r"\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\(\d{4}-\d{2}-\d{2}\)\s*$", "", text.strip())
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", text):
        block = " ".join(block.split())
        if block and not re.match(r"^(https?://|ftp://|<|\[)", block):
            paragraphs.append(block)
    return _join_paragraphs(paragraphs)


# ---------------------------------------------------------------------------------------------
# WordNet

def wordnet_glosses(data_text):
    """Glosses and quoted example sentences of a WordNet data.* file.

    data_text: str. Yields (gloss, [example, ...]) per synset line; the license header lines
    (starting with two spaces) are skipped.
    """
    for line in data_text.split("\n"):
        if not line or line.startswith("  ") or "|" not in line:
            continue
        gloss = line.split("|", 1)[1].strip()
        examples = re.findall(r'"([^"]+)"', gloss)
        definition = re.sub(r';?\s*"[^"]*"', "", gloss).strip(" ;")
        yield definition, [example.strip() for example in examples]


# ---------------------------------------------------------------------------------------------
# fortune files

def fortune_items(source):
    """Items of a fortune file (items separated by lines holding only %), stripped of the
    trailing "-- Author" attribution lines. Returns a list of str, line breaks kept."""
    items = []
    for item in re.split(r"\n%\n", source):
        lines = [line.rstrip() for line in item.strip("\n").split("\n")]
        while lines and re.match(r"^\s*(--|\u2014)\s*\S", lines[-1]):
            lines.pop()
        while lines and not lines[-1].strip():
            lines.pop()
        text = "\n".join(lines).strip("\n")
        if text.strip():
            items.append(text)
    return items
