import { stripVTControlCharacters } from 'node:util';
import type { HostFacts, Nic } from '../../source/facts/types.js';
import { targetFacts } from '../../source/facts/target.js';

/** Facts of a host with these NICs (address "a.b.c.d/p" or none), as gatherFacts would give. */
export function factsWith(
  nics: Array<{ name: string; addr?: string; mac?: string; state?: string }>,
  options: { defaultDev?: string; gateway?: string; hostname?: string; ipvs?: boolean } = {},
): HostFacts {
  const base = targetFacts('rocky9', null);
  const list: Nic[] = [
    {
      name: 'lo',
      state: 'UNKNOWN',
      mac: null,
      addresses: [{ address: '127.0.0.1', prefix: 8, family: 'inet' }],
      linkType: 'loopback',
    },
    ...nics.map((n, i) => {
      const [address = '', prefix = '24'] = (n.addr ?? '').split('/');
      return {
        name: n.name,
        state: n.state ?? 'UP',
        mac: n.mac ?? `52:54:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`,
        addresses: n.addr ? [{ address, prefix: Number(prefix), family: 'inet' as const }] : [],
        linkType: 'ether',
      };
    }),
  ];
  return {
    ...base,
    source: 'live',
    hostname: options.hostname ?? 'lvs',
    nics: list,
    routes: {
      defaultGateway: options.gateway ?? null,
      defaultDev: options.defaultDev ?? null,
      routes: [],
    },
    ipvs: { available: options.ipvs ?? true, loaded: false, services: null },
    uid: 0,
  };
}

/** A fresh VM like the seed's director: two NICs, no addresses yet. */
export function seedDirectorFacts(): HostFacts {
  return factsWith([{ name: 'ens33' }, { name: 'ens37' }], { hostname: 'localhost' });
}

/** Poll until `check` holds (no fixed sleeps: a fixed pause loses keystrokes). */
export async function waitFor(check: () => boolean, what = 'condition', timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export const KEY = {
  up: '\u001b[A',
  down: '\u001b[B',
  right: '\u001b[C',
  left: '\u001b[D',
  enter: '\r',
  esc: '\u001b',
  backspace: '\u007f',
  tab: '\t',
  ctrlU: '\u0015',
  ctrlC: '\u0003',
} as const;

interface InkLike {
  lastFrame: () => string | undefined;
  stdin: { write: (s: string) => void };
}

/** The last frame as plain text (colours stripped). */
export function frame(inst: InkLike): string {
  return stripVTControlCharacters(inst.lastFrame() ?? '');
}

/** Wait until the frame matches. */
export async function waitForFrame(inst: InkLike, want: string | RegExp, timeoutMs = 10000) {
  await waitFor(
    () => (typeof want === 'string' ? frame(inst).includes(want) : want.test(frame(inst))),
    `a frame with ${String(want)}\n--- last frame ---\n${frame(inst)}`,
    timeoutMs,
  ).catch((e: Error) => {
    throw new Error(`${e.message.split('\n')[0]}\n--- last frame ---\n${frame(inst)}`);
  });
}

/** Send keys, then wait for the frame to show `want` (or merely to change). */
export async function press(inst: InkLike, keys: string, want?: string | RegExp) {
  const before = frame(inst);
  inst.stdin.write(keys);
  if (want !== undefined) await waitForFrame(inst, want);
  else
    await waitFor(
      () => frame(inst) !== before,
      `the frame to change after ${JSON.stringify(keys)}`,
    );
}

/**
 * Type text one key at a time, waiting for each character to show. A space shows only once
 * something follows it (Ink trims the end of a line), so it goes with the next character.
 */
export async function typeText(inst: InkLike, text: string) {
  for (const piece of text.match(/ *[^ ]| +$/g) ?? []) {
    for (const ch of piece) {
      const before = frame(inst);
      inst.stdin.write(ch);
      if (ch !== ' ')
        await waitFor(() => frame(inst) !== before, `the frame to change after typing ${ch}`);
    }
  }
}
