import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built bundle as a user runs it, in a pseudo-terminal (script(1)): which of Node's own
// modules an Ink screen loads. Yoga's loader would fetch() its inlined WebAssembly when a global
// fetch exists, loading undici (and http, http2, tls, zlib) at every start; the build shadows
// fetch in that one file (scripts/build.mjs).
const bin = new URL('../../bin/lvs-setup.cjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lvs-ink-start-'));
const preload = join(dir, 'modules.cjs');
const list = join(dir, 'modules.txt');

beforeAll(() => {
  if (!existsSync(new URL('../../dist/lvs-setup.js', import.meta.url))) {
    spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  }
  writeFileSync(
    preload,
    `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('an Ink screen from the bundle', () => {
  it('draws the monitor and quits on q without loading fetch (undici) or http', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
    delete env.CI; // Ink draws nothing until exit under CI
    const command = `stty cols 120 rows 40; exec ${process.execPath} -r ${preload} ${bin} monitor --demo`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const drawn = await new Promise<boolean>((resolve) => {
      const deadline = setTimeout(() => resolve(false), 20_000);
      const look = setInterval(() => {
        if (out.includes('lvs-setup monitor') && out.includes('q quit')) {
          clearTimeout(deadline);
          clearInterval(look);
          resolve(true);
        }
      }, 50);
    });
    child.stdin.write('q');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    expect(drawn, out.slice(-2000)).toBe(true);
    expect(code).toBe(0);
    // Until the first frame one plain line says the monitor is reading; it is erased right
    // before Ink draws, so the frame starts where the line was and nothing of it stays.
    const notice = out.indexOf('lvs-setup monitor: reading IPVS…');
    const erase = out.indexOf('\r\u001b[2K', notice);
    expect(notice).toBeGreaterThanOrEqual(0);
    expect(erase).toBeGreaterThan(notice);
    expect(out.indexOf('q quit')).toBeGreaterThan(erase);
    const modules = readFileSync(list, 'utf8').split('\n');
    expect(modules).toContain('NativeModule tty');
    expect(modules.filter((m) => /undici|NativeModule (http|http2|tls|zlib)$/.test(m))).toEqual([]);
  }, 40_000);
});
