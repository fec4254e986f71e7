import chalk, { type ChalkInstance } from 'chalk';
import { Text, Transform } from 'ink';

/**
 * One line of text whose content changes every frame, drawn without feeding Ink new strings.
 *
 * Ink 6 measures every text node through a module-level cache keyed by the full text and never
 * evicts it (vadimdemedes/ink#986), so a monitor that redraws changing numbers each second would
 * grow by every frame it ever drew. Here Ink lays out a placeholder of the same width ('x'
 * repeated, so the same few strings come back every frame) and a <Transform> swaps the real
 * characters in, one for one, around the colour codes when the line is written. Measuring ASCII
 * is also much cheaper than measuring block characters (string-width's slow path).
 *
 * Only for text whose characters are each one column wide; anything else is drawn as plain Text.
 */

export interface Segment {
  text: string;
  color?: string | undefined;
  bold?: boolean | undefined;
  dimColor?: boolean | undefined;
  inverse?: boolean | undefined;
}

export interface LineStyle {
  color?: string | undefined;
  bold?: boolean | undefined;
  dimColor?: boolean | undefined;
  inverse?: boolean | undefined;
  underline?: boolean | undefined;
}

/** ASCII, box drawing, blocks, arrows and the few symbols the monitor prints: all one column. */
const NARROW = /^[\x20-\x7e\u2026\u203a\u2190-\u2193\u2500-\u259f\u25b2\u25bc]*$/;
/** An SGR colour/style sequence (ESC is matched on purpose), or a run of visible characters. */
// eslint-disable-next-line no-control-regex
const TOKENS = /\u001b\[[0-9;]*m|[^\u001b]+/g;

/** Put `text` in place of the visible characters of `line`, keeping its escape sequences. */
export function substitute(line: string, text: string): string {
  let k = 0;
  return line.replace(TOKENS, (token) => {
    if (token.charCodeAt(0) === 0x1b) return token;
    const part = text.slice(k, k + token.length);
    k += token.length;
    return part.padEnd(token.length);
  });
}

/** Cut the segments so the line fits `width` columns (Ink's own truncation would cut the placeholder). */
export function fitSegments(segments: readonly Segment[], width: number): Segment[] {
  const out: Segment[] = [];
  let left = width;
  for (const s of segments) {
    if (left <= 0) break;
    if (s.text.length === 0) continue;
    const text = s.text.length > left ? `${s.text.slice(0, Math.max(0, left - 1))}…` : s.text;
    out.push({ ...s, text });
    left -= text.length;
  }
  return out;
}

const styled = (s: Segment) => s.color !== undefined || s.bold || s.dimColor || s.inverse;

export function FixedLine({
  segments,
  width,
  ...style
}: { segments: readonly Segment[]; width: number } & LineStyle) {
  const parts = fitSegments(segments, width);
  if (parts.length === 0) return <Text> </Text>;
  if (!parts.every((p) => NARROW.test(p.text))) {
    return (
      <Text wrap="truncate" {...style}>
        {parts.map((p, i) =>
          styled(p) ? (
            <Text key={i} color={p.color} bold={p.bold} dimColor={p.dimColor} inverse={p.inverse}>
              {p.text}
            </Text>
          ) : (
            p.text
          ),
        )}
      </Text>
    );
  }
  const placeholders = parts.map((p) => 'x'.repeat(p.text.length));
  const real = parts.map((p) => p.text).join('');
  const transform = (line: string) => substitute(line, real);
  return (
    <Transform transform={transform}>
      <Text wrap="truncate" {...style}>
        {parts.map((p, i) =>
          styled(p) ? (
            <Text key={i} color={p.color} bold={p.bold} dimColor={p.dimColor} inverse={p.inverse}>
              {placeholders[i]}
            </Text>
          ) : (
            placeholders[i]
          ),
        )}
      </Text>
    </Transform>
  );
}

/** A line of a FixedBlock: its segments and the style of the whole line. */
export interface BlockLine extends LineStyle {
  segments: readonly Segment[];
}

type Painter = (text: string) => string;

/** Chalk (the instance Ink colours with, so the same colour level) for one style. */
function painter(style: LineStyle): Painter | null {
  let c: ChalkInstance = chalk;
  let any = false;
  const add = (next: ChalkInstance | undefined) => {
    if (typeof next !== 'function') return;
    c = next;
    any = true;
  };
  // Ink's <Text> order: dim, colour, bold, underline, inverse.
  if (style.dimColor) add(c.dim);
  if (style.color !== undefined)
    add((c as unknown as Record<string, ChalkInstance | undefined>)[style.color]);
  if (style.bold) add(c.bold);
  if (style.underline) add(c.underline);
  if (style.inverse) add(c.inverse);
  return any ? (text) => c(text) : null;
}

/** The finished line as the terminal shows it (text and colour codes), from its fitted segments. */
function paintLine(line: LineStyle, parts: readonly Segment[]): string {
  const inner = parts.map((s) => painter(s)?.(s.text) ?? s.text).join('');
  return painter(line)?.(inner) ?? inner;
}

type Run =
  { kind: 'block'; placeholder: string; painted: string[] } | { kind: 'line'; line: BlockLine };

/** Consecutive one-column lines form blocks; any other line is drawn on its own. */
export function blockRuns(lines: readonly BlockLine[], width: number): Run[] {
  const runs: Run[] = [];
  let block: { placeholder: string[]; painted: string[] } | null = null;
  const flush = () => {
    if (block)
      runs.push({
        kind: 'block',
        placeholder: block.placeholder.join('\n'),
        painted: block.painted,
      });
    block = null;
  };
  for (const line of lines) {
    const parts = fitSegments(line.segments, width);
    if (!parts.every((p) => NARROW.test(p.text))) {
      flush();
      runs.push({ kind: 'line', line });
      continue;
    }
    const length = parts.reduce((n, p) => n + p.text.length, 0);
    block ??= { placeholder: [], painted: [] };
    // At least one column: Ink draws nothing for an empty line, and the index must still count it.
    block.placeholder.push('x'.repeat(Math.max(1, length)));
    block.painted.push(length === 0 ? ' ' : paintLine(line, parts));
  }
  flush();
  return runs;
}

/**
 * Many FixedLines as one Ink text node: Ink lays out an unstyled placeholder of the same line
 * lengths (so its never-evicted measuring cache sees the same few strings whatever the numbers,
 * the selection or the colours), and one <Transform> puts each finished, coloured line in place
 * of its placeholder when the frame is written. A screen of 50 rows is then three React fibers
 * and two Ink nodes instead of five fibers and two Yoga nodes a row: measured in a TCG guest,
 * building and laying out those nodes was most of the monitor's start-up.
 */
export function FixedBlock({ lines, width }: { lines: readonly BlockLine[]; width: number }) {
  const runs = blockRuns(lines, width);
  return (
    <>
      {runs.map((run, i) => {
        if (run.kind === 'line') {
          const { segments, ...style } = run.line;
          return <FixedLine key={i} width={width} segments={segments} {...style} />;
        }
        const painted = run.painted;
        return (
          <Transform key={i} transform={(line, index) => painted[index] ?? line}>
            <Text>{run.placeholder}</Text>
          </Transform>
        );
      })}
    </>
  );
}
