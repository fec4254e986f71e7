/** Text helpers for the monitor screen: human units, a share bar, a sparkline. Pure. */

const UNITS = ['', 'k', 'M', 'G', 'T', 'P'];

/** 0.4, 7, 950, 1.2k, 35k, 4.1M: about three significant digits, SI (powers of 1000 like ipvsadm). */
export function human(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  if (v < 1000) {
    const r = v < 10 && !Number.isInteger(v) ? v.toFixed(1) : String(Math.round(v));
    return sign + (r === '1000' ? '1.0k' : r);
  }
  let i = 0;
  while (v >= 999.5 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${sign}${v < 9.95 ? v.toFixed(1) : String(Math.round(v))}${UNITS[i]}`;
}

export function formatCount(n: number | null | undefined, exact: boolean): string {
  if (n === null || n === undefined) return '-';
  return exact ? String(Math.round(n)) : human(n);
}

export function formatBytes(n: number | null | undefined, exact: boolean): string {
  if (n === null || n === undefined) return '-';
  return exact ? String(Math.round(n)) : `${human(n)}B`;
}

const BLOCKS = '▁▂▃▄▅▆▇█';

/**
 * The samples squeezed into `width` cells (each cell the max of its bucket, so a spike is never
 * averaged away), scaled to the series' own maximum, right-aligned so the newest is at the edge.
 */
export function sparkline(values: readonly number[], width: number): string {
  if (width <= 0) return '';
  if (values.length === 0) return ' '.repeat(width);
  let cells: number[];
  if (values.length <= width) {
    cells = values.slice();
  } else {
    cells = [];
    const per = values.length / width;
    for (let i = 0; i < width; i++) {
      let max = 0;
      for (let j = Math.floor(i * per); j < Math.floor((i + 1) * per); j++)
        max = Math.max(max, values[j] ?? 0);
      cells.push(max);
    }
  }
  const top = Math.max(...cells);
  const line = cells
    .map((v) => (top <= 0 ? BLOCKS[0] : BLOCKS[Math.min(7, Math.round((v / top) * 7))]))
    .join('');
  return line.padStart(width);
}

export function shareBar(share: number, width: number): string {
  if (width <= 0) return '';
  const full = Math.max(0, Math.min(width, Math.round(share * width)));
  return '█'.repeat(full) + '░'.repeat(width - full);
}

/** Pad or cut to exactly `width` cells, with an ellipsis when cut. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  if (text.length > width) return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}

export function formatInterval(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export function formatClock(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
