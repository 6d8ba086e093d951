// Section splitting and key=value reading shared by the probe-output parsers.
import { MARK } from './probe.ts';

export function splitSections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let cur: string | undefined;
  let body: string[] = [];
  const flush = () => {
    if (cur !== undefined && !out.has(cur)) out.set(cur, body.join('\n').replace(/^\n+|\n+$/g, ''));
  };
  const re = new RegExp(`^${MARK} (\\S+) ${MARK}$`);
  for (const line of text.split('\n')) {
    const m = re.exec(line.trimEnd());
    if (m) {
      flush();
      cur = m[1];
      body = [];
    } else if (cur !== undefined) body.push(line);
  }
  flush();
  return out;
}

export function parseKv(body: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of (body ?? '').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** Like parseKv, but a key may repeat (part=, holder=, mount=). */
export function kvAll(body: string | undefined, key: string): string[] {
  return (body ?? '')
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1).trim())
    .filter(Boolean);
}

export const num = (v: string | undefined): number | undefined => {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};
