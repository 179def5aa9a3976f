import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A sealed value this box cannot open: not sealed at all, altered, or sealed under another secret. */
export class SealedValueError extends Error {
  override readonly name = 'SealedValueError';
}

/**
 * Seals values (a project's LLM key) with AES-256-GCM under a key derived from the operator's secret
 * (ENDPOINT_KEYS_SECRET). Sealed form: `v1.<iv>.<tag>.<ciphertext>`, base64url; tampering fails to open.
 * The derivation is part of the stored format: changing it leaves every stored key unopenable.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (secret.length < 32) throw new Error('ENDPOINT_KEYS_SECRET: at least 32 characters (e.g. `openssl rand -base64 48`)');
    this.key = createHash('sha256').update(`ai-eval-platform endpoint keys\0${secret}`).digest();
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', ...[iv, cipher.getAuthTag(), data].map((part) => part.toString('base64url'))].join('.');
  }

  open(sealed: string): string {
    const [version, iv, tag, data, ...extra] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || data === undefined || extra.length > 0) throw new SealedValueError('not a sealed value (expected v1.<iv>.<tag>.<ciphertext>)');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedValueError('cannot open a sealed value: it was altered, or sealed under another ENDPOINT_KEYS_SECRET');
    }
  }
}
