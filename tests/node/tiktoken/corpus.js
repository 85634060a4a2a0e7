// corpus.js: writes the texts of the tokenizer reference test, one file per kind of text, all valid
// UTF-8, deterministic for a given seed and a given machine (the prose and code come from files
// installed on it, taken in sorted order with a seeded shuffle).
//
// Usage: node corpus.js OUT_DIR EXCLUDE_FILE SEED
//   EXCLUDE_FILE: code points (hex, one per line) that the random texts must not use (those whose
//   class differs between the C side's Unicode version and node's; see classes.js).
// Writes OUT_DIR/<section>.txt and prints "<section> <bytes>" per file. Adds generated mixed text
// until the total is at least 10.5 MB, whatever the machine has installed.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const [outDir, excludeFile, seedArg] = process.argv.slice(2);
const exclude = new Set(
  fs.readFileSync(excludeFile, 'utf8').split('\n').filter(Boolean).map((h) => parseInt(h, 16)));

// mulberry32: a small seeded generator, the same on every machine.
let state = (Number(seedArg) >>> 0) || 1;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const below = (n) => Math.floor(rand() * n);
const pick = (arr) => arr[below(arr.length)];
const between = (lo, hi) => lo + below(hi - lo + 1);

function cp(c) {
  if (c >= 0xd800 && c <= 0xdfff) return '';
  if (exclude.has(c)) return '';
  return String.fromCodePoint(c);
}
const fromRange = ([lo, hi]) => cp(between(lo, hi));

// --- files installed on the machine ---------------------------------------------------------------

function listFiles(root, test, out = []) {
  let entries;
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (e) {
    return out;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(root, e.name);
    if (e.isDirectory()) listFiles(p, test, out);
    else if (e.isFile() && test(p)) out.push(p);
  }
  return out;
}

function readText(p) {
  try {
    let b = fs.readFileSync(p);
    if (p.endsWith('.gz')) b = zlib.gunzipSync(b);
    return b.toString('utf8'); // invalid UTF-8 becomes U+FFFD: the files we write are valid
  } catch (e) {
    return '';
  }
}

