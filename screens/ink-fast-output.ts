/**
 * A faster, equivalent `get()` for Ink's Output (ink 6.8, build/output.js).
 *
 * Ink draws every frame into a grid of cell objects: it tokenizes each written line into styled
 * characters (@alcalzone/ansi-tokenize), places them, and turns each row back into a string.
 * For the monitor (160×50, redrawn every second and on every key) that step is most of a frame:
 * ~25 ms of ~30 on the build machine, measured by bench/monitor.ts. This `get()` gives the same
 * string, byte for byte (test/screens/ink-fast-output.test.ts compares the two on random
 * screens), with less work:
 * - a line's styled characters are kept from one frame to the next (a key press redraws the same
 *   lines), and a line of plain printable ASCII is split without the tokenizer, into shared cells;
 * - a row made of the same writes as a row of an earlier frame reuses that row's string;
 * - a row without styles is joined directly; blank cells are one shared object.
 * Ink's stock get() is kept (`stockGet`) and used when a write has transformers (Ink's
 * Transform component), whose output cannot be cached by its input.
 *
 * installFastOutput() patches Output.prototype; only the monitor calls it.
 */
import {
  styledCharsFromTokens,
  styledCharsToString,
  tokenize,
  type StyledChar,
} from '@alcalzone/ansi-tokenize';
import sliceAnsi from 'slice-ansi';
import stringWidth from 'string-width';
import { BoundedMemo } from '../source/monitor/memo.js';
// Ink's own module instance (its package exports only the entry point): the same file Ink's
// renderer imports, so patching its prototype changes what Ink draws with.
import Output from '../node_modules/ink/build/output.js';

type Clip = {
  x1?: number | undefined;
  x2?: number | undefined;
  y1?: number | undefined;
  y2?: number | undefined;
};
type Transformer = (line: string, index: number) => string;
type Operation =
  | { type: 'write'; x: number; y: number; text: string; transformers: Transformer[] }
  | { type: 'clip'; clip: Clip }
  | { type: 'unclip' };

interface OutputInternals {
  width: number;
  height: number;
  operations: Operation[];
}

type GetResult = { output: string; height: number };

/** Ink's own get(), as shipped. */
export const stockGet: (this: Output) => GetResult = Output.prototype.get;

const BLANK: StyledChar = { type: 'char', value: ' ', fullWidth: false, styles: [] };

/** One shared cell per printable ASCII character, unstyled. */
const ASCII: StyledChar[] = [];
for (let c = 0x20; c < 0x7f; c++)
  ASCII[c] = { type: 'char', value: String.fromCharCode(c), fullWidth: false, styles: [] };

interface Line {
  chars: StyledChar[];
  /** Printed width of each char (Ink: max(1, string-width)). */
  widths: number[] | null; // null: all 1
}

