import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../installer/config/load.ts';
import { failure } from '../fixtures/errors.ts';

/** Encryption settings that would bind a disk to nothing real are config errors naming the field. */
const THP_A = 'a'.repeat(43);
const THP_B = 'b'.repeat(43);
const config = (encryption: string) => `apiVersion: palisade/v1
cluster: { name: lab, fqdn: palisade.lab.internal }
hosts:
  - { name: host1, address: 10.231.0.10, role: controller, dataDisk: /dev/vdb }
encryption: ${encryption}
`;
const problems = async (encryption: string) => (await failure(parseConfig(config(encryption), 'palisade.yaml'))).details.map((d) => d.path);

describe('encryption settings', () => {
  it('the same Tang server listed twice (also with a trailing slash or another thumbprint) is refused at the second one', async () => {
    expect(
      await problems(`{mode: tang, tang: [{url: "http://10.0.0.9:7500", thumbprint: ${THP_A}}, {url: "http://10.0.0.9:7500", thumbprint: ${THP_A}}]}`),
    ).toEqual(['encryption.tang[1].url']);
    expect(
      await problems(`{mode: tang, tang: [{url: "http://10.0.0.9:7500", thumbprint: ${THP_A}}, {url: "http://10.0.0.9:7500/", thumbprint: ${THP_B}}]}`),
    ).toEqual(['encryption.tang[1].url']);
  });

  it('two distinct Tang servers are accepted', async () => {
    const { config: c } = await parseConfig(
      config(`{mode: tang, tang: [{url: "http://10.0.0.9:7500", thumbprint: ${THP_A}}, {url: "http://10.0.0.9:7501", thumbprint: ${THP_B}}]}`),
      'palisade.yaml',
    );
    expect(c.encryption.tang.map((t) => t.url)).toEqual(['http://10.0.0.9:7500', 'http://10.0.0.9:7501']);
  });

  it('an empty TPM2 PCR list is refused (the TPM would release the key whatever booted); PCR 7 is accepted', async () => {
    expect(await problems('{mode: tpm2, tpm2: {pcrs: []}}')).toEqual(['encryption.tpm2.pcrs']);
    const { config: c } = await parseConfig(config('{mode: tpm2, tpm2: {pcrs: [7]}}'), 'palisade.yaml');
    expect(c.encryption.tpm2.pcrs).toEqual([7]);
  });

  it('a PCR listed twice is refused naming the list; distinct PCRs are accepted', async () => {
    expect(await problems('{mode: tpm2, tpm2: {pcrs: [7, 7]}}')).toEqual(['encryption.tpm2.pcrs']);
    const { config: c } = await parseConfig(config('{mode: tpm2, tpm2: {pcrs: [0, 7]}}'), 'palisade.yaml');
    expect(c.encryption.tpm2.pcrs).toEqual([0, 7]);
  });
});