// A seeded shuffle of the files, then up to perFile characters of each until `budget`.
function fromFiles(files, budget, perFile) {
  const order = files.slice();
  for (let i = order.length - 1; i > 0; i--) {
    const j = below(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const parts = [];
  let size = 0;
  for (const f of order) {
    if (size >= budget) break;
    let t = readText(f);
    if (t.length > perFile) {
      const start = below(t.length - perFile);
      t = t.slice(start, start + perFile);
    }
    parts.push(t);
    size += Buffer.byteLength(t);
  }
  return parts.join('\n');
}

// --- generated text ---------------------------------------------------------------------------------

const SCRIPTS = [ // [letters range, optional digits range]
  [[0x41, 0x5a]], [[0x61, 0x7a]], [[0xc0, 0x24f]], [[0x370, 0x3ff]], [[0x400, 0x4ff]], [[0x531, 0x587]],
  [[0x5d0, 0x5ea]], [[0x620, 0x64a], [0x660, 0x669]], [[0x904, 0x939], [0x966, 0x96f]],
  [[0x985, 0x9b9], [0x9e6, 0x9ef]], [[0xe01, 0xe30], [0xe50, 0xe59]], [[0x10a0, 0x10ff]], [[0x1200, 0x137c]],
  [[0x13a0, 0x13f4]], [[0x1780, 0x17b3], [0x17e0, 0x17e9]], [[0x3041, 0x3096]], [[0x30a1, 0x30fa]],
  [[0x4e00, 0x9fff]], [[0xac00, 0xd7a3]], [[0x1100, 0x11ff]], [[0xa000, 0xa48c]], [[0x1e00, 0x1eff]],
  [[0x20000, 0x2a6df]], [[0x10400, 0x1044f]], [[0x1d400, 0x1d7ff]], [[0xff21, 0xff5a], [0xff10, 0xff19]],
  [[0x0d05, 0x0d39], [0x0d66, 0x0d6f]], [[0x0b85, 0x0bb9], [0x0be6, 0x0bef]], [[0x1820, 0x1878], [0x1810, 0x1819]],
];
const DIGITS = [[0x30, 0x39], [0x660, 0x669], [0x6f0, 0x6f9], [0x966, 0x96f], [0xff10, 0xff19], [0x1d7ce, 0x1d7ff],
  [0xb2, 0xb3], [0xbc, 0xbe], [0x2150, 0x2189], [0x2460, 0x249b], [0x2070, 0x2079], [0x3007, 0x3007], [0x1040, 0x1049]];
const PUNCT = '.,;:!?-()[]{}"\'/\\@#$%^&*_+=<>|~`«»“”‘’—–…·•¿¡§¶†‡′″‰€£¥₹¢©®™°±×÷←→↑↓∀∂∈∑√∞≈≠≤≥';
const JS_SPACES = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
  0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff];
const NOT_JS_SPACES = [0x85, 0x180e, 0x200b, 0x200c, 0x200d, 0x2060, 0x1c, 0x1d, 0x1e, 0x1f, 0x08, 0x0e, 0x7f];

function word(script, lo = 1, hi = 10) {
  let s = '';
  for (let n = between(lo, hi); n > 0; n--) s += fromRange(script[0]);
  return s;
}
function number(maxLen = 12) {
  const r = pick(DIGITS);
  let s = '';
  for (let n = between(1, maxLen); n > 0; n--) s += r === DIGITS[0] || rand() < 0.7 ? fromRange(r) : fromRange(pick(DIGITS));
  return s;
}
const sep = () => pick([' ', ' ', ' ', ' ', '  ', '\n', ', ', '. ', '\t', ' - ', '\n\n', '', '\r\n']);

function genScripts(budget) {
  let out = '';
  while (out.length < budget) {
    const sc = pick(SCRIPTS);
    for (let k = between(3, 20); k > 0; k--) {
      const r = rand();
      if (r < 0.7) out += word(sc);
      else if (r < 0.85) out += sc[1] ? word([sc[1]], 1, 6) : number();
      else out += pick(PUNCT) + (rand() < 0.3 ? pick(PUNCT) : '');
      out += sep();
    }
  }
  return out;
}

const EMOJI_BASES = [[0x1f600, 0x1f64f], [0x1f300, 0x1f5ff], [0x1f680, 0x1f6ff], [0x1f900, 0x1f9ff], [0x2600, 0x26ff],
  [0x2700, 0x27bf], [0x1fa70, 0x1faff]];
const PEOPLE = [0x1f468, 0x1f469, 0x1f466, 0x1f467, 0x1f9d1, 0x1f44d, 0x1f44b, 0x270b, 0x1f3c3, 0x1f64b];
function emoji() {
  const r = rand();
  if (r < 0.3) return fromRange(pick(EMOJI_BASES)) + (rand() < 0.3 ? '\ufe0f' : '');
  if (r < 0.5) return cp(pick(PEOPLE)) + cp(between(0x1f3fb, 0x1f3ff)); // skin tone
  if (r < 0.7) { // ZWJ sequence
    let s = cp(pick(PEOPLE));
    for (let n = between(1, 3); n > 0; n--) s += '\u200d' + (rand() < 0.5 ? cp(pick(PEOPLE)) : fromRange(pick(EMOJI_BASES))) + (rand() < 0.3 ? cp(between(0x1f3fb, 0x1f3ff)) : '');
    return s;
  }
  if (r < 0.8) return cp(between(0x1f1e6, 0x1f1ff)) + cp(between(0x1f1e6, 0x1f1ff)); // flag
  if (r < 0.9) return pick('0123456789#*') + '\ufe0f\u20e3'; // keycap
  let s = '\u{1f3f4}'; // tag sequence
  for (const ch of pick(['gbeng', 'gbsct', 'gbwls', 'usca'])) s += cp(0xe0000 + ch.charCodeAt(0));
  return s + '\u{e007f}';
}
function genEmoji(budget) {
  let out = '';
  while (out.length < budget) {
    const r = rand();
    if (r < 0.4) out += emoji();
    else if (r < 0.6) out += emoji() + emoji() + emoji();
    else if (r < 0.85) out += word(SCRIPTS[1], 2, 8);
    else out += pick(PUNCT);
    out += rand() < 0.6 ? sep() : '';
  }
  return out;
}

const MARKS = [[0x300, 0x36f], [0x483, 0x489], [0x591, 0x5bd], [0x64b, 0x65f], [0x93a, 0x94f], [0x1ab0, 0x1abe],
  [0x20d0, 0x20f0], [0xfe20, 0xfe2f], [0x0e31, 0x0e3a], [0x1dc0, 0x1dff]];
function genCombining(budget) {
  let out = '';
  while (out.length < budget) {
    const sc = pick(SCRIPTS);
    let w = '';
    for (let n = between(1, 8); n > 0; n--) {
      w += fromRange(sc[0]);
      for (let m = rand() < 0.5 ? between(1, rand() < 0.1 ? 12 : 3) : 0; m > 0; m--) w += fromRange(pick(MARKS));
    }
    if (rand() < 0.2) w = pick(['', ' ']) + fromRange(pick(MARKS)) + w; // a mark with no base
    if (rand() < 0.2) w = w.normalize(pick(['NFC', 'NFD', 'NFKC', 'NFKD']));
    out += w + sep();
  }
  return out;
}

function spaceRun() {
  let s = '';
  for (let n = rand() < 0.8 ? between(1, 4) : between(5, 40); n > 0; n--) {
    const r = rand();
    s += r < 0.5 ? ' ' : r < 0.8 ? cp(pick(JS_SPACES)) : cp(pick(NOT_JS_SPACES));
  }
  return s;
}
function genWhitespace(budget) {
  let out = '';
  while (out.length < budget) {
    const r = rand();
    if (r < 0.4) out += word(pick(SCRIPTS), 1, 6);
    else if (r < 0.5) out += number(6);
    else if (r < 0.6) out += pick(PUNCT);
    else if (r < 0.65) out += emoji();
    else if (r < 0.7) out += pick(['\r\n', '\n\r', '\r', '\r\n\r\n', ' \r\n', '\t\r\n']);
    out += spaceRun();
    if (rand() < 0.05) { // a text of its own boundary: spaces then a line break then spaces
      out += pick(['\n', '\r\n']) + ' '.repeat(between(0, 8));
    }
  }
  return out;
}

const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Re", "'rE", "'VE", "'M",
  "'LL", "'Ll", "'lL", "'D", "'", "''", "'''", "’s", "’t", "'x", "'r", "'v", "'l", "'e"];
