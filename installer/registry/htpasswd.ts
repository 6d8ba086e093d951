import bcrypt from 'bcryptjs';

/** One htpasswd line with a bcrypt hash, the only scheme the CNCF registry accepts. */
export function htpasswdLine(username: string, password: string, cost = 10): string {
  if (!/^[^:\s]+$/.test(username)) throw new Error('a registry user name cannot contain ":" or spaces');
  return `${username}:${bcrypt.hashSync(password, cost)}\n`;
}

export function htpasswdMatches(line: string, username: string, password: string): boolean {
  const [u, hash] = line.trim().split(':', 2);
  return u === username && !!hash && bcrypt.compareSync(password, hash);
}
