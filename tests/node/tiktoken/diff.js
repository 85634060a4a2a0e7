// diff.js: explains a mismatch between two id files (reference first): the first differing id and
// the text around it. Usage: node diff.js REF.ids OURS.ids
'use strict';
const fs = require('fs');
const { getEncoding } = require('js-tiktoken');
const enc = getEncoding('gpt2');
const read = (f) => fs.readFileSync(f, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
const [a, b] = process.argv.slice(2).map(read);
let i = 0;
while (i < a.length && i < b.length && a[i] === b[i]) i++;
const lo = Math.max(0, i - 5);
const show = (ids) => JSON.stringify(ids.map((t) => enc.decode([t])));
console.log(`  ${a.length} reference ids, ${b.length} ours; first difference at id ${i}`);
console.log(`  reference: ${JSON.stringify(a.slice(lo, i + 5))} ${show(a.slice(lo, i + 5))}`);
console.log(`  ours:      ${JSON.stringify(b.slice(lo, i + 5))} ${show(b.slice(lo, i + 5))}`);
