/**
 * The Thrift compact protocol, as much as Parquet metadata needs: a generic reader that turns
 * any struct into `{ fieldId: value }` (so fields we do not know are skipped safely) and a
 * small writer.
 *
 * @module
 */

/** A decoded struct: field id → value (number, boolean, Uint8Array, array or struct). */
export interface TStruct {
  [field: number]: TValue;
}
/** Any decoded value. */
export type TValue = number | boolean | Uint8Array | TValue[] | TStruct;

/** Compact-protocol type ids. */
export const T = {
  TRUE: 1,
  FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
} as const;

/** Sequential reader over a byte buffer. */
export class ThriftReader {
  pos: number;
  readonly #b: Uint8Array;
  #dv: DataView;
  constructor(bytes: Uint8Array, pos = 0) {
    this.#b = bytes;
    this.#dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = pos;
  }

  #byte(): number {
    if (this.pos >= this.#b.length) throw new RangeError("Thrift data ends early");
    return this.#b[this.pos++];
  }

  /** Unsigned varint as a JS number (exact below 2^53). */
  varint(): number {
    let v = 0, mul = 1;
    for (let k = 0; k < 10; k++) {
      const b = this.#byte();
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return v;
      mul *= 128;
    }
    throw new RangeError("Thrift varint too long");
  }

  /** Zigzag-decoded signed varint. */
  zigzag(): number {
    const u = this.varint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  #value(type: number): TValue {
    switch (type) {
      case T.TRUE:
        return true;
      case T.FALSE:
        return false;
      case T.BYTE:
        return this.#byte();
      case T.I16:
      case T.I32:
      case T.I64:
        return this.zigzag();
      case T.DOUBLE: {
        if (this.pos + 8 > this.#b.length) throw new RangeError("Thrift data ends early");
        const v = this.#dv.getFloat64(this.pos, true);
        this.pos += 8;
        return v;
      }
      case T.BINARY: {
        const n = this.varint();
        if (this.pos + n > this.#b.length) throw new RangeError("Thrift data ends early");
        const v = this.#b.subarray(this.pos, this.pos + n);
        this.pos += n;
        return v;
      }
      case T.LIST:
      case T.SET: {
        const h = this.#byte();
        let size = h >> 4;
        const et = h & 0x0f;
        if (size === 15) size = this.varint();
        if (size > this.#b.length) throw new RangeError("Thrift list size is impossible");
        const out: TValue[] = [];
        for (let i = 0; i < size; i++) {
          // Booleans inside lists are one byte each.
          out.push(et === T.TRUE || et === T.FALSE ? this.#byte() === 1 : this.#value(et));
        }
        return out;
      }
      case T.MAP: {
        const size = this.varint();
        if (size === 0) return [];
        const kv = this.#byte();
        const out: TValue[] = [];
        for (let i = 0; i < size; i++) out.push([this.#value(kv >> 4), this.#value(kv & 0x0f)]);
        return out;
      }
      case T.STRUCT:
        return this.struct();
      default:
        throw new RangeError(`Unknown Thrift type ${type}`);
    }
  }

  /** Reads one value of compact-protocol type `type`. */
  value(type: number): TValue {
    return this.#value(type);
  }

  /**
   * Reads a struct up to its STOP byte, returning where each field's value lies instead of
   * the values (to rewrite one field of a struct and copy the others byte for byte).
   */
  fieldSpans(): { id: number; type: number; start: number; end: number }[] {
    const out: { id: number; type: number; start: number; end: number }[] = [];
    let last = 0;
    for (;;) {
      const h = this.#byte();
      if (h === 0) return out;
      const delta = h >> 4, type = h & 0x0f;
      const id = delta === 0 ? this.zigzag() : last + delta;
      last = id;
      const start = this.pos;
      this.#value(type);
      out.push({ id, type, start, end: this.pos });
    }
  }

  /** Reads a struct up to its STOP byte. */
  struct(): TStruct {
    const out: TStruct = {};
    let last = 0;
    for (;;) {
      const h = this.#byte();
      if (h === 0) return out;
      const delta = h >> 4, type = h & 0x0f;
      const id = delta === 0 ? this.zigzag() : last + delta;
      last = id;
      out[id] = this.#value(type);
    }
  }
}

/** Appends compact-protocol values to a growing buffer. */
export class ThriftWriter {
  #buf = new Uint8Array(256);
  #len = 0;
  #last: number[] = [0];

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const b = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    b.set(this.#buf.subarray(0, this.#len));
    this.#buf = b;
  }
  #byte(v: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = v;
  }
  /** Unsigned varint. */
  varint(v: number): void {
    while (v >= 128) {
      this.#byte((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    this.#byte(v);
  }
  #zigzag(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }
  #header(id: number, type: number): void {
    const last = this.#last[this.#last.length - 1];
    const delta = id - last;
    if (delta > 0 && delta <= 15) this.#byte((delta << 4) | type);
    else {
      this.#byte(type);
      this.#zigzag(id);
    }
    this.#last[this.#last.length - 1] = id;
  }
  /** An integer field (i32 or i64). */
  int(id: number, v: number, type: number = T.I32): this {
    this.#header(id, type);
    this.#zigzag(v);
    return this;
  }
  /** A field whose value is already encoded (`bytes` from `ThriftReader.fieldSpans`). */
  raw(id: number, type: number, bytes: Uint8Array): this {
    this.#header(id, type); // (a boolean field's value is its type: `bytes` is then empty)
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    return this;
  }
  /** A boolean field. */
  bool(id: number, v: boolean): this {
    this.#header(id, v ? T.TRUE : T.FALSE);
    return this;
  }
  /** A string field. */
  string(id: number, s: string): this {
    const b = new TextEncoder().encode(s);
    this.#header(id, T.BINARY);
    this.varint(b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }
  /** Opens a struct field; close it with `end()`. */
  begin(id: number): this {
    this.#header(id, T.STRUCT);
    this.#last.push(0);
    return this;
  }
  /** Ends the current struct. */
  end(): this {
    this.#byte(0);
    this.#last.pop();
    return this;
  }
  /** A list field header; then write `size` elements (structs via `item()`/`end()`). */
  list(id: number, elemType: number, size: number): this {
    this.#header(id, T.LIST);
    if (size < 15) this.#byte((size << 4) | elemType);
    else {
      this.#byte(0xf0 | elemType);
      this.varint(size);
    }
    return this;
  }
  /** Starts a struct element of a list. */
  item(): this {
    this.#last.push(0);
    return this;
  }
  /** An i32 element of a list. */
  listInt(v: number): this {
    this.#zigzag(v);
    return this;
  }
  /** A string element of a list. */
  listString(s: string): this {
    const b = new TextEncoder().encode(s);
    this.varint(b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }
  /** Ends the top-level struct and returns the bytes. */
  finish(): Uint8Array {
    this.#byte(0);
    return this.#buf.slice(0, this.#len);
  }
}
