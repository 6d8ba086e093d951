/**
 * JSON Schema (draft-07) of `palisade preflight --output json`
 * (PreflightReport in report.ts). Tests validate real reports against it;
 * the README documents the same shape.
 */
const status = { enum: ['pass', 'warn', 'fail'] };

export const preflightReportSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://palisade.dev/schemas/preflight-v1.json',
  title: 'palisade preflight report',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'cluster', 'profile', 'airGapped', 'local', 'startedAt', 'durationMs', 'hosts', 'findings', 'summary'],
  properties: {
    apiVersion: { const: 'palisade/preflight-v1' },
    cluster: { type: 'string' },
    profile: { enum: ['small', 'medium', 'large', 'custom'] },
    airGapped: { type: 'boolean' },
    local: { type: 'boolean' },
    startedAt: { type: 'string', format: 'date-time' },
    durationMs: { type: 'number', minimum: 0 },
    hosts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'role', 'address', 'reachable', 'roundTrips', 'notes'],
        properties: {
          name: { type: 'string' },
          role: { enum: ['controller', 'worker', 'admin'] },
          address: { type: 'string' },
          reachable: { type: 'boolean' },
          error: {
            type: 'object',
            additionalProperties: false,
            required: ['code', 'message'],
            properties: { code: { type: 'string' }, message: { type: 'string' }, hint: { type: 'string' } },
          },
          summary: { type: 'string' },
          roundTrips: { type: 'integer', minimum: 0 },
          notes: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    findings: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'host', 'title', 'status', 'measured', 'required'],
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9_]+\\.[a-z0-9_]+$' },
          host: { type: 'string' },
          title: { type: 'string' },
          status: { enum: ['pass', 'warn', 'fail', 'waived'] },
          waivedStatus: status,
          measured: { type: 'string' },
          required: { type: 'string' },
          fix: { type: 'string' },
        },
      },
    },
    summary: {
      type: 'object',
      additionalProperties: false,
      required: ['pass', 'warn', 'fail', 'waived', 'ok'],
      properties: {
        pass: { type: 'integer', minimum: 0 },
        warn: { type: 'integer', minimum: 0 },
        fail: { type: 'integer', minimum: 0 },
        waived: { type: 'integer', minimum: 0 },
        ok: { type: 'boolean' },
      },
    },
  },
} as const;
