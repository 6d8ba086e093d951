/**
 * A scan result: what was checked, on which host, with what outcome, and the
 * versions that produced it (scanner, rules, vulnerability database), so two
 * results can be compared and an old one read later. Kept as JSON files in
 * .palisade/<cluster>/scans/.
 */
export const SCAN_TYPES = ['compliance', 'security', 'conformance', 'sbom'] as const;
export type ScanType = (typeof SCAN_TYPES)[number];

export type FindingStatus = 'pass' | 'fail' | 'na' | 'excepted' | 'info';

export interface Finding {
  /** stable id: a rule id, `port.tcp.0.0.0.0:8080`, `vuln.DSA-1234-1`, `api.secret-roundtrip` */
  check: string;
  /** the host, or "(cluster)" for cluster-wide checks */
  host: string;
  status: FindingStatus;
  detail: string;
  title?: string;
}

export interface ScanResult {
  id: string;
  type: ScanType;
  cluster: string;
  startedAt: string;
  finishedAt: string;
  versions: { scanner: string; rules: string; vulndb?: { built: string; ageDays: number; stale: boolean; records: number } };
  hosts: string[];
  findings: Finding[];
  summary: { pass: number; fail: number; na: number; excepted: number; info: number };
  /** notes the operator should read (a stale database, a host not reached) */
  notes: string[];
  /** sbom scans: the CycloneDX documents, by subject (a host name, or "registry") */
  documents?: Record<string, unknown>;
}

export const CLUSTER = '(cluster)';

export function summarizeFindings(f: readonly Finding[]): ScanResult['summary'] {
  const s = { pass: 0, fail: 0, na: 0, excepted: 0, info: 0 };
  for (const x of f) s[x.status]++;
  return s;
}
