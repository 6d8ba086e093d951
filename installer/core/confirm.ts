/** One y/N question on the terminal (stderr, so stdout stays for results). */
import { createInterface } from 'node:readline';

export async function askYesNo(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const a = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
    return /^y(es)?$/i.test(a.trim());
  } finally {
    rl.close();
  }
}
