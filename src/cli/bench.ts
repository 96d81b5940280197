/** `marina bench <url>`: benchmarks any OCI registry with the scenarios of bench/ (see bench/remote/command.ts). */

/** Runs `marina bench`; a failed case or a usage error makes the command fail. */
export async function bench(argv: string[]): Promise<void> {
  // Loaded on demand: `serve` never pays for the benchmark's modules.
  const { benchCommand } = await import('../../bench/remote/command.ts');
  const code = await benchCommand(argv);
  if (code !== 0) process.exit(code);
}
