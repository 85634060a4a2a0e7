// ref.js: reference GPT-2 ids from js-tiktoken for the tokenizer reference test.
// Usage: node ref.js OUT_DIR FILE...
// For each FILE writes OUT_DIR/<basename>.ids: its ids, space separated, one line (as
// `autocorrect tokenize` prints them), with special tokens treated as text. For files whose name
// starts with "special" it also writes <basename>.special.ids with special tokens recognised.
'use strict';
const fs = require('fs');
const path = require('path');
const { getEncoding } = require('js-tiktoken');
const enc = getEncoding('gpt2');
const [outDir, ...files] = process.argv.slice(2);
for (const f of files) {
  const text = fs.readFileSync(f).toString('utf8'); // not TextDecoder: it would drop a BOM
  const base = path.basename(f);
  fs.writeFileSync(path.join(outDir, base + '.ids'), enc.encode(text, [], []).join(' ') + '\n');
  if (base.startsWith('special'))
    fs.writeFileSync(path.join(outDir, base + '.special.ids'), enc.encode(text, 'all').join(' ') + '\n');
}
