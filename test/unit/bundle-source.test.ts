import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../installer/bundle/source.ts';
import { packTar } from '../fixtures/bundle/tar-pack.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-bundle-source-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('bundle source: small files read whole', () => {
  it('reads a file of a directory and of a tar, and refuses one over the limit before reading it', async () => {
    const dir = join(work, 'd');
    await mkdir(dir);
    await writeFile(join(dir, 'index.json'), '{"a":1}');
    const tarFile = join(work, 't.tar');
    await writeFile(
      tarFile,
      await packTar([
        { name: 'index.json', data: '{"b":2}' },
        { name: 'big', data: Buffer.alloc(3000) },
      ]),
    );
    const d = await openSource(dir);
    const t = await openSource(tarFile);
    expect((await d.readFile('index.json', 1024, 'x')).toString()).toBe('{"a":1}');
    expect((await t.readFile('index.json', 1024, 'x')).toString()).toBe('{"b":2}');
    await expect(t.readFile('big', 2048, 'the big one')).rejects.toMatchObject({
      code: 'bundle.file-too-large',
      message: expect.stringContaining('the big one'),
    });
  });

  it('a directory file that grew past the limit after it was listed is refused, not cut short', async () => {
    const dir = join(work, 'g');
    await mkdir(dir);
    await writeFile(join(dir, 'manifest.json'), 'x'.repeat(100));
    const d = await openSource(dir);
    await appendFile(join(dir, 'manifest.json'), 'y'.repeat(200_000));
    await expect(d.readFile('manifest.json', 150_000, 'manifest.json')).rejects.toMatchObject({ code: 'bundle.file-too-large' });
    // grown but within the limit: the whole current file
    expect((await d.readFile('manifest.json', 1 << 20, 'manifest.json')).length).toBe(200_100);
  });
});
