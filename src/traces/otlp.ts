/**
 * OTLP/HTTP trace export requests (`ExportTraceServiceRequest`), read from protobuf or from OTLP's JSON
 * mapping into one shape. The protobuf reader is written for this one schema (opentelemetry-proto's
 * trace/v1 and common/v1): linear in the body, no code generation, unknown fields skipped as the protobuf
 * rules say. Every problem names where it is (`resourceSpans[0].scopeSpans[1].spans[3].traceId`).
 */

/** An attribute's value: OTLP's AnyValue. Integers past 2^53 stay exact as decimal strings; bytes as base64. */
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

export interface OtlpEvent {
  name: string;
  timeUnixNano: bigint;
  attributes: Record<string, AttributeValue>;
}

export interface OtlpSpan {
  /** 32 lower-case hex digits. */
  traceId: string;
  /** 16 lower-case hex digits. */
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, AttributeValue>;
  events: OtlpEvent[];
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
  resource: Record<string, AttributeValue>;
  scope: string;
}

/** A request that cannot be read: the client's mistake (400), naming the place (`field`). */
export class OtlpError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** The spans of a request, and those left out (with why: OTLP's partial success). */
export interface DecodedSpans {
  spans: OtlpSpan[];
  rejected: number;
  rejectReason: string;
}

// ---------------------------------------------------------------------------------------------- protobuf

const utf8 = new TextDecoder('utf-8');

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    readonly where: string,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  fail(message: string): never {
    throw new OtlpError(this.where, message);
  }

  /** A varint as a number (exact up to 2^53; protobuf lengths, tags and enums are far below). */
  varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('the body ends inside a number');
      const byte = this.buf[this.pos++];
      result += (byte & 0x7f) * shift;
      if (byte < 0x80) return result;
      shift *= 128;
    }
    return this.fail('a number longer than 10 bytes');
  }

  /** A varint as a 64-bit integer, exact. */
  varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('the body ends inside a number');
      const byte = this.buf[this.pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
      shift += 7n;
    }
    return this.fail('a number longer than 10 bytes');
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) this.fail('the body ends inside a fixed64');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getBigUint64(0, true);
  }

  double(): number {
    if (this.pos + 8 > this.end) this.fail('the body ends inside a double');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getFloat64(0, true);
  }

  /** A length-delimited field: its bounds. */
  span(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) this.fail(`a field of ${length} bytes runs past the end of its message`);
    this.pos = start + length;
    return [start, start + length];
  }

  sub(where: string): Reader {
    const [start, end] = this.span();
    return new Reader(this.buf, start, end, where);
  }

  string(): string {
    const [start, end] = this.span();
    return utf8.decode(this.buf.subarray(start, end));
  }

  bytes(): Uint8Array {
    const [start, end] = this.span();
    return this.buf.subarray(start, end);
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint64();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.span();
    else if (wireType === 5) this.pos += 4;
    else this.fail(`wire type ${wireType} is not one OTLP uses`);
    if (this.pos > this.end) this.fail('the body ends inside a field');
  }

  /** Each field of the message: `read(field, wireType)` consumes it or returns false to have it skipped. */
  fields(read: (field: number, wireType: number) => boolean): void {
    while (!this.done()) {
      const tag = this.varint();
      const field = Math.floor(tag / 8);
      const wireType = tag & 7;
      if (field === 0) this.fail('field number 0');
      if (!read(field, wireType)) this.skip(wireType);
    }
  }
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

function readAnyValue(r: Reader, depth: number): AttributeValue {
  if (depth > 16) r.fail('values nest deeper than 16 levels');
  let value: AttributeValue = null;
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) value = r.string();
    else if (field === 2 && wire === 0) value = r.varint() !== 0;
    else if (field === 3 && wire === 0) value = int64Value(BigInt.asIntN(64, r.varint64()));
    else if (field === 4 && wire === 1) value = r.double();
    else if (field === 5 && wire === 2) {
      const list: AttributeValue[] = [];
      const inner = r.sub(`${r.where}[]`);
      inner.fields((f, w) => {
        if (f !== 1 || w !== 2) return false;
        list.push(readAnyValue(inner.sub(`${r.where}[${list.length}]`), depth + 1));
        return true;
      });
      value = list;
    } else if (field === 6 && wire === 2) {
      const inner = r.sub(r.where);
      const map: Record<string, AttributeValue> = {};
      inner.fields((f, w) => {
        if (f !== 1 || w !== 2) return false;
        readKeyValue(inner.sub(r.where), map, depth + 1);
        return true;
      });
      value = map;
    } else if (field === 7 && wire === 2) value = Buffer.from(r.bytes()).toString('base64');
    else return false;
    return true;
  });
  return value;
}

