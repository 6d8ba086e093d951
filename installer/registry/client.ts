import type { Readable } from 'node:stream';
import { scopeFor } from './auth.ts';
import { RegistryAuthenticator } from './authenticator.ts';
import { putChunked, putMonolithic } from './blob-put.ts';
import type { BlobInfo, BlobSource, ManifestInfo, RegistryClientOptions, RegistryRequest } from './client-types.ts';
import { DigestMismatchError, RegistryHttpError, isTransient, registryError } from './errors.ts';
import { insecureUrl, normalizeRegistryUrl, tokenRealmUrl } from './url.ts';
import { HttpsClient, drain, readBody, type HttpResponse } from '../core/https.ts';
import { INDEX_TYPES, MANIFEST_TYPES } from '../bundle/oci.ts';
import { sha256Digest } from '../core/hash.ts';
import { PalisadeError } from '../core/errors.ts';
import { log, redact } from '../core/log.ts';
import { retry } from '../core/retry.ts';

export type { BlobInfo, BlobSource, ManifestInfo, RegistryClientOptions, RegistryRequest } from './client-types.ts';
export { normalizeRegistryUrl } from './url.ts';

const ACCEPT_MANIFESTS = [...MANIFEST_TYPES, ...INDEX_TYPES].join(', ');
export const DEFAULT_CHUNK_SIZE = 64 << 20;

/**
 * An OCI distribution client: blobs (HEAD, monolithic and chunked upload,
 * cross-repository mount, GET), manifests (PUT, GET, HEAD), tags and catalog.
 * Basic and bearer-token auth; retries 5xx and dropped connections.
 */
export class RegistryClient {
  readonly base: URL;
  private readonly transport: HttpsClient;
  private readonly auth: RegistryAuthenticator;
  /** counters for reports and tests */
  readonly stats = { requests: 0, retries: 0 };

  constructor(private readonly opts: RegistryClientOptions) {
    this.base = normalizeRegistryUrl(opts.url);
    this.transport = new HttpsClient({ secure: true, ca: opts.ca, timeoutMs: opts.timeoutMs, connect: opts.connect });
    const tokenRealm = opts.tokenRealm === undefined ? undefined : tokenRealmUrl(opts.tokenRealm);
    this.auth = new RegistryAuthenticator({
      base: this.base,
      transport: this.transport,
      options: opts,
      stats: this.stats,
      ...(tokenRealm ? { tokenRealm } : {}),
    });
    if (opts.password) redact.add(opts.password);
  }

  get registry(): string {
    return this.base.host;
  }

  close(): void {
    this.transport.close();
  }

  private url(path: string): URL {
    return new URL(path, this.base);
  }

  /** Retry transient failures, then turn the last error into a PalisadeError. */
  async op<T>(what: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    try {
      return await retry(fn, {
        attempts: this.opts.attempts ?? 5,
        baseDelayMs: this.opts.baseDelayMs ?? 300,
        maxDelayMs: 8000,
        shouldRetry: (e) => isTransient(e),
        onRetry: (e, attempt, delay) => {
          this.stats.retries++;
          log.warn(`${what}: ${(e as Error).message}; retry ${attempt} in ${(delay / 1000).toFixed(1)} s`);
        },
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      });
    } catch (e) {
      throw registryError(e, this.base.origin);
    }
  }

  /**
   * Send one request, answering an auth challenge once. `ok` lists the statuses
   * the caller handles; any other raises RegistryHttpError (retried if transient).
   */
  async send(req: RegistryRequest): Promise<HttpResponse> {
    const url = typeof req.url === 'string' ? this.url(req.url) : req.url;
    if (url.protocol !== 'https:') throw insecureUrl(this.base, url);
    const sameOrigin = url.origin === this.base.origin;
    for (let round = 0; ; round++) {
      const headers: Record<string, string | number> = { 'User-Agent': 'palisade', ...(req.headers ?? {}) };
      const auth = this.auth.header(req.scopes, url);
      if (auth) headers.Authorization = auth;
      this.stats.requests++;
      const res = await this.transport.request({ ...req, url, headers, ...(this.opts.signal ? { signal: this.opts.signal } : {}) });
      if (res.status === 401 && !sameOrigin) {
        drain(res);
        throw new PalisadeError(
          'registry.auth',
          `${this.base.origin} sent palisade on to ${url.origin}, which asks for credentials: the registry's credentials go only to the registry`,
          {
            hint: 'configure the registry to keep uploads and listings on its own address',
          },
        );
      }
      if (res.status === 401 && round === 0) {
        drain(res);
        await this.auth.answer(res.headers['www-authenticate'], req.scopes);
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        drain(res);
        throw this.auth.error(res.status, this.base.origin);
      }
      if (!req.ok.includes(res.status)) {
        const body = req.method === 'HEAD' ? Buffer.alloc(0) : await readBody(res, 64 << 10).catch(() => Buffer.alloc(0));
        let code: string | undefined;
        let detail = body.toString('utf8').slice(0, 300);
        try {
          const j = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
          code = j.errors?.[0]?.code;
          detail = j.errors?.[0]?.message ?? detail;
        } catch {
          /* not JSON */
        }
        throw new RegistryHttpError(req.method, url.pathname, res.status, code, detail.trim());
      }
      return res;
    }
  }

