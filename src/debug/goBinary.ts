// What a Go executable tells about itself, read from its ELF sections: that it
// is Go (.go.buildinfo or the Go build id note), the Go version it was built
// with, and the source files it was built from (the file table of .gopclntab,
// which records the build machine's absolute paths). Only byte ranges are
// read, through a reader, so the same code serves /proc/<pid>/exe and a file
// fetched from the container. Pure: no vscode, no engine.

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type ByteReader = (offset: number, length: number) => Promise<Buffer>;

export interface GoBinaryInfo {
  /** The file is an ELF executable. */
  elf: boolean;
  /** It was built by the Go toolchain. */
  go: boolean;
  /** e.g. `go1.19.8`, when the build info records it. */
  version?: string;
  /** Source files as recorded at build time (absolute paths on the build machine). */
  files: string[];
}

interface Section {
  name: string;
  offset: number;
  size: number;
}

/** A reader over a buffer already in memory (a file fetched whole). */
export function bufferReader(buf: Uint8Array): ByteReader {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return async (offset, length) => b.subarray(offset, Math.min(b.length, offset + length));
}

// Section tables and file tables beyond these sizes are not what a Go toolchain writes.
const MAX_SECTIONS = 4096;
const MAX_FILETAB = 64 * 1024 * 1024;

export async function readGoBinary(read: ByteReader): Promise<GoBinaryInfo> {
  const head = await read(0, 64);
  if (head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) return { elf: false, go: false, files: [] };
  const is64 = head[4] === 2;
  const le = head[5] !== 2;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (b: Buffer, o: number, size: number) => (size === 8 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));

  const shoff = is64 ? word(head, 0x28, 8) : u32(head, 0x20);
  const shentsize = u16(head, is64 ? 0x3a : 0x2e);
  const shnum = u16(head, is64 ? 0x3c : 0x30);
  const shstrndx = u16(head, is64 ? 0x3e : 0x32);
  if (!shoff || !shnum || shnum > MAX_SECTIONS || shstrndx >= shnum || shentsize < (is64 ? 0x28 : 0x18)) return { elf: true, go: false, files: [] };
  const table = await read(shoff, shnum * shentsize);
  if (table.length < shnum * shentsize) return { elf: true, go: false, files: [] };
  const raw = Array.from({ length: shnum }, (_, i) => {
    const o = i * shentsize;
    return is64
      ? { name: u32(table, o), offset: word(table, o + 0x18, 8), size: word(table, o + 0x20, 8) }
      : { name: u32(table, o), offset: u32(table, o + 0x10), size: u32(table, o + 0x14) };
  });
  const strtab = raw[shstrndx]!;
  const names = await read(strtab.offset, Math.min(strtab.size, 1 << 20));
  const sections: Section[] = raw.map((s) => {
    const end = names.indexOf(0, s.name);
    return { name: names.toString('latin1', s.name, end < 0 ? names.length : end), offset: s.offset, size: s.size };
  });
  const find = (name: string) => sections.find((s) => s.name === name);

  const buildinfo = find('.go.buildinfo');
  const go = !!(buildinfo || find('.note.go.buildid') || find('.gopclntab'));
  if (!go) return { elf: true, go: false, files: [] };
  const version = buildinfo ? await readVersion(read, buildinfo) : undefined;
  const pcln = find('.gopclntab');
  const files = pcln ? await readFileTable(read, pcln, le) : [];
  return { elf: true, go: true, version, files };
}

/** Go 1.18+ puts the version right after the 32-byte header, as a varint-prefixed string. */
async function readVersion(read: ByteReader, s: Section): Promise<string | undefined> {
  const b = await read(s.offset, Math.min(s.size, 64 + 256));
  if (b.toString('latin1', 0, 14) !== '\xff Go buildinf:' || !(b[15]! & 2)) return undefined;
  let len = 0;
  let shift = 0;
  let i = 32;
  for (; i < b.length; i++) {
    len |= (b[i]! & 0x7f) << shift;
    shift += 7;
    if (!(b[i]! & 0x80)) break;
  }
  const v = b.toString('latin1', i + 1, i + 1 + len);
  return /^go[0-9][\w.+-]*$/.test(v) ? v : undefined;
}

/**
 * The file table of a Go 1.16+ pclntab: NUL-terminated strings between the
 * header's filetab and pctab offsets. Older layouts answer no files (the
 * debugger still works; only the path inference has nothing to go on).
 */
