#!/usr/bin/python3
"""ansi_png.py: renders a terminal capture with SGR colours (`tmux capture-pane -p -e`) to a PNG.

This is: the renderer behind the documentation's screenshots (tests/nvim/screenshot.sh makes
docs/screenshots/nvim.png, tests/shell/screenshot.sh makes docs/screenshots/zsh.png). A small SGR
interpreter (bold, dim, italic, underline, undercurl, reverse; 16, 256 and 24-bit colours for the
foreground, background and underline) drawing a character grid in DejaVu Sans Mono with PIL,
double-width characters included, a bar cursor and, on request, a window bar with a title.
It is not: a terminal emulator. Cursor movement and other escapes are skipped (capture-pane emits
none), one input line is one screen row, and attributes carry over from one line to the next as
capture-pane writes them (it sends only the changes).
Needs Pillow (Debian python3-pil) and the DejaVu fonts (fonts-dejavu-core).

    /usr/bin/python3 tests/lib/ansi_png.py CAPTURE OUT.png [--cols N] [--rows N] [--size PX]
        [--cursor ROW,COL] [--title TEXT]

--cols/--rows default to the capture's widest line and its number of lines; ROW and COL count
from 0 (tmux: '#{cursor_y},#{cursor_x}'); --title adds a window bar above the grid.
"""
import argparse
import math
import re
import unicodedata

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
# the 16 colours: black red green yellow blue magenta cyan white, then the bright ones
BASE16 = [(0x1d, 0x1f, 0x21), (0xcc, 0x66, 0x66), (0xb5, 0xbd, 0x68), (0xf0, 0xc6, 0x74),
          (0x81, 0xa2, 0xbe), (0xb2, 0x94, 0xbb), (0x8a, 0xbe, 0xb7), (0xc5, 0xc8, 0xc6),
          (0x66, 0x66, 0x66), (0xd5, 0x4e, 0x53), (0xb9, 0xca, 0x4a), (0xe7, 0xc5, 0x47),
          (0x7a, 0xa6, 0xda), (0xc3, 0x97, 0xd8), (0x70, 0xc0, 0xb1), (0xea, 0xea, 0xea)]
DEFAULT_FG = (0xd8, 0xd8, 0xd8)
DEFAULT_BG = (0x1c, 0x1c, 0x1c)   # the Neovim screenshot's Normal background, so the margin matches
BAR_BG = (0x2e, 0x2f, 0x33)
BAR_FG = (0xa0, 0xa5, 0xaf)
BAR_DOTS = [(237, 106, 94), (245, 191, 79), (98, 197, 84)]
CURSOR = (0xf0, 0xf0, 0xf0)
PAD = 14          # margin around the grid, px
BAR_H = 30        # window bar height, px

# an SGR sequence (group 1: its parameters), any other CSI sequence, an OSC string, another escape,
# or one character (group 2)
TOKEN = re.compile(r"\x1b\[([0-9;:]*)m|\x1b\[[0-9;:?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
                   r"|\x1b.?|([^\x1b])")


# the SGR codes that set one attribute to one value
SGR_SET = {1: ("bold", True), 2: ("dim", True), 3: ("italic", True), 7: ("reverse", True),
           21: ("underline", 2), 23: ("italic", False), 24: ("underline", 0), 27: ("reverse", False),
           39: ("fg", None), 49: ("bg", None), 59: ("ul_color", None)}


def color256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


