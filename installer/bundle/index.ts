/** The bundle module's public API. */
export { openBundle, type Bundle } from './open.ts';
export { checkBundle, verifyBundle, verifyError, type VerifyReport, type VerifyProblem, type VerifyOptions } from './verify.ts';
export { buildBundle, type BuildOptions, type BuildResult } from './build.ts';
export { loadSpec, parseSpec, type ReleaseSpec, type LoadedSpec } from './spec.ts';
export { generateSigningKey, keyFingerprint, loadPublicKey, loadPrivateKey } from './signing.ts';
export { resolveTrustedKey } from './trust.ts';
export type { BundleManifest, ImageComponent, PackComponent, BinaryComponent } from './manifest.ts';
