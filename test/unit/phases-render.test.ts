import { describe, expect, it } from 'vitest';
import { jsonRenderer } from '../../installer/phases/render/json.ts';
import { redact } from '../../installer/core/log.ts';
import { plainRenderer } from '../../installer/phases/render/plain.ts';

describe('plain renderer (no terminal)', () => {
  it('prints a line when a step starts, changes something or ends; progress at most every few seconds and only when it says something new', () => {
    const lines: string[] = [];
    let now = 0;
    const r = plainRenderer({ write: (l) => lines.push(l), progressEveryMs: 3000, now: () => now });
    r.start?.([{ id: 'seed', title: 'Seed the registry', selected: true, perHost: false }]);
    void r.event({ phase: 'seed', status: 'running', durationMs: 0 });
    r.progress?.('seed', undefined, 'push the bundle to https://r:5000', 'change');
    for (let i = 0; i < 100; i++) {
      now += 100;
      r.progress?.('seed', undefined, `blobs: ${Math.floor(i / 40)}/28`, 'output');
    }
    void r.event({ phase: 'seed', status: 'done', durationMs: 10_000 });
    expect(lines).toEqual([
      '[seed] Seed the registry\n',
      '[seed] push the bundle to https://r:5000\n',
      '[seed] blobs: 0/28\n',
      '[seed] blobs: 1/28\n',
      '[seed] blobs: 2/28\n',
      '[seed] done in 10.0 s\n',
    ]);
    expect(lines.join('')).not.toMatch(/\x1b\[/);
  });
});

describe('json renderer', () => {
  it('writes the documented event shape only', () => {
    const lines: string[] = [];
    void jsonRenderer((l) => lines.push(l)).event({ phase: 'prepare', host: 'h1', status: 'failed', durationMs: 5, message: 'boom', extra: 1 } as never);
    expect(JSON.parse(lines[0]!)).toEqual({ phase: 'prepare', host: 'h1', status: 'failed', durationMs: 5, message: 'boom' });
  });

  it('writes each progress line under a step as status "progress", secrets redacted', () => {
    const lines: string[] = [];
    redact.add('sekrit-progress-value');
    const r = jsonRenderer((l) => lines.push(l));
    r.progress?.('encrypt', undefined, 'host2 /dev/vdb: formatted (sekrit-progress-value)', 'output');
    r.progress?.('prepare', 'h1', 'write the sysctls', 'change');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { phase: 'encrypt', status: 'progress', kind: 'output', message: 'host2 /dev/vdb: formatted ([REDACTED])' },
      { phase: 'prepare', host: 'h1', status: 'progress', kind: 'change', message: 'write the sysctls' },
    ]);
  });
});
