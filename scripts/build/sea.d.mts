// Types of sea.mjs.
export const EXECUTABLE: string;
export function buildExecutable(opts?: { force?: boolean; quiet?: boolean }): Promise<{ path: string; bytes: number; sha256: string; built: boolean }>;