function genContractions(budget) {
  let out = '';
  while (out.length < budget) {
    const r = rand();
    const w = rand() < 0.8 ? word(pick(SCRIPTS.slice(0, 3)), 1, 7) : word(pick(SCRIPTS), 1, 5);
    if (r < 0.5) out += w + pick(CONTRACTIONS);
    else if (r < 0.6) out += pick(CONTRACTIONS) + w;
    else if (r < 0.7) out += pick(CONTRACTIONS) + pick(CONTRACTIONS) + pick(CONTRACTIONS);
    else if (r < 0.8) out += number(4) + pick(CONTRACTIONS);
    else if (r < 0.9) out += pick(['"', '(', '[', '-', '']) + w + pick(CONTRACTIONS) + pick(['"', ')', '.', ',', '!', '']);
    else out += w;
    out += pick([' ', ' ', ' ', '  ', '\n', '', "'", ' \'', "\t"]);
  }
  return out;
}

function genNumbers(budget) {
  let out = '';
  while (out.length < budget) {
    const r = rand();
    if (r < 0.3) out += number(rand() < 0.1 ? 200 : 15);
    else if (r < 0.4) out += '0123456789'.repeat(between(1, 20));
    else if (r < 0.5) out += between(0, 999999) + '.' + between(0, 99999) + pick(['', 'e', 'e-', 'E+']) + between(0, 300);
    else if (r < 0.6) out += [between(1, 999), between(0, 999), between(0, 999)].join(',');
    else if (r < 0.7) out += '0x' + Math.floor(rand() * 2 ** 48).toString(16) + pick(['', 'ULL', 'u']);
    else if (r < 0.8) out += word(SCRIPTS[1], 1, 5) + number(5) + word(SCRIPTS[1], 0, 4);
    else if (r < 0.9) out += pick(['-', '+', '$', '€', '#', '(', '½', '']) + number(8) + pick(['%', 'st', 'nd', 'th', 'km', ')', '']);
    else out += fromRange(pick(DIGITS)) + fromRange(pick(DIGITS)) + fromRange(pick(DIGITS));
    out += sep();
  }
  return out;
}

// Long pre-tokens. js-tiktoken's merge loop is quadratic, so few of them are very long.
function genLong(budget) {
  let out = '';
  while (out.length < budget) {
    const n = rand() < 0.1 ? between(400, 1200) : between(60, 400);
    const r = rand();
    if (r < 0.35) out += word(rand() < 0.7 ? SCRIPTS[1] : pick(SCRIPTS), n, n); // one long word
    else if (r < 0.45) out += 'ab'.repeat(n >> 1) + ' ' + 'a'.repeat(n) + ' ' + 'e'.repeat(n >> 2);
    else if (r < 0.6) { let s = ''; for (let k = 0; k < n; k++) s += pick(PUNCT); out += s; }
    else if (r < 0.7) out += number(n);
    else if (r < 0.8) { let s = ''; for (let k = 0; k < n; k++) s += rand() < 0.7 ? ' ' : pick(['\n', '\t', '\u3000']); out += s; }
    else if (r < 0.9) out += ' '.repeat(n) + word(SCRIPTS[1], 2, 6);
    else out += '\n'.repeat(between(2, 50)) + '='.repeat(n) + '\n';
    out += sep();
  }
  return out;
}