const int64Value = (n: bigint): number | string => (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString());

function readKeyValue(r: Reader, into: Record<string, AttributeValue>, depth: number): void {
  let key = '';
  let value: AttributeValue = null;
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) key = r.string();
    else if (field === 2 && wire === 2) value = readAnyValue(r.sub(`${r.where}.${key || 'value'}`), depth);
    else return false;
    return true;
  });
  into[key] = value;
}

/** One `KeyValue` of a repeated attributes field, into the map. */
function readAttribute(r: Reader, into: Record<string, AttributeValue>, where: string): void {
  readKeyValue(r.sub(`${where}.attributes`), into, 0);
}

function readSpanProto(r: Reader, resource: Record<string, AttributeValue>, scope: string): OtlpSpan {
  const span: OtlpSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: {},
    events: [],
    statusCode: 0,
    statusMessage: '',
    resource,
    scope,
  };
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) span.traceId = hex(r.bytes());
    else if (field === 2 && wire === 2) span.spanId = hex(r.bytes());
    else if (field === 4 && wire === 2) span.parentSpanId = hex(r.bytes());
    else if (field === 5 && wire === 2) span.name = r.string();
    else if (field === 6 && wire === 0) span.kind = r.varint();
    else if (field === 7 && wire === 1) span.startTimeUnixNano = r.fixed64();
    else if (field === 8 && wire === 1) span.endTimeUnixNano = r.fixed64();
    else if (field === 9 && wire === 2) readAttribute(r, span.attributes, r.where);
    else if (field === 11 && wire === 2) {
      const inner = r.sub(`${r.where}.events[${span.events.length}]`);
      const event: OtlpEvent = { name: '', timeUnixNano: 0n, attributes: {} };
      inner.fields((f, w) => {
        if (f === 1 && w === 1) event.timeUnixNano = inner.fixed64();
        else if (f === 2 && w === 2) event.name = inner.string();
        else if (f === 3 && w === 2) readAttribute(inner, event.attributes, inner.where);
        else return false;
        return true;
      });
      span.events.push(event);
    } else if (field === 15 && wire === 2) {
      const inner = r.sub(`${r.where}.status`);
      inner.fields((f, w) => {
        if (f === 2 && w === 2) span.statusMessage = inner.string();
        else if (f === 3 && w === 0) span.statusCode = inner.varint();
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  return span;
}

/** An `ExportTraceServiceRequest` in protobuf (`application/x-protobuf`). */
export function decodeTraceProtobuf(body: Uint8Array): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  const top = new Reader(body, 0, body.length, 'body');
  let rs = 0;
  top.fields((field, wire) => {
    if (field !== 1 || wire !== 2) return false;
    const where = `resourceSpans[${rs++}]`;
    const resourceSpans = top.sub(where);
    const resource: Record<string, AttributeValue> = {};
    const scopeBodies: Reader[] = [];
    // The resource may come after its spans in the bytes: spans are read once the resource is known.
    resourceSpans.fields((f, w) => {
      if (f === 1 && w === 2) {
        const inner = resourceSpans.sub(`${where}.resource`);
        inner.fields((g, x) => {
          if (g !== 1 || x !== 2) return false;
          readAttribute(inner, resource, inner.where);
          return true;
        });
      } else if (f === 2 && w === 2) scopeBodies.push(resourceSpans.sub(`${where}.scopeSpans[${scopeBodies.length}]`));
      else return false;
      return true;
    });
    for (const scopeSpans of scopeBodies) {
      let scope = '';
      const spanBodies: Reader[] = [];
      scopeSpans.fields((f, w) => {
        if (f === 1 && w === 2) {
          const inner = scopeSpans.sub(`${scopeSpans.where}.scope`);
          inner.fields((g, x) => {
            if (g !== 1 || x !== 2) return false;
            scope = inner.string();
            return true;
          });
        } else if (f === 2 && w === 2) spanBodies.push(scopeSpans.sub(`${scopeSpans.where}.spans[${spanBodies.length}]`));
        else return false;
        return true;
      });
      for (const body of spanBodies) spans.push(readSpanProto(body, resource, scope));
    }
    return true;
  });
  return spans;
}

/** The successful answer in protobuf: an empty `ExportTraceServiceResponse`, or one with its partial success. */
export function encodeTraceResponseProtobuf(rejected: number, message: string): Uint8Array {
  if (rejected === 0) return new Uint8Array(0);
  const text = Buffer.from(message, 'utf8');
  const inner = Buffer.concat([Buffer.from([0x08]), varintBytes(rejected), Buffer.from([0x12]), varintBytes(text.length), text]);
  return Buffer.concat([Buffer.from([0x0a]), varintBytes(inner.length), inner]);
}

function varintBytes(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

// -------------------------------------------------------------------------------------------------- JSON

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** OTLP/JSON writes ids as hex; some senders write protobuf's JSON default, base64: both are read. */
function jsonId(value: unknown, bytes: number, where: string): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value !== 'string') throw new OtlpError(where, `expected a hex string`);
  if (value.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(value)) return value.toLowerCase();
  const decoded = Buffer.from(value, 'base64');
  if (decoded.length === bytes && /^[A-Za-z0-9+/]+=*$/.test(value)) return decoded.toString('hex');
  throw new OtlpError(where, `expected ${bytes * 2} hex digits`);
}

