// The program's entry: what `npm run build` compiles (and what tsx runs from source).
import { main } from './cli.ts';

void main(process.argv).then((code) => {
  process.exitCode = code;
  // a command ends when main returns: nothing left behind (a hash worker of a job a refused
  // bundle abandoned, a socket) may keep the process running; stdout and stderr are drained first
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