async function readFileTable(read: ByteReader, s: Section, le: boolean): Promise<string[]> {
  const h = await read(s.offset, 8 + 8 * 8);
  if (h.length < 16) return [];
  const magic = le ? h.readUInt32LE(0) : h.readUInt32BE(0);
  const ptr = h[7]!;
  if (ptr !== 4 && ptr !== 8) return [];
  const at = (i: number) => {
    const o = 8 + i * ptr;
    return ptr === 8 ? Number(le ? h.readBigUInt64LE(o) : h.readBigUInt64BE(o)) : le ? h.readUInt32LE(o) : h.readUInt32BE(o);
  };
  let filetab: number;
  let pctab: number;
  if (magic === 0xfffffffa) {
    // Go 1.16-1.17: nfunc, nfiles, funcname, cu, filetab, pctab, pcln.
    filetab = at(4);
    pctab = at(5);
  } else if (magic === 0xfffffff0 || magic === 0xfffffff1) {
    // Go 1.18+: nfunc, nfiles, textStart, funcname, cu, filetab, pctab, pcln.
    filetab = at(5);
    pctab = at(6);
  } else {
    return [];
  }
  if (!(filetab > 0 && pctab > filetab && pctab <= s.size && pctab - filetab <= MAX_FILETAB)) return [];
  const tab = await read(s.offset + filetab, pctab - filetab);
  return [...new Set(tab.toString('utf8').split('\0').filter((f) => f.length > 0))];
}

/** One delve substitutePath rule: `from` is the editor's path prefix, `to` the path the binary records. */
export interface SubstitutePath {
  from: string;
  to: string;
}

const posixParts = (p: string) => p.split('/').filter(Boolean);

/**
 * The binary's own sources: absolute paths outside GOROOT (found from where
 * runtime/proc.go lives) and outside the module cache, which a workspace does
 * not hold.
 */
export function projectFiles(files: string[]): string[] {
  const runtime = files.find((f) => f.endsWith('/src/runtime/proc.go'));
  const goroot = runtime?.slice(0, -'/src/runtime/proc.go'.length);
  return files.filter((f) => f.startsWith('/') && f.endsWith('.go') && !(goroot && f.startsWith(`${goroot}/`)) && !f.includes('/pkg/mod/'));
}

/**
 * substitutePath rules from the user's sourceFileMap (build prefix -> editor
 * prefix), else inferred: an editor file (one with breakpoints, or open) and
 * a binary file with the same name map their folders above the longest common
 * tail (`/ws/svc/main.go` and `/build/svc/main.go` give `/ws` -> `/build`);
 * then each workspace folder that holds one of the binary's files under the
 * same relative path. Most specific first, as delve takes the first match.
 */
export function substitutePaths(o: {
  sourceFileMap?: Record<string, string>;
  binaryFiles: string[];
  editorFiles?: string[];
  folders?: string[];
  exists?: (p: string) => boolean;
}): SubstitutePath[] {
  const rules: SubstitutePath[] = [];
  const add = (from: string, to: string) => {
    const r = { from: from.length > 1 ? from.replace(/\/+$/, '') : from, to: to.length > 1 ? to.replace(/\/+$/, '') : to };
    if (!rules.some((x) => x.from === r.from || x.to === r.to)) rules.push(r);
  };
  for (const [remote, local] of Object.entries(o.sourceFileMap ?? {})) add(local, remote);
  const own = projectFiles(o.binaryFiles);
  for (const local of o.editorFiles ?? []) {
    const lp = posixParts(local);
    let best: { common: number; remote: string[] } | undefined;
    for (const remote of own) {
      const rp = posixParts(remote);
      let common = 0;
      while (common < lp.length && common < rp.length && lp[lp.length - 1 - common] === rp[rp.length - 1 - common]) common++;
      if (common > 0 && (!best || common > best.common)) best = { common, remote: rp };
    }
    if (best && best.common < lp.length && best.common < best.remote.length) {
      add(`/${lp.slice(0, lp.length - best.common).join('/')}`, `/${best.remote.slice(0, best.remote.length - best.common).join('/')}`);
    }
  }
  if (o.exists) {
    for (const folder of o.folders ?? []) {
      // The longest relative path the folder holds wins: it pins the mapping down best.
      let best: { rel: number; to: string } | undefined;
      for (const remote of own) {
        const rp = posixParts(remote);
        for (let i = 1; i < rp.length; i++) {
          if (best && rp.length - i <= best.rel) break;
          if (o.exists(`${folder.replace(/\/+$/, '')}/${rp.slice(i).join('/')}`)) {
            best = { rel: rp.length - i, to: `/${rp.slice(0, i).join('/')}` };
            break;
          }
        }
      }
      if (best) add(folder, best.to);
    }
  }
  return rules.sort((a, b) => b.from.length - a.from.length);
}