function jsonNanos(value: unknown, where: string): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return BigInt(value);
  throw new OtlpError(where, `expected nanoseconds since the epoch (an integer or a decimal string)`);
}

function jsonAnyValue(value: unknown, where: string, depth: number): AttributeValue {
  if (depth > 16) throw new OtlpError(where, `values nest deeper than 16 levels`);
  if (!isObject(value)) return null;
  if ('stringValue' in value) return typeof value.stringValue === 'string' ? value.stringValue : String(value.stringValue);
  if ('boolValue' in value) return value.boolValue === true || value.boolValue === 'true';
  if ('intValue' in value) {
    const raw = value.intValue;
    if (typeof raw === 'number' && Number.isInteger(raw)) return raw;
    if (typeof raw === 'string' && /^-?\d{1,20}$/.test(raw)) return int64Value(BigInt(raw));
    throw new OtlpError(`${where}.intValue`, `expected an integer`);
  }
  if ('doubleValue' in value) {
    const raw = value.doubleValue;
    if (typeof raw === 'number') return raw;
    if (typeof raw === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(raw)) return raw;
    if (typeof raw === 'string' && !Number.isNaN(Number(raw))) return Number(raw);
    throw new OtlpError(`${where}.doubleValue`, `expected a number`);
  }
  if ('arrayValue' in value) {
    const values = isObject(value.arrayValue) && Array.isArray(value.arrayValue.values) ? value.arrayValue.values : [];
    return values.map((v, i) => jsonAnyValue(v, `${where}.arrayValue.values[${i}]`, depth + 1));
  }
  if ('kvlistValue' in value) {
    const values = isObject(value.kvlistValue) && Array.isArray(value.kvlistValue.values) ? value.kvlistValue.values : [];
    const map: Record<string, AttributeValue> = {};
    jsonAttributesInto(values, map, `${where}.kvlistValue.values`, depth + 1);
    return map;
  }
  if ('bytesValue' in value) return typeof value.bytesValue === 'string' ? value.bytesValue : null;
  return null;
}

function jsonAttributesInto(list: unknown, into: Record<string, AttributeValue>, where: string, depth = 0): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw new OtlpError(where, `expected an array of {key, value}`);
  list.forEach((entry, i) => {
    if (!isObject(entry) || typeof entry.key !== 'string') throw new OtlpError(`${where}[${i}]`, `expected {key, value}`);
    into[entry.key] = jsonAnyValue(entry.value, `${where}[${i}].value`, depth);
  });
}

