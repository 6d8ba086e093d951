import { z } from 'zod';

/** palisade.yaml `hardening:` — which host hardening profile install and `palisade harden` apply, and the site's exceptions. */
export const hardeningSchema = z
  .object({
    profile: z
      .enum(['baseline', 'none'])
      .default('baseline')
      .describe('baseline: the CIS Debian 12 based rules (`palisade harden --dry-run` lists them); none: no hardening'),
    exceptions: z
      .array(
        z
          .object({
            rule: z.string().min(1).describe('rule id, e.g. ssh.x11'),
            reason: z.string().trim().min(1, 'say why this site needs the exception').describe('why this site needs it (shown in every report)'),
            hosts: z.array(z.string()).optional().describe('only on these hosts (default: every host)'),
          })
          .strict(),
      )
      .default([])
      .describe('rules not applied at this site, each with its reason'),
  })
  .strict();

export type HardeningConfig = z.infer<typeof hardeningSchema>;