function isPlainAscii(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

const widths = new BoundedMemo<number>(20_000);
const charWidth = (value: string) => widths.get(value, (v) => Math.max(1, stringWidth(v)));

const lines = new BoundedMemo<Line>(8_000);
function lineOf(text: string): Line {
  return lines.get(text, (t) => {
    if (isPlainAscii(t)) {
      const chars = new Array<StyledChar>(t.length);
      for (let i = 0; i < t.length; i++) chars[i] = ASCII[t.charCodeAt(i)] ?? BLANK;
      return { chars, widths: null };
    }
    const chars = styledCharsFromTokens(tokenize(t));
    const w = chars.map((c) => charWidth(c.value));
    return { chars, widths: w.every((x) => x === 1) ? null : w };
  });
}

const blockWidths = new BoundedMemo<number>(8_000);
const widestLine = (text: string) =>
  blockWidths.get(text, (t) => {
    let max = 0;
    for (const line of t.split('\n')) max = Math.max(max, stringWidth(line));
    return max;
  });

const rowStrings = new BoundedMemo<string>(4_000);

function rowToString(cells: readonly StyledChar[]): string {
  let plain = true;
  for (const c of cells) {
    if (c.styles.length > 0) {
      plain = false;
      break;
    }
  }
  if (!plain) return styledCharsToString(cells as StyledChar[]).trimEnd();
  let s = '';
  for (const c of cells) s += c.value;
  return s.trimEnd();
}

function fastGet(this: Output): GetResult {
  const self = this as unknown as OutputInternals;
  const { width, height, operations } = self;
  if (operations.some((o) => o.type === 'write' && o.transformers.length > 0)) {
    return stockGet.call(this);
  }
  // What is placed on each row, in order: [x, line text] pairs (after clipping).
  const placed: [number, string][][] = Array.from({ length: height }, () => []);
  const clips: Clip[] = [];
  for (const op of operations) {
    if (op.type === 'clip') {
      clips.push(op.clip);
      continue;
    }
    if (op.type === 'unclip') {
      clips.pop();
      continue;
    }
    const { text } = op;
    if (!text) continue;
    let { x, y } = op;
    let rows = text.split('\n');
    const clip = clips.at(-1);
    if (clip) {
      const clipH = typeof clip.x1 === 'number' && typeof clip.x2 === 'number';
      const clipV = typeof clip.y1 === 'number' && typeof clip.y2 === 'number';
      if (clipH) {
        const w = widestLine(text);
        if (x + w < (clip.x1 as number) || x > (clip.x2 as number)) continue;
      }
      if (clipV) {
        if (y + rows.length < (clip.y1 as number) || y > (clip.y2 as number)) continue;
      }
      if (clipH) {
        const x1 = clip.x1 as number;
        const x2 = clip.x2 as number;
        rows = rows.map((line) => {
          const from = x < x1 ? x1 - x : 0;
          const w = stringWidth(line);
          const to = x + w > x2 ? x2 - x : w;
          return sliceAnsi(line, from, to);
        });
        if (x < x1) x = x1;
      }
      if (clipV) {
        const y1 = clip.y1 as number;
        const y2 = clip.y2 as number;
        const from = y < y1 ? y1 - y : 0;
        const to = y + rows.length > y2 ? y2 - y : rows.length;
        rows = rows.slice(from, to);
        if (y < y1) y = y1;
      }
    }
    // As Ink does: the row moves down only after a line was placed, so a write that starts
    // outside the screen (above it, or below) places nothing at all.
    let offsetY = 0;
    for (const line of rows) {
      const row = placed[y + offsetY];
      if (!row) continue;
      row.push([x, line]);
      offsetY++;
    }
  }

  const out: string[] = new Array<string>(height);
  for (let y = 0; y < height; y++) {
    const writes = placed[y] ?? [];
    if (writes.length === 0) {
      out[y] = '';
      continue;
    }
    let key = `${width}`;
    for (const [x, text] of writes) key += `\u0000${x}\u0001${text}`;
    out[y] = rowStrings.get(key, () => {
      const cells: (StyledChar | undefined)[] = new Array<StyledChar>(width).fill(BLANK);
      for (const [x0, text] of writes) {
        const line = lineOf(text);
        let offsetX = x0;
        for (let i = 0; i < line.chars.length; i++) {
          const ch = line.chars[i] as StyledChar;
          cells[offsetX] = ch;
          const cw = line.widths ? (line.widths[i] ?? 1) : 1;
          for (let k = 1; k < cw; k++)
            cells[offsetX + k] = { type: 'char', value: '', fullWidth: false, styles: ch.styles };
          offsetX += cw;
        }
      }
      // Ink drops holes (a write past the end of a shorter array leaves undefined slots).
      return rowToString(cells.filter((c): c is StyledChar => c !== undefined));
    });
  }
  return { output: out.join('\n'), height };
}

/** Make Ink draw with fastGet (idempotent); `false` puts Ink's own back (the benchmark compares). */
export function installFastOutput(on = true): void {
  Output.prototype.get = on ? fastGet : stockGet;
}

/** For tests: the fast get() on any Output. */
export const fastOutputGet = fastGet;
export { Output };
