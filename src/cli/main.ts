/** The `marina` command: dispatches to subcommands. */
import { VERSION } from './version.ts';

const HELP = `marina ${VERSION} — a fast OCI container registry

Usage: marina <command> [options]

Commands:
  serve        run the registry over HTTP (default address 127.0.0.1:5000, data in ./data)
  cache        list or prune the pull-through mirror cache (ls | prune)
  gc           remove unreferenced blobs from a data directory
  fsck         check a data directory's index against its blobs (and --repair)
  bench        benchmark any OCI registry (pulls, pushes, listings; Markdown/JSON/SVG report)
  import       load an OCI image layout into a data directory, verified by digest
  retention    apply the retention rules once (run [--dry-run])
  usage        storage used per repository against its quota
  version      print the version

Run 'marina <command> --help' for a command's options.
`;

// A command resolves to its exit status, or to nothing for 0. Each loads its own code when run, so `serve` starts
// without the others' modules.
const COMMANDS: Record<string, (argv: string[]) => Promise<void | number>> = {
  serve: async (argv) => (await import('./serve.ts')).serve(argv),
  cache: async (argv) => (await import('./cache.ts')).cache(argv),
  gc: async (argv) => (await import('./gc.ts')).gc(argv),
  fsck: async (argv) => (await import('./fsck.ts')).fsck(argv),
  bench: async (argv) => (await import('./bench.ts')).bench(argv),
  import: async (argv) => (await import('./import.ts')).importCommand(argv),
  retention: async (argv) => (await import('./retention.ts')).retention(argv),
  usage: async (argv) => (await import('./usage.ts')).usage(argv),
  version: async (argv) => void process.stdout.write(argv.includes('--help') || argv.includes('-h') ? 'Usage: marina version\n\nPrints the version.\n' : `${VERSION}\n`),
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`marina: unknown command '${command}'\n\n${HELP}`);
    return 2;
  }
  try {
    return (await run(rest)) ?? 0;
  } catch (error) {
    process.stderr.write(`marina ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

// No top-level await: the bytecode bundle (`npm run build`) is CommonJS.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
