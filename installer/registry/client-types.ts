/** The registry client's options and the shapes its callers pass and get back. */
import type { Readable } from 'node:stream';
import type { HttpRequest, OpenStream } from '../core/https.ts';

export interface RegistryClientOptions {
  /** https://host:port (a bare host:port means https) */
  url: string;
  /** PEM of the CA that issued the registry's certificate */
  ca?: string | Buffer;
  /** open each connection through this (e.g. `viaHost(registryHost)` when it is behind the jump host); TLS is verified as usual */
  connect?: OpenStream;
  username?: string;
  password?: string;
  /**
   * https URL of the token service the registry's bearer challenges may name, when
   * it is not on the registry's own origin; the credentials go nowhere else
   */
  tokenRealm?: string;
  /** total attempts per operation (default 5) */
  attempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface ManifestInfo {
  digest: string;
  mediaType: string;
  size: number;
}

export type BlobSource = (range?: { start: number; end: number }) => Readable;

/** One request to the registry: `ok` lists the statuses the caller handles. */
export type RegistryRequest = Omit<HttpRequest, 'url'> & { url: URL | string; scopes: string[]; ok: number[] };
