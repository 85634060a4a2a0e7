// bench.js: encoding speed of the JavaScript GPT-2 tokenizers, for bench/bench_tokenizer.sh.
// Usage: node bench.js FILE...
//        node bench.js --prose OUT BYTES     writes English prose of documentation (valid UTF-8)
//        node bench.js --concat OUT BYTES FILE...   the files back to back, cut at BYTES
// For each FILE and each of js-tiktoken (gpt2) and gpt-tokenizer (r50k_base, GPT-2's encoding):
// one warm-up encode of the first 1 MB, then the whole text timed once. Prints per line:
// "<library> <file> <bytes> <ids> <seconds> <MB/s>".
'use strict';
const fs = require('fs');
const path = require('path');
const { getEncoding } = require('js-tiktoken');
const gptTokenizer = require('gpt-tokenizer/encoding/r50k_base');
const zlib = require('zlib');
const tk = getEncoding('gpt2');

// Valid UTF-8 of at most `bytes` bytes, cut at a character boundary.
function cut(text, bytes) {
  let b = Buffer.from(text, 'utf8');
  if (b.length <= bytes) return b;
  let end = bytes;
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}

function listFiles(root, test, out = []) {
  let entries = [];
  try { entries = fs.readdirSync(root, { withFileTypes: true }); } catch (e) { return out; }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(root, e.name);
    if (e.isDirectory()) listFiles(p, test, out);
    else if (e.isFile() && test(p)) out.push(p);
  }
  return out;
}

if (process.argv[2] === '--prose') {
  // Debian's changelogs, copyright files, READMEs and NEWS, then man pages: English prose as found
  // in documentation. Files that are not mostly text (binary junk in a .gz) are left out.
  const [out, bytes] = [process.argv[3], Number(process.argv[4])];
  const files = listFiles('/usr/share/doc', (p) => /\/(changelog|copyright|README|NEWS)[^/]*$/.test(p))
    .concat(listFiles('/usr/share/man/man1', (p) => p.endsWith('.gz')));
  const parts = [];
  let size = 0;
  for (const f of files) {
    if (size >= bytes) break;
    let b;
    try { b = fs.readFileSync(f); if (f.endsWith('.gz')) b = zlib.gunzipSync(b); } catch (e) { continue; }
    const t = b.subarray(0, 40000).toString('utf8');
    if ((t.match(/\ufffd/g) || []).length > 10) continue;
    parts.push(t);
    size += Buffer.byteLength(t) + 1;
  }
  fs.writeFileSync(out, cut(parts.join('\n'), bytes));
  process.exit(0);
}
if (process.argv[2] === '--concat') {
  const [out, bytes, ...files] = process.argv.slice(3);
  fs.writeFileSync(out, cut(files.map((f) => fs.readFileSync(f, 'utf8')).join('\n'), Number(bytes)));
  process.exit(0);
}
const libs = [
  ['js-tiktoken', (t) => tk.encode(t, [], [])],
  ['gpt-tokenizer', (t) => gptTokenizer.encode(t, { disallowedSpecial: new Set() })],
];
for (const f of process.argv.slice(2)) {
  const buf = fs.readFileSync(f);
  const text = buf.toString('utf8');
  for (const [name, encode] of libs) {
    encode(text.slice(0, 1000000));
    const t0 = process.hrtime.bigint();
    const ids = encode(text);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${name} ${path.basename(f)} ${buf.length} ${ids.length} ${s.toFixed(3)} ${(buf.length / 1e6 / s).toFixed(2)}`);
  }
}