class Attr:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.ul_color = None
        self.bold = self.dim = self.italic = self.reverse = False
        self.underline = 0  # 0 none, 1 straight, 2 double (drawn straight), 3 curly, 4/5 dotted/dashed

    def copy(self):
        a = Attr()
        a.__dict__.update(self.__dict__)
        return a

    def colors(self):
        """(foreground, background) after dim and reverse; background None means the default."""
        fg = self.fg or DEFAULT_FG
        bg = self.bg
        if self.dim:
            fg = tuple((f + b) // 2 for f, b in zip(fg, bg or DEFAULT_BG))
        if self.reverse:
            fg, bg = (bg or DEFAULT_BG), fg
        return fg, bg


def to_int(s):
    return int(s) if s.isdigit() else 0


def parse_color(params, i):
    """params[i] is 38/48/58 in the semicolon form; returns (colour or None, next index)."""
    if i + 2 < len(params) and params[i + 1] == "5":
        return color256(min(to_int(params[i + 2]), 255)), i + 3
    if i + 4 < len(params) and params[i + 1] == "2":
        return tuple(min(to_int(x), 255) for x in params[i + 2:i + 5]), i + 5
    return None, i + 1


def apply_sgr(attr, text):
    params = text.split(";") if text else ["0"]
    i = 0
    while i < len(params):
        sub = params[i].split(":")
        code = to_int(sub[0])
        if code in (38, 48, 58):
            if len(sub) > 1:  # the colon form: 38:5:N or 38:2::R:G:B (the colour space id may be empty)
                if sub[1] == "5" and len(sub) > 2:
                    col = color256(min(to_int(sub[2]), 255))
                else:
                    rgb = [v for v in sub[2:] if v != ""][-3:]
                    col = tuple(min(to_int(v), 255) for v in rgb) if len(rgb) == 3 else None
                i += 1
            else:
                col, i = parse_color(params, i)
            if code == 38:
                attr.fg = col
            elif code == 48:
                attr.bg = col
            else:
                attr.ul_color = col
            continue
        if code == 0:
            attr.reset()
        elif code in SGR_SET:
            name, value = SGR_SET[code]
            setattr(attr, name, value)
        elif code == 4:
            attr.underline = to_int(sub[1]) if len(sub) > 1 else 1
        elif code == 22:
            attr.bold = attr.dim = False
        elif 30 <= code <= 37 or 90 <= code <= 97:
            attr.fg = BASE16[code % 10 + (8 if code >= 90 else 0)]
        elif 40 <= code <= 47 or 100 <= code <= 107:
            attr.bg = BASE16[code % 10 + (8 if code >= 100 else 0)]
        i += 1


def parse(lines):
    """Returns one list of (char, Attr) per line; the attributes carry over between lines."""
    rows = []
    attr = Attr()
    for line in lines:
        row = []
        for m in TOKEN.finditer(line):
            if m.group(2) is not None:
                if m.group(2) >= " ":
                    row.append((m.group(2), attr.copy()))
            elif m.group(1) is not None:
                apply_sgr(attr, m.group(1))
        rows.append(row)
    return rows


def width(ch):
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def main():
    ap = argparse.ArgumentParser(description="Renders a tmux capture-pane -e capture to a PNG.")
    ap.add_argument("capture")
    ap.add_argument("out")
    ap.add_argument("--cols", type=int, default=0, help="grid width (default: the widest line)")
    ap.add_argument("--rows", type=int, default=0, help="grid height (default: the number of lines)")
    ap.add_argument("--size", type=int, default=17, help="font size in px")
    ap.add_argument("--cursor", default=None, help="ROW,COL (0-based) to draw a bar cursor at")
    ap.add_argument("--title", default=None, help="draw a window bar with this title")
    args = ap.parse_args()
    with open(args.capture, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rows = parse(lines)
    n_cols = args.cols or max([sum(width(c) for c, _ in row) for row in rows] + [1])
    n_rows = args.rows or max(len(rows), 1)
    rows = rows[:n_rows]
    fonts = {
        (False, False): ImageFont.truetype(FONT_DIR + "DejaVuSansMono.ttf", args.size),
        (True, False): ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Bold.ttf", args.size),
        (False, True): ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Oblique.ttf", args.size),
        (True, True): ImageFont.truetype(FONT_DIR + "DejaVuSansMono-BoldOblique.ttf", args.size),
    }
    cw = math.ceil(fonts[(False, False)].getlength("M"))
    ch = math.ceil(args.size * 1.35)
    top = BAR_H if args.title is not None else 0
    W, H = n_cols * cw + 2 * PAD, top + n_rows * ch + 2 * PAD
    img = Image.new("RGB", (W, H), DEFAULT_BG)
    d = ImageDraw.Draw(img)
    if args.title is not None:
        d.rectangle([0, 0, W, BAR_H - 1], fill=BAR_BG)
        for k, col in enumerate(BAR_DOTS):
            d.ellipse([12 + k * 20, 9, 24 + k * 20, 21], fill=col)
        tw = fonts[(False, False)].getlength(args.title)
        d.text(((W - tw) / 2, (BAR_H - args.size) // 2 - 1), args.title,
               font=fonts[(False, False)], fill=BAR_FG)
    for r, row in enumerate(rows):
        x = 0
        for c, a in row:
            w = width(c)
            if x + w > n_cols:
                break
            fg, bg = a.colors()
            px, py = PAD + x * cw, top + PAD + r * ch
            if bg is not None and bg != DEFAULT_BG:
                d.rectangle([px, py, px + w * cw - 1, py + ch - 1], fill=bg)
            if c != " ":
                d.text((px, py + (ch - args.size) // 2 - 1), c, font=fonts[(a.bold, a.italic)], fill=fg)
            base = py + ch - 3
            ulc = a.ul_color or fg
            if a.underline == 3:
                pts = [(px + k, base + 1.5 * math.sin((px + k) * math.pi / 3)) for k in range(w * cw + 1)]
                d.line(pts, fill=ulc, width=1)
            elif a.underline:
                d.line([px, base, px + w * cw - 1, base], fill=ulc, width=1)
            x += w
    if args.cursor:
        cr, cc = (int(v) for v in args.cursor.split(","))
        px, py = PAD + cc * cw, top + PAD + cr * ch
        d.rectangle([px, py + 1, px + 1, py + ch - 2], fill=CURSOR)
    img.save(args.out)


if __name__ == "__main__":
    main()
