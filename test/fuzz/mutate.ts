// Deterministic mutations of media files for the fuzzer: bit flips, byte and integer rewrites, truncation, span
// duplication/deletion, MP4 box-size and box-field rewrites, Matroska size rewrites, and container swaps/splices.
// Everything is driven by a seeded PRNG, so (seed, index) always gives the same input.

/** mulberry32: a small, fast, seeded PRNG (uniform in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)]!;

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe];
const INTERESTING_U32 = [0, 1, 2, 7, 8, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 16000, 30000, 1_000_000];

/** One mutation: its name (for the corpus notes) and what it does. */
interface Mutator {
  name: string;
  apply(input: Buffer, rng: Rng, others: readonly Buffer[]): Buffer;
}

/** MP4/MOV boxes that contain other boxes. */
const MP4_CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'udta', 'edts', 'dinf', 'mvex', 'moof', 'traf']);

/** Offsets of every box header (size field) in an MP4, found by walking the box tree. */
export function mp4Boxes(data: Buffer): Array<{ offset: number; type: string; size: number }> {
  const boxes: Array<{ offset: number; type: string; size: number }> = [];
  const walk = (start: number, end: number, depth: number): void => {
    let at = start;
    while (at + 8 <= end && depth < 8 && boxes.length < 4096) {
      const size = data.readUInt32BE(at);
      const type = data.toString('latin1', at + 4, at + 8);
      if (!/^[\x20-\x7e]{4}$/.test(type)) return;
      const boxEnd = size === 0 ? end : at + size;
      if (size !== 0 && (size < 8 || boxEnd > end)) return;
      boxes.push({ offset: at, type, size });
      if (MP4_CONTAINERS.has(type)) walk(at + 8, boxEnd, depth + 1);
      if (type === 'stsd') walk(at + 16, boxEnd, depth + 1);
      at = boxEnd;
    }
  };
  walk(0, data.length, 0);
  return boxes;
}

