// GDB/MI output syntax (gdb manual, "GDB/MI Output Syntax"), one line at a
// time. Pure: no I/O, no DAP, no vscode, so unit tests feed it recorded lines.

/** A value: c-string, tuple ({...}) or list ([...]). Lists of `name=value` results keep only the values. */
export type MiValue = string | MiTuple | MiValue[];
export interface MiTuple {
  [name: string]: MiValue;
}

export type MiRecord =
  | { type: 'result'; token?: number; cls: 'done' | 'running' | 'connected' | 'error' | 'exit'; results: MiTuple }
  | { type: 'exec' | 'status' | 'notify'; token?: number; cls: string; results: MiTuple }
  | { type: 'console' | 'target' | 'log'; text: string }
  | { type: 'prompt' };

export class MiParseError extends Error {}

const streamTypes = { '~': 'console', '@': 'target', '&': 'log' } as const;
const asyncTypes = { '*': 'exec', '+': 'status', '=': 'notify' } as const;

/** Parses one line of gdb's MI output (without the newline). */
export function parseMiLine(line: string): MiRecord {
  const text = line.replace(/\r$/, '');
  if (/^\(gdb\)\s*$/.test(text)) return { type: 'prompt' };
  const p = new Cursor(text);
  const c = text[0] as keyof typeof streamTypes;
  if (c in streamTypes) {
    p.pos = 1;
    const s = p.cstring();
    return { type: streamTypes[c], text: s };
  }
  const tok = /^\d+/.exec(text);
  p.pos = tok ? tok[0].length : 0;
  const token = tok ? Number(tok[0]) : undefined;
  const kind = text[p.pos];
  p.pos++;
  const cls = p.word();
  const results = p.eof() ? {} : (p.expect(','), p.results(''));
  if (!p.eof()) throw new MiParseError(`unexpected text at column ${p.pos}: ${text}`);
  if (kind === '^') {
    if (!['done', 'running', 'connected', 'error', 'exit'].includes(cls)) throw new MiParseError(`unknown result class "${cls}": ${text}`);
    return { type: 'result', token, cls: cls as 'done', results };
  }
  if (kind in asyncTypes) return { type: asyncTypes[kind as keyof typeof asyncTypes], token, cls, results };
  throw new MiParseError(`not an MI record: ${text}`);
}

class Cursor {
  pos = 0;
  constructor(private readonly s: string) {}

  eof(): boolean {
    return this.pos >= this.s.length;
  }

  expect(ch: string): void {
    if (this.s[this.pos] !== ch) throw new MiParseError(`expected "${ch}" at column ${this.pos}: ${this.s}`);
    this.pos++;
  }

  word(): string {
    const m = /^[A-Za-z_][\w-]*/.exec(this.s.slice(this.pos));
    if (!m) throw new MiParseError(`expected a name at column ${this.pos}: ${this.s}`);
    this.pos += m[0].length;
    return m[0];
  }

  /** `name=value` pairs up to `close` (or the end of the line when close is ''). */
  results(close: string): MiTuple {
    const out: MiTuple = {};
    while (!this.eof() && this.s[this.pos] !== close) {
      const [name, value] = this.result();
      // A name repeated inside a tuple (old gdb breakpoint tables) becomes a list.
      if (name in out) out[name] = ([] as MiValue[]).concat(out[name] as MiValue, [value]);
      else out[name] = value;
      if (this.s[this.pos] === ',') this.pos++;
    }
    return out;
  }

  result(): [string, MiValue] {
    const name = this.word();
    this.expect('=');
    return [name, this.value()];
  }

  value(): MiValue {
    const c = this.s[this.pos];
    if (c === '"') return this.cstring();
    if (c === '{') {
      this.pos++;
      const t = this.results('}');
      this.expect('}');
      return t;
    }
    if (c === '[') {
      this.pos++;
      const list: MiValue[] = [];
      while (this.s[this.pos] !== ']') {
        if (this.eof()) throw new MiParseError(`unterminated list: ${this.s}`);
        // A list holds either values or name=value results; keep the values.
        list.push(/^[A-Za-z_][\w-]*=/.test(this.s.slice(this.pos, this.pos + 64)) ? this.result()[1] : this.value());
        if (this.s[this.pos] === ',') this.pos++;
      }
      this.pos++;
      return list;
    }
    throw new MiParseError(`expected a value at column ${this.pos}: ${this.s}`);
  }

  /** A C string; gdb escapes non-ASCII bytes as octal, so decode bytes and then UTF-8. */
  cstring(): string {
    this.expect('"');
    const bytes: number[] = [];
    const pushText = (t: string) => bytes.push(...Buffer.from(t, 'utf8'));
    for (;;) {
      if (this.eof()) throw new MiParseError(`unterminated string: ${this.s}`);
      const ch = this.s[this.pos++];
      if (ch === '"') break;
      if (ch !== '\\') {
        pushText(ch);
        continue;
      }
      const e = this.s[this.pos++];
      const oct = /^[0-7]{1,3}/.exec(this.s.slice(this.pos - 1, this.pos + 2));
      if (oct) {
        bytes.push(parseInt(oct[0], 8) & 0xff);
        this.pos += oct[0].length - 1;
      } else {
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', e: '\x1b' };
        pushText(simple[e] ?? e);
      }
    }
    return Buffer.from(bytes).toString('utf8');
  }
}

/** Quotes a string as an MI c-string argument. Newlines are escaped, so user text can never start a second command. */
export function miQuote(s: string): string {
  return '"' + s.replace(/[\\"]/g, (m) => '\\' + m).replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t') + '"';
}

/** Typed access to parsed values. */
export function str(v: MiValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function tuple(v: MiValue | undefined): MiTuple | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

export function list(v: MiValue | undefined): MiValue[] {
  if (Array.isArray(v)) return v;
  // gdb writes a one-element list as a bare tuple in a few places.
  return v === undefined ? [] : [v];
}
