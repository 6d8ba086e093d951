import bcrypt from 'bcryptjs';

/**
 * One htpasswd line with a bcrypt hash, the only scheme the CNCF registry
 * accepts. The registry checks the hash on every request (no session), so the
 * cost is paid per blob and per pull: the default 5 is what `htpasswd -B`
 * writes, about 2 ms per request here, where cost 10 costs ~50 ms and makes
 * seeding and pulls CPU-bound. The credentials palisade generates are long
 * random secrets, which a higher cost would not make harder to guess.
 */
export const DEFAULT_BCRYPT_COST = 5;

export function htpasswdLine(username: string, password: string, cost = DEFAULT_BCRYPT_COST): string {
  if (!/^[^:\s]+$/.test(username)) throw new Error('a registry user name cannot contain ":" or spaces');
  return `${username}:${bcrypt.hashSync(password, cost)}\n`;
}

export function htpasswdMatches(line: string, username: string, password: string): boolean {
  const [u, hash] = line.trim().split(':', 2);
  return u === username && !!hash && bcrypt.compareSync(password, hash);
}
