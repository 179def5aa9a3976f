import { randomBytes } from 'node:crypto';
import { SealedValueError, SecretBox } from '../../src/platform/secret-box';
import { projectEndpointPolicy } from '../../src/platform/tenancy';
import { readTenancyConfig } from '../../src/platform/config';
import type { StoredEndpoint } from '../../src/store/postgres/endpoints';

/** Projects' own LLM keys are stored sealed (AES-256-GCM under ENDPOINT_KEYS_SECRET): what an operator relies on. */
const secret = () => randomBytes(32).toString('base64');
const plainKey = () => `project-llm-key-${randomBytes(12).toString('hex')}`;
const parts = (sealed: string) => sealed.split('.');
const bytesOf = (part: string) => Buffer.from(part, 'base64url');

test('a sealed key opens with the same secret, in another process too (a new box over the same secret)', () => {
  const shared = secret();
  for (const plain of [plainKey(), '', 'ключ 🔑 with spaces and "quotes"', 'x'.repeat(10_000)]) {
    const sealed = new SecretBox(shared).seal(plain);
    expect(new SecretBox(shared).open(sealed)).toBe(plain);
  }
});

test('the sealed form is v1.<iv>.<tag>.<ciphertext>: a fresh 96-bit IV each time, a 128-bit tag, nothing of the key readable', () => {
  const box = new SecretBox(secret());
  const plain = plainKey();
  const [first, second] = [box.seal(plain), box.seal(plain)];
  expect(first).not.toBe(second);
  for (const sealed of [first, second]) {
    const [version, iv, tag, data] = parts(sealed);
    expect(parts(sealed)).toHaveLength(4);
    expect(version).toBe('v1');
    expect(sealed).toMatch(/^v1(\.[A-Za-z0-9_-]+){3}$/);
    expect([bytesOf(iv).length, bytesOf(tag).length, bytesOf(data).length]).toEqual([12, 16, Buffer.byteLength(plain)]);
    // Neither the value nor any run of it survives in the text or in any decoded part (it is not an encoding).
    for (const view of [sealed, ...parts(sealed).map((p) => bytesOf(p).toString('latin1'))]) {
      expect(view).not.toContain(plain.slice(-12));
    }
  }
  expect(parts(first)[1]).not.toBe(parts(second)[1]);
});

test('a value sealed by an earlier release still opens: the key derivation is part of the stored format', () => {
  // Sealed once with the release that introduced v1; every project endpoint in a database is in this form.
  const box = new SecretBox('fixture secret for the sealed-format test, not used anywhere');
  expect(box.open('v1.ZJBoCTU9OXvimuuA.x0Rn0QxvKSVTiB1n-KP8tA.WPyuCjngv50dgLzXAtSXZXKKhVEp2OhiUBXPrw')).toBe('the plain key of the fixture');
});

test('another secret cannot open it: the key is never recoverable without the operator’s secret', () => {
  const sealed = new SecretBox(secret()).seal(plainKey());
  const attempt = () => new SecretBox(secret()).open(sealed);
  expect(attempt).toThrow(SealedValueError);
  // What a log line starts with.
  let thrown: unknown;
  try {
    attempt();
  } catch (error) {
    thrown = error;
  }
  expect(String(thrown)).toBe('SealedValueError: cannot open a sealed value: it was altered, or sealed under another ENDPOINT_KEYS_SECRET');
  expect(attempt).toThrow('cannot open a sealed value: it was altered, or sealed under another ENDPOINT_KEYS_SECRET');
});

describe('an altered sealed value is refused, never opened to something else', () => {
  const box = new SecretBox(secret());
  const sealed = box.seal(plainKey());
  const flip = (part: string) => {
    const bytes = bytesOf(part);
    bytes[bytes.length - 1] ^= 0x01;
    return bytes.toString('base64url');
  };
  const withPart = (i: number, value: string) => parts(sealed).map((p, j) => (j === i ? value : p)).join('.');

  test.each([
    ['the IV', 1],
    ['the tag', 2],
    ['the ciphertext', 3],
  ])('one bit of %s', (_, i) => {
    expect(() => box.open(withPart(i as number, flip(parts(sealed)[i as number])))).toThrow(/altered, or sealed under another/);
  });

  test('the ciphertext cut short', () => {
    expect(() => box.open(withPart(3, parts(sealed)[3].slice(0, -4)))).toThrow(/altered/);
  });

  test.each([
    ['another version', sealed.replace(/^v1\./, 'v2.')],
    ['a part missing', parts(sealed).slice(0, 3).join('.')],
    ['an empty IV', withPart(1, '')],
    ['an empty tag', withPart(2, '')],
    ['a part too many', `${sealed}.AAAA`],
    ['the plain key itself', 'not-sealed-at-all'],
  ])('%s: not a sealed value', (_, value) => {
    expect(() => box.open(value)).toThrow(new SealedValueError('not a sealed value (expected v1.<iv>.<tag>.<ciphertext>)'));
  });
});

test('a secret shorter than 32 characters is refused, naming the variable', () => {
  expect(() => new SecretBox('x'.repeat(31))).toThrow(/^ENDPOINT_KEYS_SECRET: at least 32 characters/);
  expect(() => new SecretBox('x'.repeat(32))).not.toThrow();
  expect(() => readTenancyConfig({ ENDPOINT_KEYS_SECRET: 'short' })).toThrow(/ENDPOINT_KEYS_SECRET/);
});

describe('a project endpoint whose key the worker cannot open (ENDPOINT_KEYS_SECRET changed)', () => {
  const stored = (sealedKey: string): StoredEndpoint =>
    ({ name: 'mine', provider: 'openai', base_url: 'https://llm.example.com/v1', models: null, sealed_key: sealedKey, key_hint: '…abcd' }) as unknown as StoredEndpoint;

  test('the run learns which endpoint, why, and what to do; the orchestrator, which opens no key, is unaffected', () => {
    const sealedUnderOld = new SecretBox(secret()).seal(plainKey());
    const tenancy = readTenancyConfig({ ENDPOINT_KEYS_SECRET: secret() });
    expect(() => projectEndpointPolicy(tenancy, [stored(sealedUnderOld)], true)).toThrow(
      'endpoint "mine": cannot open a sealed value: it was altered, or sealed under another ENDPOINT_KEYS_SECRET; register its key again (PUT /v1/endpoints/mine)',
    );
    expect(projectEndpointPolicy(tenancy, [stored(sealedUnderOld)], false).describe().map((e) => e.name)).toContain('mine');
  });

  test('with the right secret the worker gets the key, and only for the endpoint that holds it', () => {
    const shared = secret();
    const key = plainKey();
    const tenancy = readTenancyConfig({ ENDPOINT_KEYS_SECRET: shared });
    const policy = projectEndpointPolicy(tenancy, [stored(new SecretBox(shared).seal(key))], true);
    expect(policy.keys()).toContain(key);
    expect(projectEndpointPolicy(tenancy, [stored(new SecretBox(shared).seal(key))], false).keys()).not.toContain(key);
  });
});
