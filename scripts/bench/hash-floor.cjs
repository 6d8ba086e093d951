#!/usr/bin/env node
// What Node itself can do, as a yardstick for `palisade bundle verify`: start, boot one
// worker thread per core, read and SHA-256 every file checksums.txt lists (largest first,
// 256 KiB reads, as palisade's hash pool does), print nothing. No palisade code is loaded,
// so the gap between this and palisade is palisade's own start-up and checks, and the gap
// between this and `xargs -P2 openssl dgst` is Node's start and threads.
// usage: node scripts/bench/hash-floor.cjs BUNDLE_DIR
'use strict';
const { Worker, isMainThread, parentPort } = require('node:worker_threads');
const { availableParallelism } = require('node:os');
const fs = require('node:fs');
const path = require('node:path');
const { createHash } = require('node:crypto');

if (isMainThread) {
  const dir = process.argv[2];
  if (!dir || dir === '--help') {
    process.stdout.write('usage: node scripts/bench/hash-floor.cjs BUNDLE_DIR\n');
    process.exit(dir ? 0 : 2);
  }
  const files = fs
    .readFileSync(path.join(dir, 'checksums.txt'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => path.join(dir, line.slice(66)))
    .map((f) => ({ f, size: fs.statSync(f).size }))
    .sort((a, b) => b.size - a.size);
  const lanes = Math.min(availableParallelism(), files.length);
  let next = 0;
  for (let i = 0; i < lanes; i++) {
    const w = new Worker(__filename);
    const feed = () => {
      if (next < files.length) w.postMessage(files[next++].f);
      else w.terminate();
    };
    w.on('message', feed);
    feed();
  }
} else {
  const buf = Buffer.allocUnsafe(256 << 10);
  parentPort.on('message', (f) => {
    const h = createHash('sha256');
    const fd = fs.openSync(f, 'r');
    let pos = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
    fs.closeSync(fd);
    parentPort.postMessage(h.digest('hex'));
  });
}
