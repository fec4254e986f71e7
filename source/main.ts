import { main } from './cli.js';

// `lvs-setup --help | head`: the reader went away, so stop quietly (as cat and grep do) instead
// of dying on an unhandled EPIPE with a stack trace. Other write errors are still thrown.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

// The entry point of the bundle and of `npm start`: nothing else runs on import.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `lvs-setup: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
