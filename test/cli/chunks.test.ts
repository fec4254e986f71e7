import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The bundle's loading order, read from the built files (npm test builds first): what the
 * wizard's first frame waits for is the entry, the wizard command's chunk and the boot screen's
 * chunk with everything they import statically. The lab-file schema (zod), YAML, the command
 * runner (execa) and systeminformation must stay out of it: they load behind the first frame.
 */
const dist = fileURLToPath(new URL('../../dist', import.meta.url));
const built = existsSync(join(dist, 'lvs-setup.js'));

function files(): Map<string, string> {
  const m = new Map<string, string>();
  m.set('lvs-setup.js', readFileSync(join(dist, 'lvs-setup.js'), 'utf8'));
  for (const f of readdirSync(join(dist, 'chunks')))
    if (f.endsWith('.js')) m.set(`chunks/${f}`, readFileSync(join(dist, 'chunks', f), 'utf8'));
  return m;
}

/** Static imports only (`import x from"./a.js"`, `import"./a.js"`), not `import("./a.js")`. */
function staticImports(name: string, code: string): string[] {
  const dir = name.includes('/') ? 'chunks/' : '';
  return [...code.matchAll(/\bimport\s*(?:[\w$*{}\s,]*?from\s*)?"\.\/([^"]+)"/g)].map((m) =>
    `${dir}${m[1]}`.replace(/^chunks\/chunks\//, 'chunks/'),
  );
}

function closure(all: Map<string, string>, roots: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...roots];
  while (todo.length) {
    const f = todo.pop() as string;
    if (seen.has(f)) continue;
    seen.add(f);
    const code = all.get(f);
    if (code === undefined) throw new Error(`${f} is imported but not built`);
    todo.push(...staticImports(f, code));
  }
  return seen;
}

const holding = (all: Map<string, string>, text: string) =>
  [...all].filter(([, code]) => code.includes(text)).map(([f]) => f);

describe.skipIf(!built)('the bundle: what the wizard first frame loads', () => {
  it('reaches Ink and the boot screen without zod, yaml, execa or systeminformation', () => {
    const all = files();
    const [wizard] = holding(all, 'the wizard needs an interactive terminal');
    const [boot] = holding(all, "the wizard's screens did not load");
    expect(wizard).toBeDefined();
    expect(boot).toBeDefined();
    const first = closure(all, ['lvs-setup.js', wizard as string, boot as string]);
    // the walk works: the boot screen's closure includes Ink's renderer
    expect([...first].some((f) => all.get(f)?.includes('Raw mode is not supported'))).toBe(true);
    for (const marker of ['ZodError', 'YAMLParseError', 'ExecaError', 'systeminformation']) {
      const where = holding(all, marker);
      expect(where.length, `${marker} is in no chunk: the marker is stale`).toBeGreaterThan(0);
      expect(
        where.filter((f) => first.has(f)),
        `${marker} loads before the first frame`,
      ).toEqual([]);
    }
  });
});