  async ping(): Promise<void> {
    await this.op('ping', async () => drain(await this.send({ method: 'GET', url: '/v2/', scopes: [], ok: [200] })));
  }

  async headBlob(repo: string, digest: string): Promise<BlobInfo | undefined> {
    return this.op(`HEAD ${repo}@${digest.slice(0, 19)}`, async () => {
      const res = await this.send({ method: 'HEAD', url: `/v2/${repo}/blobs/${digest}`, scopes: scopeFor(repo, false), ok: [200, 404] });
      drain(res);
      if (res.status === 404) return undefined;
      return { digest: String(res.headers['docker-content-digest'] ?? digest), size: Number(res.headers['content-length'] ?? -1) };
    });
  }

  /** Open the blob for reading (follows one storage redirect). */
  async getBlob(repo: string, digest: string): Promise<Readable> {
    return this.op(`GET ${repo}@${digest.slice(0, 19)}`, async () => {
      const res = await this.send({ method: 'GET', url: `/v2/${repo}/blobs/${digest}`, scopes: scopeFor(repo, false), ok: [200, 307, 302] });
      if (res.status === 200) return res.body;
      drain(res);
      const loc = new URL(String(res.headers.location), this.base);
      if (loc.protocol !== 'https:') throw insecureUrl(this.base, loc);
      const r2 = await this.transport.request({ method: 'GET', url: loc });
      if (r2.status !== 200) {
        drain(r2);
        throw new RegistryHttpError('GET', loc.pathname, r2.status, undefined, 'redirected blob');
      }
      return r2.body;
    });
  }

