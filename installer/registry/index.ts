/** The registry module's public API. */
export { RegistryClient, normalizeRegistryUrl, type RegistryClientOptions, type BlobInfo, type ManifestInfo } from './client.ts';
export { seedRegistry, type SeedOptions, type SeedReport, type SeedProgress } from './seed.ts';
export { verifyRegistry, type RegistryVerifyOptions, type RegistryVerifyReport } from './verify.ts';
export { installRegistry, waitHealthy, REGISTRY_SERVICE, type InstallRegistryOptions, type InstallRegistryResult } from './service.ts';
export { renderRegistryConfig, renderRegistryUnit } from './config.ts';
export { htpasswdLine } from './htpasswd.ts';
export { progressRenderer } from './progress.ts';
export { loadPack, packRepository, packTag, type PackJson, type LoadedPack } from './pack/pack.ts';
export { buildPackArtifact, PACK_MT } from './pack/artifact.ts';
export { listPacks } from './pack/list.ts';
