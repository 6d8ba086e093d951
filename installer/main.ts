// The program's entry: what `npm run build` compiles (and what tsx runs from source).
import { main } from './cli.ts';

void main(process.argv).then((code) => {
  process.exitCode = code;
});
