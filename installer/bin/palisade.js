#!/usr/bin/env node
// Entry point: load the TypeScript sources through tsx so the installer ships as source.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../cli.ts');
process.exitCode = await main(process.argv);
