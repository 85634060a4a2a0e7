// classes.js: compares the pre-tokenizer's character classes in C (a dump from
// test_tokenizer_unicode --dump) with node's regex engine, the one js-tiktoken runs.
// Usage: node classes.js C_DUMP EXCLUDE_OUT
// Writes EXCLUDE_OUT: the code points (hex, one per line) whose class differs, which the random
// texts leave out. Prints one line: "ok DIFFS UNICODE" when every difference is a code point that
// the C side's Unicode version has unassigned (U) and node's newer one assigns, else "bad ...".
// Exit status 0 for ok.
'use strict';
const fs = require('fs');
const [cDump, excludeOut] = process.argv.slice(2);
const c = fs.readFileSync(cDump, 'latin1');
const L = /\p{L}/u, N = /\p{N}/u, S = /\s/u;
const diffs = [], bad = [];
let i = 0;
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const s = String.fromCodePoint(cp);
  const js = S.test(s) ? 'S' : L.test(s) ? 'L' : N.test(s) ? 'N' : 'O';
  const ours = c[i++];
  const oursClass = ours === 'U' ? 'O' : ours;
  if (js !== oursClass) {
    diffs.push(cp.toString(16));
    if (ours !== 'U' && bad.length < 20) bad.push(`U+${cp.toString(16)} C=${ours} js=${js}`);
  }
}
if (i !== c.length) {
  console.log(`bad: the C dump has ${c.length} code points, expected ${i}`);
  process.exit(1);
}
fs.writeFileSync(excludeOut, diffs.join('\n') + '\n');
if (bad.length) {
  console.log(`bad ${diffs.length} differences, some on code points assigned on both sides: ${bad.join(', ')}`);
  process.exit(1);
}
console.log(`ok ${diffs.length} ${process.versions.unicode}`);
