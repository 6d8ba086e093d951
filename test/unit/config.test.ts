import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../installer/config/load.ts';
import { isPalisadeError } from '../../installer/core/errors.ts';

async function problems(yaml: string): Promise<string[]> {
  try {
    await parseConfig(yaml, 'test.yaml');
    return [];
  } catch (e) {
    if (!isPalisadeError(e)) throw e;
    expect(e.exitCode).toBe(2);
    return e.details.map((d) => `${d.path}: ${d.message}`);
  }
}

describe('config', () => {
  it('reports five mistakes at once with their paths', async () => {
    const p = await problems(`
apiVersion: palisade/v1
cluster: {name: Lab, fqdn: nodots}
hosts:
  - {name: a, address: 1.2.3.4, port: 70000, role: controller}
  - {name: b, address: 1.2.3.5, role: boss}
extra: 1
`);
    expect(p).toHaveLength(5);
    expect(p.map((x) => x.split(':')[0])).toEqual(['cluster.name', 'cluster.fqdn', 'hosts[0].port', 'hosts[1].role', '(top level)']);
  });
});
