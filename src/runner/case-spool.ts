import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bytes gathered before a write to the spool file. */
const CHUNK = 1 << 20;

/**
 * Finished cases' texts (their report.json entry, their JUnit testcase) kept in a temporary file in the order
 * they finish, and read back in the report's order: memory holds an index of a few numbers per case, not
 * the cases. The file is removed by `close`.
 */
export class CaseSpool {
  private readonly dir: string;
  private readonly fd: number;
  /** Per position: where its texts start in the file (-1: not added). */
  private offsets = new Float64Array(1024).fill(-1);
  /** Per position and part: the text's length in bytes. */
  private lengths: Uint32Array;
  private fileSize = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readBuffer = Buffer.alloc(64 * 1024);

  constructor(
    private readonly parts: number,
    directory = tmpdir(),
  ) {
    this.dir = mkdtempSync(join(directory, 'evalctl-cases-'));
    this.fd = openSync(join(this.dir, 'cases'), 'w+', 0o600);
    this.lengths = new Uint32Array(1024 * parts);
  }

  add(position: number, texts: readonly string[]): void {
    if (position >= this.offsets.length) this.grow(position);
    this.offsets[position] = this.fileSize + this.pendingBytes;
    texts.forEach((text, part) => {
      const bytes = Buffer.from(text, 'utf8');
      this.lengths[position * this.parts + part] = bytes.length;
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
    });
    if (this.pendingBytes >= CHUNK) this.flush();
  }

  has(position: number): boolean {
    return position < this.offsets.length && this.offsets[position] >= 0;
  }

  /** A case's text; `part` as given to `add`. */
  read(position: number, part: number): string {
    if (!this.has(position)) throw new Error(`case ${position} was never spooled`);
    if (this.pendingBytes > 0) this.flush();
    let offset = this.offsets[position];
    for (let p = 0; p < part; p++) offset += this.lengths[position * this.parts + p];
    const length = this.lengths[position * this.parts + part];
    if (length > this.readBuffer.length) this.readBuffer = Buffer.alloc(length * 2);
    let read = 0;
    while (read < length) read += readSync(this.fd, this.readBuffer, read, length - read, offset + read);
    return this.readBuffer.toString('utf8', 0, length);
  }

  close(): void {
    closeSync(this.fd);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private flush(): void {
    const data = Buffer.concat(this.pending, this.pendingBytes);
    let written = 0;
    while (written < data.length) written += writeSync(this.fd, data, written, data.length - written, this.fileSize + written);
    this.fileSize += data.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private grow(position: number): void {
    const size = Math.max(position + 1, this.offsets.length * 2);
    const offsets = new Float64Array(size).fill(-1);
    offsets.set(this.offsets);
    const lengths = new Uint32Array(size * this.parts);
    lengths.set(this.lengths);
    this.offsets = offsets;
    this.lengths = lengths;
  }
}

/** Writes text to a file through a buffer of about a megabyte: one system call per megabyte, not per piece. */
export class BufferedFile {
  private readonly fd: number;
  private pieces: string[] = [];
  private size = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  write(text: string): void {
    this.pieces.push(text);
    this.size += text.length;
    if (this.size >= CHUNK) this.flush();
  }

  close(): void {
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
    }
  }

  private flush(): void {
    if (this.size === 0) return;
    const data = Buffer.from(this.pieces.join(''), 'utf8');
    let written = 0;
    while (written < data.length) written += writeSync(this.fd, data, written, data.length - written);
    this.pieces = [];
    this.size = 0;
  }
}