const MUTATORS: Mutator[] = [
  {
    name: 'bitflip',
    apply(input, rng) {
      const out = Buffer.from(input);
      for (let n = 1 + int(rng, 8); n > 0 && out.length > 0; n--) out[int(rng, out.length)]! ^= 1 << int(rng, 8);
      return out;
    },
  },
  {
    name: 'byteset',
    apply(input, rng) {
      const out = Buffer.from(input);
      for (let n = 1 + int(rng, 4); n > 0 && out.length > 0; n--) out[int(rng, out.length)] = pick(rng, INTERESTING_BYTES);
      return out;
    },
  },
  {
    name: 'u32',
    apply(input, rng) {
      const out = Buffer.from(input);
      if (out.length < 4) return out;
      const at = int(rng, out.length - 3);
      const value = rng() < 0.7 ? pick(rng, INTERESTING_U32) : int(rng, 2 ** 32);
      if (rng() < 0.5) out.writeUInt32BE(value >>> 0, at);
      else out.writeUInt32LE(value >>> 0, at);
      return out;
    },
  },
  {
    name: 'truncate',
    apply(input, rng) {
      return input.subarray(0, Math.min(input.length, 16 + int(rng, Math.max(1, input.length - 16))));
    },
  },
  {
    name: 'span',
    apply(input, rng) {
      if (input.length < 32) return input;
      const start = int(rng, input.length);
      const length = 1 + int(rng, Math.min(4096, input.length - start));
      const span = input.subarray(start, start + length);
      const at = int(rng, input.length);
      return rng() < 0.5
        ? Buffer.concat([input.subarray(0, at), span, input.subarray(at)]) // duplicate
        : Buffer.concat([input.subarray(0, start), input.subarray(start + length)]); // delete
    },
  },
  {
    name: 'mp4-box-size',
    apply(input, rng) {
      const boxes = mp4Boxes(input);
      if (boxes.length === 0) return input;
      const box = pick(rng, boxes);
      const out = Buffer.from(input);
      const sizes = [0, 1, 7, 8, box.size - 1, box.size + 1, box.size * 2, 0x7fffffff, 0xffffffff];
      out.writeUInt32BE(pick(rng, sizes) >>> 0, box.offset);
      return out;
    },
  },
  {
    name: 'mp4-box-field',
    apply(input, rng) {
      // A field inside a sample-table, header or codec box: counts, sizes, dimensions, timescales.
      const boxes = mp4Boxes(input).filter((b) => ['tkhd', 'mdhd', 'mvhd', 'stsz', 'stts', 'stsc', 'stco', 'ctts', 'stss', 'avcC', 'esds', 'elst', 'hdlr', 'avc1', 'mp4v', 'mp4a', 'pasp'].includes(b.type));
      if (boxes.length === 0) return input;
      const box = pick(rng, boxes);
      const out = Buffer.from(input);
      const span = Math.max(4, Math.min(box.size, 96) - 4);
      const at = box.offset + 8 + 4 * int(rng, Math.floor((span - 8) / 4) + 1);
      if (at + 4 <= out.length) out.writeUInt32BE(pick(rng, INTERESTING_U32) >>> 0, at);
      return out;
    },
  },
  {
    name: 'ebml-size',
    apply(input, rng) {
      // Matroska: rewrite the size byte after an element id to another length class or a huge value.
      const ids = [Buffer.from([0x18, 0x53, 0x80, 0x67]), Buffer.from([0x16, 0x54, 0xae, 0x6b]), Buffer.from([0xae]), Buffer.from([0xe0]),
        Buffer.from([0xb0]), Buffer.from([0xba]), Buffer.from([0x1f, 0x43, 0xb6, 0x75]), Buffer.from([0xa3])];
      const id = pick(rng, ids);
      const hits: number[] = [];
      for (let at = input.indexOf(id); at >= 0 && hits.length < 64; at = input.indexOf(id, at + 1)) hits.push(at);
      if (hits.length === 0) return input;
      const out = Buffer.from(input);
      const at = pick(rng, hits) + id.length;
      if (at < out.length) out[at] = pick(rng, [0x01, 0x80, 0x81, 0xff, 0x40, 0x08, 0x10]);
      if (at + 1 < out.length && rng() < 0.5) out[at + 1] = pick(rng, INTERESTING_BYTES);
      return out;
    },
  },
  {
    name: 'container-swap',
    apply(input, rng, others) {
      // Another container's head (signature and headers) on this file's body.
      const other = pick(rng, others);
      const cut = 16 + int(rng, 2048);
      return Buffer.concat([other.subarray(0, Math.min(cut, other.length)), input.subarray(Math.min(cut, input.length))]);
    },
  },
  {
    name: 'splice',
    apply(input, rng, others) {
      const other = pick(rng, others);
      return Buffer.concat([input.subarray(0, int(rng, input.length + 1)), other.subarray(int(rng, other.length + 1))]);
    },
  },
];

/** One fuzz input: which seed file it came from and the mutations applied, in order. */
export interface FuzzInput {
  index: number;
  seedName: string;
  mutations: string[];
  bytes: Buffer;
}

/** The `index`-th input of run `seed`: 1-3 stacked mutations of one seed file. Deterministic. */
export function makeInput(seed: number, index: number, seeds: ReadonlyArray<{ name: string; bytes: Buffer }>): FuzzInput {
  const rng = prng((seed * 0x9e3779b1) ^ (index * 0x85ebca6b));
  const base = seeds[index % seeds.length]!;
  const others = seeds.map((s) => s.bytes);
  let bytes = base.bytes;
  const mutations: string[] = [];
  for (let n = 1 + int(rng, 3); n > 0; n--) {
    const mutator = pick(rng, MUTATORS);
    bytes = mutator.apply(bytes, rng, others);
    mutations.push(mutator.name);
  }
  return { index, seedName: base.name, mutations, bytes };
}
