import { describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, RemoteHost } from '../../installer/hosts/types.ts';
import { changeSshd } from '../../installer/hardening/ssh-change.ts';

/** A host that answers each step of the sshd change as told, and records the order of steps. */
function host(answers: { write?: ExecResult; restore?: ExecResult }) {
  const steps: string[] = [];
  const h: RemoteHost = {
    name: 'h1',
    address: '10.0.0.1',
    async exec(command: string, _o?: ExecOptions) {
      if (command.includes('sshd -t 2>&1')) {
        steps.push('write');
        return answers.write ?? { code: 0, stdout: '', stderr: '' };
      }
      if (command.includes('sshd -t || exit 4')) {
        steps.push('restore');
        return answers.restore ?? { code: 0, stdout: '', stderr: '' };
      }
      steps.push('commit');
      return { code: 0, stdout: '', stderr: '' };
    },
    async upload() {},
    async close() {},
  };
  return { h, steps };
}

describe('an sshd change never locks the operator out', () => {
  it('kept when sshd -t passes and a fresh login works', async () => {
    const { h, steps } = host({});
    let logins = 0;
    const r = await changeSshd(h, 'MaxAuthTries 4\n', {
      proveLogin: async () => {
        logins++;
      },
    });
    expect(r).toEqual({ ok: true });
    expect(steps).toEqual(['write', 'commit']);
    expect(logins).toBe(1);
  });
  it("sshd -t refuses: restored on the host, no reload, no login tried, sshd's words in the message", async () => {
    const { h, steps } = host({ write: { code: 3, stdout: 'SSHD_T /etc/ssh/sshd_config.d/50-x.conf line 1: Bad number.\n', stderr: '' } });
    let logins = 0;
    const r = await changeSshd(h, 'x\n', {
      proveLogin: async () => {
        logins++;
      },
    });
    expect(r).toMatchObject({ ok: false, stage: 'sshd -t', restored: true, message: expect.stringMatching(/50-x\.conf line 1: Bad number/) });
    expect(logins).toBe(0);
    expect(steps).toEqual(['write']);
  });
  it('a fresh login fails after the reload: the previous config is restored and the login proven again', async () => {
    const { h, steps } = host({});
    let logins = 0;
    const r = await changeSshd(h, 'KexAlgorithms x\n', {
      proveLogin: async () => {
        if (++logins === 1) throw new Error('no matching key exchange');
      },
    });
    expect(r).toMatchObject({
      ok: false,
      stage: 'login',
      restored: true,
      message: expect.stringMatching(/no matching key exchange.*restored.*a fresh login works again/),
    });
    expect(steps).toEqual(['write', 'restore']);
    expect(logins).toBe(2);
  });
  it("a login that still fails after the restore is said to be not palisade's doing", async () => {
    const { h } = host({});
    const r = await changeSshd(h, 'x\n', {
      proveLogin: async () => {
        throw new Error('auth failed');
      },
    });
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/still fails.*not palisade's change/) });
  });
});
