import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildTestBundle } from '../bundle/build-test-bundle.ts';
import { MiB, fmt, median, must, palisadeArgs, timed } from './seed-env.ts';

/**
 * Bundle verify benchmark: `palisade bundle verify` (checksums, signature,
 * OCI layouts) against `sha256sum -c checksums.txt` on the same files, both
 * from a warm page cache, alternating, median of --runs. Also the tar form.
 */
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    images: { type: 'string', default: '8' },
    layers: { type: 'string', default: '4' },
    runs: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});
const images = Number(values.images);
const layers = Number(values.layers);
const layerSize = Math.ceil((Number(values['size-mib']) * MiB) / (images * (layers - 1) + 2));
const runs = Number(values.runs);

const work = await mkdtemp(join(tmpdir(), 'palisade-bench-verify-'));
try {
  process.stderr.write(`building the bench bundle (${values['size-mib']} MiB of images)...\n`);
  const dir = await buildTestBundle({ workDir: join(work, 'b'), images, layers, layerSize });
  const tar = await buildTestBundle({ workDir: join(work, 't'), images, layers, layerSize, tar: true });
  const bytes = dir.build.bytes;
  const pal: number[] = [];
  const palTar: number[] = [];
  const sha: number[] = [];
  // warm the page cache for both forms
  must(await timed('sha256sum', ['-c', '--quiet', 'checksums.txt'], { cwd: dir.path }), 'warm-up');
  must(await timed('cat', [tar.path], {}), 'warm-up');
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    sha.push(must(await timed('sha256sum', ['-c', '--quiet', 'checksums.txt'], { cwd: dir.path }), 'sha256sum -c').seconds);
    const a = await palisadeArgs(work, ['bundle', 'verify', dir.path, '--trusted-key', dir.publicKeyPath]);
    const t = must(await timed(process.execPath, a.args, { rssFile: a.rssFile }), 'palisade bundle verify');
    pal.push(t.seconds);
    rss = Math.max(rss, t.maxRss ?? 0);
    const b = await palisadeArgs(work, ['bundle', 'verify', tar.path, '--trusted-key', tar.publicKeyPath]);
    palTar.push(must(await timed(process.execPath, b.args), 'palisade bundle verify (tar)').seconds);
  }
  const result = {
    bundleMiB: Math.round(bytes / MiB),
    files: dir.build.files,
    runs,
    palisadeSeconds: Number(fmt(median(pal))),
    palisadeTarSeconds: Number(fmt(median(palTar))),
    sha256sumSeconds: Number(fmt(median(sha))),
    ratio: Number(fmt(median(pal) / median(sha))),
    ratioTar: Number(fmt(median(palTar) / median(sha))),
    peakRssMiB: Math.round(rss / MiB),
  };
  process.stdout.write(`
verify benchmark: ${result.bundleMiB} MiB in ${result.files} files, median of ${runs}, warm page cache
  palisade bundle verify (directory)  ${result.palisadeSeconds} s   (peak RSS ${result.peakRssMiB} MiB)
  palisade bundle verify (tar)        ${result.palisadeTarSeconds} s
  sha256sum -c checksums.txt          ${result.sha256sumSeconds} s
  ratio palisade / sha256sum          ${result.ratio}   (tar: ${result.ratioTar}; aim <= 1.2)
`);
  if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2) + '\n');
} finally {
  await rm(work, { recursive: true, force: true });
}
