import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;

describe('the npm package', () => {
  it('packs into one bundle with no dependencies and runs through npx with an empty cache', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-pack-'));
    const pack = spawnSync('npm', ['pack', '--pack-destination', dir], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(pack.status, pack.stderr).toBe(0);
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    expect(tgz).toBeDefined();
    // A bundle plus a launcher: a few hundred KB, not a 29 MB dependency tree.
    expect(statSync(join(dir, tgz ?? '')).size).toBeLessThan(1024 * 1024);
    const cache = mkdtempSync(join(tmpdir(), 'lvs-npm-cache-'));
    const run = spawnSync('npx', ['--yes', `./${tgz}`, '--version'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NPM_CONFIG_CACHE: cache, NPM_CONFIG_UPDATE_NOTIFIER: 'false' },
      timeout: 120000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  }, 180000);
});