const jsonArray = (value: unknown, where: string): unknown[] => {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpError(where, `expected an array`);
  return value;
};

const jsonString = (value: unknown, where: string): string => {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new OtlpError(where, `expected a string`);
  return value;
};

const jsonInt = (value: unknown, where: string): number => {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  throw new OtlpError(where, `expected an integer`);
};

/** An `ExportTraceServiceRequest` in OTLP's JSON mapping (`application/json`), already parsed. */
export function decodeTraceJson(body: unknown): OtlpSpan[] {
  if (!isObject(body)) throw new OtlpError('body', 'expected an object with resourceSpans');
  const spans: OtlpSpan[] = [];
  jsonArray(body.resourceSpans ?? body.resource_spans, 'resourceSpans').forEach((rs, i) => {
    const where = `resourceSpans[${i}]`;
    if (!isObject(rs)) throw new OtlpError(where, `expected an object`);
    const resource: Record<string, AttributeValue> = {};
    if (isObject(rs.resource)) jsonAttributesInto(rs.resource.attributes, resource, `${where}.resource.attributes`);
    jsonArray(rs.scopeSpans ?? rs.scope_spans, `${where}.scopeSpans`).forEach((ss, j) => {
      const sWhere = `${where}.scopeSpans[${j}]`;
      if (!isObject(ss)) throw new OtlpError(sWhere, `expected an object`);
      const scope = isObject(ss.scope) && typeof ss.scope.name === 'string' ? ss.scope.name : '';
      jsonArray(ss.spans, `${sWhere}.spans`).forEach((s, k) => {
        const at = `${sWhere}.spans[${k}]`;
        if (!isObject(s)) throw new OtlpError(at, `expected an object`);
        const attributes: Record<string, AttributeValue> = {};
        jsonAttributesInto(s.attributes, attributes, `${at}.attributes`);
        const status = isObject(s.status) ? s.status : {};
        spans.push({
          traceId: jsonId(s.traceId ?? s.trace_id, 16, `${at}.traceId`),
          spanId: jsonId(s.spanId ?? s.span_id, 8, `${at}.spanId`),
          parentSpanId: jsonId(s.parentSpanId ?? s.parent_span_id, 8, `${at}.parentSpanId`),
          name: jsonString(s.name, `${at}.name`),
          kind: jsonInt(s.kind, `${at}.kind`),
          startTimeUnixNano: jsonNanos(s.startTimeUnixNano ?? s.start_time_unix_nano, `${at}.startTimeUnixNano`),
          endTimeUnixNano: jsonNanos(s.endTimeUnixNano ?? s.end_time_unix_nano, `${at}.endTimeUnixNano`),
          attributes,
          events: jsonArray(s.events, `${at}.events`).map((e, m) => {
            const eWhere = `${at}.events[${m}]`;
            if (!isObject(e)) throw new OtlpError(eWhere, `expected an object`);
            const eventAttributes: Record<string, AttributeValue> = {};
            jsonAttributesInto(e.attributes, eventAttributes, `${eWhere}.attributes`);
            return { name: jsonString(e.name, `${eWhere}.name`), timeUnixNano: jsonNanos(e.timeUnixNano ?? e.time_unix_nano, `${eWhere}.timeUnixNano`), attributes: eventAttributes };
          }),
          statusCode: jsonInt(status.code, `${at}.status.code`),
          statusMessage: jsonString(status.message, `${at}.status.message`),
          resource,
          scope,
        });
      });
    });
  });
  return spans;
}

/** Spans OTLP requires ids of: those without are left out, and the answer says how many and why. */
export function keepIdentified(spans: OtlpSpan[]): DecodedSpans {
  const kept = spans.filter((s) => /^[0-9a-f]{32}$/.test(s.traceId) && s.traceId !== '0'.repeat(32) && /^[0-9a-f]{16}$/.test(s.spanId) && s.spanId !== '0'.repeat(16));
  const rejected = spans.length - kept.length;
  return { spans: kept, rejected, rejectReason: rejected ? `${rejected} span(s) without a valid traceId (16 bytes) and spanId (8 bytes), left out` : '' };
}