  /**
   * Start an upload session, or mount the blob from `mountFrom` when the
   * registry has it there. Returns 'mounted' or the upload URL.
   */
  private async startUpload(repo: string, digest: string, mountFrom?: string): Promise<'mounted' | URL> {
    const q = mountFrom ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}` : '';
    const res = await this.send({
      method: 'POST',
      url: `/v2/${repo}/blobs/uploads/${q}`,
      headers: { 'Content-Length': 0 },
      scopes: scopeFor(repo, true, mountFrom),
      ok: [201, 202],
    });
    drain(res);
    if (res.status === 201) return 'mounted';
    const loc = res.headers.location;
    if (!loc) throw new RegistryHttpError('POST', `/v2/${repo}/blobs/uploads/`, res.status, undefined, 'no Location header');
    return new URL(loc, this.base);
  }

  /** Mount a blob another repository of this registry holds; false when the registry would rather have it uploaded. */
  async mountBlob(repo: string, digest: string, from: string): Promise<boolean> {
    return this.op(`mount ${digest.slice(0, 19)} ${from} -> ${repo}`, async () => {
      const r = await this.startUpload(repo, digest, from);
      if (r === 'mounted') return true;
      await this.send({ method: 'DELETE', url: r, scopes: scopeFor(repo, true), ok: [204, 404, 405] }).then(drain, () => undefined);
      return false;
    });
  }

  /**
   * Upload a blob from `open` (which must be able to give the same bytes again,
   * or any byte range of them). The content is hashed on the way out; a
   * mismatch aborts the request so the registry never stores it.
   */
  async uploadBlob(
    repo: string,
    blob: BlobInfo,
    open: BlobSource,
    o: { chunkSize?: number; mountFrom?: string; onBytes?: (n: number) => void } = {},
  ): Promise<'uploaded' | 'mounted'> {
    const chunkSize = o.chunkSize ?? DEFAULT_CHUNK_SIZE;
    return this.op(`upload ${repo}@${blob.digest.slice(0, 19)}`, async (attempt) => {
      if (attempt > 1 && (await this.headBlob(repo, blob.digest))) return 'uploaded';
      let sent = 0;
      const count = (n: number): void => {
        sent += n;
        o.onBytes?.(n);
      };
      try {
        const start = await this.startUpload(repo, blob.digest, o.mountFrom);
        if (start === 'mounted') return 'mounted';
        if (blob.size <= chunkSize) await putMonolithic(this, repo, start, blob, open, count);
        else await putChunked(this, repo, start, blob, open, chunkSize, count);
        return 'uploaded';
      } catch (e) {
        o.onBytes?.(-sent);
        if (e instanceof DigestMismatchError) {
          throw new PalisadeError('bundle.digest-mismatch', `blob ${blob.digest} for ${repo} does not match its digest (${e.actual}): it was not uploaded`, {
            hint: 'the bundle is damaged or was changed after verification: run `palisade bundle verify`',
          });
        }
        throw e;
      }
    });
  }

  async headManifest(repo: string, ref: string): Promise<ManifestInfo | undefined> {
    return this.op(`HEAD ${repo}:${ref}`, async () => {
      const res = await this.send({
        method: 'HEAD',
        url: `/v2/${repo}/manifests/${ref}`,
        headers: { Accept: ACCEPT_MANIFESTS },
        scopes: scopeFor(repo, false),
        ok: [200, 404],
      });
      drain(res);
      if (res.status === 404) return undefined;
      return {
        digest: String(res.headers['docker-content-digest'] ?? ''),
        mediaType: String(res.headers['content-type'] ?? ''),
        size: Number(res.headers['content-length'] ?? -1),
      };
    });
  }

  async getManifest(repo: string, ref: string): Promise<(ManifestInfo & { bytes: Buffer }) | undefined> {
    return this.op(`GET ${repo}:${ref}`, async () => {
      const res = await this.send({
        method: 'GET',
        url: `/v2/${repo}/manifests/${ref}`,
        headers: { Accept: ACCEPT_MANIFESTS },
        scopes: scopeFor(repo, false),
        ok: [200, 404],
      });
      if (res.status === 404) {
        drain(res);
        return undefined;
      }
      const bytes = await readBody(res, 4 << 20);
      const digest = sha256Digest(bytes);
      if (ref.startsWith('sha256:') && digest !== ref)
        throw new PalisadeError('registry.digest-mismatch', `${repo}@${ref}: the registry returned a manifest that hashes to ${digest}`);
      return { digest, mediaType: String(res.headers['content-type'] ?? ''), size: bytes.length, bytes };
    });
  }

  async putManifest(repo: string, ref: string, bytes: Buffer, mediaType: string): Promise<string> {
    const want = sha256Digest(bytes);
    return this.op(`PUT ${repo}:${ref}`, async () => {
      const res = await this.send({
        method: 'PUT',
        url: `/v2/${repo}/manifests/${ref}`,
        headers: { 'Content-Type': mediaType, 'Content-Length': bytes.length },
        body: bytes,
        scopes: scopeFor(repo, true),
        ok: [201, 200],
      });
      drain(res);
      const got = res.headers['docker-content-digest'];
      if (got && got !== want)
        throw new PalisadeError('registry.digest-mismatch', `${repo}:${ref}: the registry stored the manifest as ${String(got)}, expected ${want}`);
      return want;
    });
  }

  private async paged(path: string, key: 'tags' | 'repositories', scopes: string[]): Promise<string[]> {
    const out: string[] = [];
    let next: string | undefined = path;
    for (let page = 0; next && page < 10_000; page++) {
      const url: string = next;
      const { items, link } = await this.op(`GET ${url}`, async () => {
        const res = await this.send({ method: 'GET', url, scopes, ok: [200, 404] });
        if (res.status === 404) {
          drain(res);
          return { items: [] as string[], link: undefined };
        }
        const body = JSON.parse((await readBody(res, 16 << 20)).toString('utf8')) as Record<string, unknown>;
        const v = body[key];
        return { items: Array.isArray(v) ? (v as string[]) : [], link: res.headers.link };
      });
      out.push(...items);
      const m = /<([^>]+)>;\s*rel="?next"?/.exec(String(link ?? ''));
      next = m ? m[1] : undefined;
    }
    return out;
  }

  tags(repo: string): Promise<string[]> {
    return this.paged(`/v2/${repo}/tags/list?n=1000`, 'tags', scopeFor(repo, false));
  }

  catalog(): Promise<string[]> {
    return this.paged('/v2/_catalog?n=1000', 'repositories', scopeFor(undefined, false));
  }
}

export { isTransient };
