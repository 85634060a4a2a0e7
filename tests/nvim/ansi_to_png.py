#!/usr/bin/python3
"""Renders a terminal capture with ANSI colours (tmux capture-pane -e -p) to a PNG.

This is: a small SGR interpreter (bold, italic, underline, undercurl, reverse, 16/256/24-bit
colours, underline colour) drawing a character grid with DejaVu Sans Mono via PIL. It is not a
terminal emulator: cursor movement and other escapes are ignored (capture-pane emits none).

    /usr/bin/python3 tests/nvim/ansi_to_png.py capture.ansi out.png [--cols 100] [--cursor ROW,COL]
"""
import argparse
import math
import re

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
BASE16 = [(0x1d, 0x1f, 0x21), (0xcc, 0x66, 0x66), (0xb5, 0xbd, 0x68), (0xf0, 0xc6, 0x74),
          (0x81, 0xa2, 0xbe), (0xb2, 0x94, 0xbb), (0x8a, 0xbe, 0xb7), (0xc5, 0xc8, 0xc6),
          (0x66, 0x66, 0x66), (0xd5, 0x4e, 0x53), (0xb9, 0xca, 0x4a), (0xe7, 0xc5, 0x47),
          (0x7a, 0xa6, 0xda), (0xc3, 0x97, 0xd8), (0x70, 0xc0, 0xb1), (0xea, 0xea, 0xea)]
DEFAULT_FG = (0xd8, 0xd8, 0xd8)
DEFAULT_BG = (0x1c, 0x1c, 0x1c)


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
        self.bold = self.italic = self.reverse = False
        self.underline = 0  # 0 none, 1 straight, 3 curly

    def copy(self):
        a = Attr()
        a.__dict__.update(self.__dict__)
        return a


def parse_color(params, i):
    """params[i] is 38/48/58; returns (colour, next index)."""
    if i + 1 < len(params) and params[i + 1] == "5" and i + 2 < len(params):
        return color256(int(params[i + 2] or 0)), i + 3
    if i + 1 < len(params) and params[i + 1] == "2" and i + 4 < len(params):
        return tuple(int(x or 0) for x in params[i + 2:i + 5]), i + 5
    return None, i + 1


def apply_sgr(attr, text):
    params = re.split("[;]", text) if text else ["0"]
    i = 0
    while i < len(params):
        p = params[i]
        sub = p.split(":")
        code = int(sub[0] or 0)
        if code == 0:
            attr.reset()
        elif code == 1:
            attr.bold = True
        elif code == 3:
            attr.italic = True
        elif code == 4:
            attr.underline = int(sub[1]) if len(sub) > 1 and sub[1] else 1
        elif code == 7:
            attr.reverse = True
        elif code == 22:
            attr.bold = False
        elif code == 23:
            attr.italic = False
        elif code == 24:
            attr.underline = 0
        elif code == 27:
            attr.reverse = False
        elif 30 <= code <= 37:
            attr.fg = BASE16[code - 30]
        elif 90 <= code <= 97:
            attr.fg = BASE16[code - 90 + 8]
        elif 40 <= code <= 47:
            attr.bg = BASE16[code - 40]
        elif 100 <= code <= 107:
            attr.bg = BASE16[code - 100 + 8]
        elif code == 39:
            attr.fg = None
        elif code == 49:
            attr.bg = None
        elif code == 59:
            attr.ul_color = None
        elif code in (38, 48, 58):
            if len(sub) > 1:  # the colon form: 38:5:N or 38:2::R:G:B
                if sub[1] == "5":
                    col = color256(int(sub[2] or 0))
                else:
                    col = tuple(int(v) for v in [v for v in sub[2:] if v != ""][-3:])
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
        i += 1


def parse(lines):
    """Returns rows of (char, Attr)."""
    rows = []
    attr = Attr()
    for line in lines:
        row = []
        for m in re.finditer(r"\x1b\[([0-9;:]*)m|\x1b\[[0-9;?]*[A-Za-z]|([^\x1b])", line):
            if m.group(2) is not None:
                row.append((m.group(2), attr.copy()))
            elif m.group(1) is not None or m.group(0).endswith("m"):
                apply_sgr(attr, m.group(1))
        rows.append(row)
    return rows


def wide(ch):
    import unicodedata
    return unicodedata.east_asian_width(ch) in ("W", "F")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("out")
    ap.add_argument("--cols", type=int, default=100)
    ap.add_argument("--size", type=int, default=17)
    ap.add_argument("--cursor", default=None, help="ROW,COL (0-based) to draw a bar cursor at")
    args = ap.parse_args()
    with open(args.capture, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rows = parse(lines)
    fonts = {
        (False, False): ImageFont.truetype(FONT_DIR + "DejaVuSansMono.ttf", args.size),
        (True, False): ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Bold.ttf", args.size),
        (False, True): ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Oblique.ttf", args.size),
        (True, True): ImageFont.truetype(FONT_DIR + "DejaVuSansMono-BoldOblique.ttf", args.size),
    }
    cw = math.ceil(fonts[(False, False)].getlength("M"))
    ch = math.ceil(args.size * 1.35)
    pad = 14
    img = Image.new("RGB", (args.cols * cw + 2 * pad, len(rows) * ch + 2 * pad), DEFAULT_BG)
    d = ImageDraw.Draw(img)
    for r, row in enumerate(rows):
        x = 0
        for c, a in row:
            if x >= args.cols:
                break
            w = 2 if wide(c) else 1
            fg = a.fg or DEFAULT_FG
            bg = a.bg or DEFAULT_BG
            if a.reverse:
                fg, bg = bg, fg
            px, py = pad + x * cw, pad + r * ch
            if bg != DEFAULT_BG:
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
        px, py = pad + cc * cw, pad + cr * ch
        d.rectangle([px, py + 1, px + 1, py + ch - 2], fill=(0xf0, 0xf0, 0xf0))
    img.save(args.out)


if __name__ == "__main__":
    main()
