import { randomBytes } from 'node:crypto';

/**
 * Recovery keys in the form systemd-cryptenroll uses: 256 random bits written
 * in "modhex" (16 letters that sit on the same keys on every common keyboard
 * layout), 8 groups of 8. An operator may have to type one at a console.
 */
const MODHEX = 'cbdefghijklnrtuv';

export function generateRecoveryKey(bytes = randomBytes(32)): string {
  let out = '';
  for (const b of bytes) out += (MODHEX[b >> 4] ?? '') + (MODHEX[b & 15] ?? '');
  return out.match(/.{1,8}/g)!.join('-');
}

export function isRecoveryKey(s: string): boolean {
  return /^[cbdefghijklnrtuv]{8}(-[cbdefghijklnrtuv]{8}){7}$/.test(s);
}
