import { z } from 'zod';

/**
 * `access:` in palisade.yaml: OIDC sign-in, tenants → projects → namespaces, teams and
 * role bindings. Only the shape lives here; cross-references (a binding to an unknown
 * team, two projects claiming one namespace) are checked in semantic.ts.
 */

const dnsLabel = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, "-", at most 63 characters)');

/** A namespace name, or a regular expression written between slashes (`/^team-a-.*$/`). */
const namespaceClaim = z
  .string()
  .min(1)
  .refine(
    (s) => isRegexClaim(s) || /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(s),
    'must be a namespace name (a DNS label) or a regular expression between slashes, like /^web-.*$/',
  )
  .refine((s) => !isRegexClaim(s) || compiles(s.slice(1, -1)), 'is not a valid regular expression');

export function isRegexClaim(s: string): boolean {
  return s.length > 2 && s.startsWith('/') && s.endsWith('/');
}

function compiles(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

const quantity = z.union([
  z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/, 'must be a Kubernetes quantity like 4, 500m, 8Gi'),
  z.number().nonnegative(),
]);

export const quotaSchema = z.object({
  cpu: quantity.optional().describe('requests.cpu and limits.cpu summed over the namespace'),
  memory: quantity.optional().describe('requests.memory and limits.memory summed over the namespace'),
  pods: z.number().int().nonnegative().optional().describe('number of pods'),
  storage: quantity.optional().describe('requests.storage over all persistent volume claims'),
  defaultCpu: quantity.optional().describe('LimitRange default CPU limit per container (default 500m)'),
  defaultMemory: quantity.optional().describe('LimitRange default memory limit per container (default 512Mi)'),
});

export const projectSchema = z.object({
  name: dnsLabel.describe('project name, unique in its tenant'),
  namespaces: z
    .array(namespaceClaim)
    .min(1, 'list at least one namespace')
    .describe('namespaces this project owns: names, or /regex/ (also claims matching namespaces created later, at the next `palisade access apply`)'),
  quota: quotaSchema.optional().describe('ResourceQuota and LimitRange in each of its namespaces'),
});

export const tenantSchema = z.object({
  name: dnsLabel.describe('tenant name, unique'),
  projects: z.array(projectSchema).default([]).describe("the tenant's projects"),
});

export const teamSchema = z.object({
  name: dnsLabel.describe('team name, unique'),
  oidcGroups: z
    .array(z.string().min(1))
    .default([])
    .describe('OIDC groups whose members are in the team (as the groups claim carries them, before groupsPrefix)'),
  users: z.array(z.string().min(1)).default([]).describe('OIDC users in the team (as the username claim carries them, before usernamePrefix)'),
});

export const BUILTIN_ROLES = ['tenant-admin', 'project-admin', 'project-editor', 'project-viewer'] as const;

export const roleBindingSchema = z.object({
  team: z.string().optional().describe('a team from access.teams'),
  user: z.string().optional().describe('an OIDC user name (before usernamePrefix)'),
  group: z.string().optional().describe('an OIDC group (before groupsPrefix)'),
  role: z
    .string()
    .min(1)
    .describe(`${BUILTIN_ROLES.join(', ')}, or the name of a ClusterRole in the cluster`),
  scope: z
    .string()
    .regex(/^(tenant\/[^/]+|project\/[^/]+\/[^/]+)$/, 'must be tenant/TENANT or project/TENANT/PROJECT')
    .describe("tenant/T covers every namespace of T's projects; project/T/P those of P"),
});

export const oidcSchema = z.object({
  issuerUrl: z.string().url('must be a URL like https://idp.example.internal/realms/ops').describe('OIDC issuer URL (https only)'),
  clientId: z.string().min(1).describe('the client id the ID tokens are issued for'),
  usernameClaim: z.string().min(1).default('sub').describe('the claim that names the user'),
  groupsClaim: z.string().min(1).default('groups').describe("the claim that lists the user's groups"),
  usernamePrefix: z.string().default('oidc:').describe('prefix put before user names (keeps them apart from other authenticators)'),
  groupsPrefix: z.string().default('oidc:').describe('prefix put before group names'),
  caFile: z.string().min(1).optional().describe("PEM file of the CA that signed the issuer's certificate (relative to this file)"),
  requiredClaims: z.record(z.string(), z.string()).default({}).describe('claims an ID token must carry with these values'),
});

export const accessSchema = z.object({
  oidc: oidcSchema.optional().describe('sign-in to the cluster API with an external identity provider'),
  tenants: z.array(tenantSchema).default([]),
  teams: z.array(teamSchema).default([]),
  roleBindings: z.array(roleBindingSchema).default([]),
});

export type AccessConfig = z.infer<typeof accessSchema>;
export type OidcConfig = z.infer<typeof oidcSchema>;
export type RoleBindingConfig = z.infer<typeof roleBindingSchema>;
export type ProjectConfig = z.infer<typeof projectSchema>;
export type QuotaConfig = z.infer<typeof quotaSchema>;

/** Namespaces palisade or Kubernetes itself runs in: no tenant may claim them. */
export const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease', 'default', 'palisade-system'] as const;

/** A `/regex/` namespace claim as the RegExp it stands for (whole names only). */
export const claimRegex = (claim: string): RegExp => new RegExp(`^(?:${claim.slice(1, -1)})$`);
