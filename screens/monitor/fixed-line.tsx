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
