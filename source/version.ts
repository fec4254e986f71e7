import { readFileSync } from 'node:fs';

declare const __LVS_SETUP_VERSION__: string | undefined;

function fromPackageJson(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Set at build time by scripts/build.mjs; read from package.json when run from the sources. */
export const VERSION: string =
  typeof __LVS_SETUP_VERSION__ === 'string' ? __LVS_SETUP_VERSION__ : fromPackageJson();
