#!/usr/bin/python3
"""ansi_png.py: renders `tmux capture-pane -p -e` output (text with SGR colour codes) to a PNG.

For the documentation's screenshots (tests/shell/screenshot.sh), not a general terminal emulator:
it understands SGR only (bold, dim, italic, underline, reverse, the 16 colours, 256 colours and
RGB, foreground and background), one row per line, and draws the cursor as a bar.
Needs Pillow (Debian python3-pil) and the DejaVu Sans Mono font (fonts-dejavu-core).

Usage: ansi_png.py CAPTURE.txt OUT.png [--cursor X,Y] [--cols N] [--rows N] [--title TEXT]
"""
import argparse
import re

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 18
BG = (30, 32, 38)
FG = (220, 223, 228)
# the 16 colours of a dark theme: black red green yellow blue magenta cyan white, then bright
PALETTE16 = [
    (40, 42, 48), (224, 108, 117), (152, 195, 121), (229, 192, 123),
    (97, 175, 239), (198, 120, 221), (86, 182, 194), (200, 204, 212),
    (110, 116, 128), (240, 128, 138), (170, 215, 140), (240, 205, 140),
    (120, 190, 250), (215, 140, 235), (110, 200, 210), (250, 250, 252),
]
SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def colour256(n):
    if n < 16:
        return PALETTE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def apply(self, params):
        codes = [int(p) if p else 0 for p in re.split("[;:]", params)] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 3:
                self.italic = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 23:
                self.italic = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = PALETTE16[c - 30]
            elif 90 <= c <= 97:
                self.fg = PALETTE16[c - 90 + 8]
            elif 40 <= c <= 47:
                self.bg = PALETTE16[c - 40]
            elif 100 <= c <= 107:
                self.bg = PALETTE16[c - 100 + 8]
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    col = colour256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    col = tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    col = None
                if c == 38:
                    self.fg = col
                else:
                    self.bg = col
            i += 1

    def colours(self):
        fg = self.fg or FG
        bg = self.bg
        if self.dim:
            fg = tuple((a + b) // 2 for a, b in zip(fg, BG))
        if self.reverse:
            fg, bg = (bg or BG), fg
        return fg, bg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("out")
    ap.add_argument("--cursor", default=None)
    ap.add_argument("--cols", type=int, default=0)
    ap.add_argument("--rows", type=int, default=0)
    ap.add_argument("--title", default="")
    a = ap.parse_args()

    lines = open(a.capture, encoding="utf-8", errors="replace").read().rstrip("\n").split("\n")
    font = ImageFont.truetype(FONT, SIZE)
    bold = ImageFont.truetype(FONT_BOLD, SIZE)
    cw = round(font.getlength("M"))
    asc, desc = font.getmetrics()
    ch = asc + desc + 4
    cols = a.cols or max(len(SGR.sub("", l)) for l in lines)
    rows = a.rows or len(lines)
    pad = 18
    bar = 30 if a.title is not None else 0
    W, H = cols * cw + 2 * pad, rows * ch + 2 * pad + bar
    img = Image.new("RGB", (W, H), BG)
    d = ImageDraw.Draw(img)
    # a window bar
    d.rectangle([0, 0, W, bar], fill=(44, 47, 54))
    for k, col in enumerate([(237, 106, 94), (245, 191, 79), (98, 197, 84)]):
        d.ellipse([12 + k * 20, 9, 24 + k * 20, 21], fill=col)
    if a.title:
        tw = font.getlength(a.title)
        d.text(((W - tw) / 2, 5), a.title, font=font, fill=(160, 165, 175))

    for y, line in enumerate(lines[:rows]):
        st = Style()
        x = 0
        pos = 0
        for m in list(SGR.finditer(line)) + [None]:
            end = m.start() if m else len(line)
            for c in line[pos:end]:
                fg, bg = st.colours()
                px, py = pad + x * cw, bar + pad + y * ch
                if bg:
                    d.rectangle([px, py, px + cw - 1, py + ch - 1], fill=bg)
                d.text((px, py + 2), c, font=bold if st.bold else font, fill=fg)
                if st.underline:
                    d.line([px, py + ch - 3, px + cw - 1, py + ch - 3], fill=fg)
                x += 1
            if m is None:
                break
            st.apply(m.group(1))
            pos = m.end()
    if a.cursor:
        cx, cy = (int(v) for v in a.cursor.split(","))
        px, py = pad + cx * cw, bar + pad + cy * ch
        d.rectangle([px, py + 2, px + 1, py + ch - 2], fill=(235, 235, 235))  # a bar cursor
    img.save(a.out)


if __name__ == "__main__":
    main()