function randomUnicodeChar() {
  const r = rand();
  if (r < 0.25) return String.fromCharCode(between(0x20, 0x7e));
  if (r < 0.3) return pick(['\n', '\t', '\r', ' ', ' ', "'"]);
  if (r < 0.45) return cp(between(0x80, 0x24f));
  if (r < 0.7) return cp(between(0x250, 0xffff));
  if (r < 0.8) return cp(between(0x10000, 0x2ffff));
  if (r < 0.85) return cp(between(0x30000, 0x10ffff));
  if (r < 0.92) return cp(pick(JS_SPACES.concat(NOT_JS_SPACES)));
  return cp(between(0, 0x1f));
}
function genRandomUnicode(budget) {
  let out = '';
  while (out.length < budget) {
    const run = between(1, 200);
    for (let k = 0; k < run; k++) out += randomUnicodeChar();
    // runs of one class make long pre-tokens
    if (rand() < 0.2) out += word(pick(SCRIPTS), 1, 30);
  }
  return out;
}

function genRandomAscii(budget) {
  const alphabet = ' \t\n\r\'"!.,;:-_()0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ@#$%&*+=/\\<>[]{}|^~`';
  let out = '';
  while (out.length < budget) {
    const r = rand();
    if (r < 0.5) out += alphabet[below(alphabet.length)];
    else if (r < 0.7) out += ' ';
    else if (r < 0.8) out += pick(["'s", "'t", "'ll", "'S", ' \'', '\r\n', '  ', '\n\n']);
    else out += word(SCRIPTS[1], 1, 8);
  }
  return out;
}

function genSpecial(budget) {
  let out = '';
  while (out.length < budget) {
    out += pick(['<|endoftext|>', '<|endoftext|>', ' <|endoftext|> ', '<|endoftext|', '<<|endoftext|>>',
      '\n<|endoftext|>\n', '<|endoftext|><|endoftext|>', '<|end', 'endoftext', '<|', '|>']);
    out += genRandomAscii(between(0, 60));
  }
  return out;
}

// --- the sections ----------------------------------------------------------------------------------

const MB = 1000 * 1000;
fs.mkdirSync(outDir, { recursive: true });
const docFiles = listFiles('/usr/share/doc', (p) => /\/(changelog(\.Debian)?(\.gz)?|copyright|NEWS(\.Debian)?(\.gz)?|README(\.Debian)?(\.gz)?)$/.test(p));
const sections = [
  ['prose_licenses', () => fromFiles(listFiles('/usr/share/common-licenses', () => true), 0.4 * MB, 60000) + '\n' +
    fromFiles(docFiles.filter((p) => p.endsWith('/copyright')), 1.0 * MB, 8000)],
  ['prose_docs', () => fromFiles(docFiles.filter((p) => !p.endsWith('/copyright')), 2.0 * MB, 12000)],
  ['man_pages', () => fromFiles(listFiles('/usr/share/man', (p) => /\/man[1-8]\/[^/]+\.gz$/.test(p)), 1.0 * MB, 15000)],
  ['code_c', () => fromFiles(listFiles('/usr/include', (p) => /\.h$/.test(p)), 1.2 * MB, 15000)],
  ['code_python', () => fromFiles(listFiles('/usr/lib/python3', (p) => /\.py$/.test(p)).concat(
    listFiles('/usr/lib/python3.11', (p) => /\.py$/.test(p))), 0.8 * MB, 15000)],
  ['crlf', () => fromFiles(listFiles('/usr/share/common-licenses', () => true), 0.2 * MB, 20000).replace(/\n/g, '\r\n')],
  ['scripts', () => genScripts(0.6 * MB)],
  ['emoji', () => genEmoji(0.3 * MB)],
  ['combining', () => genCombining(0.3 * MB)],
  ['whitespace', () => genWhitespace(0.4 * MB)],
  ['contractions', () => genContractions(0.3 * MB)],
  ['numbers', () => genNumbers(0.3 * MB)],
  ['long_words', () => genLong(0.25 * MB)],
  ['random_unicode', () => genRandomUnicode(0.5 * MB)],
  ['random_ascii', () => genRandomAscii(0.5 * MB)],
  ['special', () => genSpecial(0.05 * MB)],
];
let total = 0;
function write(name, text) {
  const p = path.join(outDir, name + '.txt');
  fs.writeFileSync(p, text);
  const n = fs.statSync(p).size;
  total += n;
  console.log(`${name} ${n}`);
}
for (const [name, make] of sections) write(name, make());
// Top up with a mix of every generator until the whole is at least 10.5 MB.
for (let k = 0; total < 10.5 * MB; k++) {
  const gens = [genScripts, genEmoji, genCombining, genWhitespace, genContractions, genNumbers, genRandomUnicode, genRandomAscii];
  let text = '';
  while (text.length < 1.0 * MB) text += pick(gens)(between(1000, 20000));
  write('mixed_' + k, text);
}
