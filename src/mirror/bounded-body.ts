/**
 * Limits on a body the mirror reads from an upstream: a byte cap, a whole-body deadline and a minimum transfer rate.
 * An upstream is a remote party like any client: a body that is endless, huge or trickled must end with a clear
 * error, never a stall or a full disk.
 */
import { RegistryError } from '../errors.ts';

/** The limits of one body; every field is optional. */
export interface BodyLimits {
  /** More bytes than this end the body with an error. */
  maxBytes?: number;
  /** The whole body must have arrived within this many ms of the response. */
  deadlineMs?: number;
  /** Below this rate over any `rateWindowMs` window the body is cut off (the body's end is exempt). */
  minBytesPerSecond?: number;
  /** @default 10000 */
  rateWindowMs?: number;
  /** Names the body in errors, e.g. "manifest of library/alpine". */
  what: string;
}

/**
 * An upstream answer the mirror refuses (a body too large or too slow, a realm or redirect it may not follow): a 502
 * whose message is the mirror's own words, never text the upstream chose.
 */
export class UpstreamRefusal extends RegistryError {
  /** @param retryable false when asking again cannot help (a blob larger than announced) */
  constructor(message: string, readonly retryable = true) {
    super('UNKNOWN', message, { status: 502 });
  }
}

/**
 * `body` under `limits`: the returned stream errors with an {@link UpstreamRefusal} (and cancels the source) as
 * soon as a limit is broken, even while the source sends nothing.
 */
export function boundBody(body: ReadableStream<Uint8Array>, limits: BodyLimits, onStop?: (reason: unknown) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const windowMs = limits.rateWindowMs ?? 10_000;
  let total = 0;
  let windowBytes = 0;
  let failed: UpstreamRefusal | undefined;
  let wake: ((reason: UpstreamRefusal) => void) | undefined;
  const timers: ReturnType<typeof setTimeout | typeof setInterval>[] = [];
  const clear = () => timers.forEach((t) => clearTimeout(t));
  const fail = (error: UpstreamRefusal) => {
    if (failed) return;
    failed = error;
    clear();
    wake?.(error);
    reader.cancel(error).catch(() => undefined);
    onStop?.(error);
  };
  if (limits.deadlineMs !== undefined) {
    timers.push(setTimeout(() => fail(new UpstreamRefusal(`${limits.what}: the body did not arrive within ${limits.deadlineMs} ms`)), limits.deadlineMs));
  }
  if (limits.minBytesPerSecond) {
    const floor = (limits.minBytesPerSecond * windowMs) / 1000;
    timers.push(
      setInterval(() => {
        if (windowBytes < floor) fail(new UpstreamRefusal(`${limits.what}: slower than ${limits.minBytesPerSecond} bytes/s over ${windowMs} ms`));
        windowBytes = 0;
      }, windowMs),
    );
  }
  for (const t of timers) (t as { unref?: () => void }).unref?.();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (failed) return controller.error(failed);
        const stopped = new Promise<never>((_, reject) => (wake = reject));
        stopped.catch(() => undefined);
        let result: Awaited<ReturnType<typeof reader.read>>;
        try {
          result = await Promise.race([reader.read(), stopped]);
        } catch (error) {
          clear();
          return controller.error(failed ?? error);
        } finally {
          wake = undefined;
        }
        // A cancel on failure ends the pending read as "done": that is a cut-off, not the body's end.
        if (failed) return controller.error(failed);
        if (result.done) {
          clear();
          return controller.close();
        }
        total += result.value.byteLength;
        windowBytes += result.value.byteLength;
        if (limits.maxBytes !== undefined && total > limits.maxBytes) {
          fail(new UpstreamRefusal(`${limits.what}: more than ${limits.maxBytes} bytes`));
          return controller.error(failed);
        }
        controller.enqueue(result.value);
      },
      cancel(reason) {
        clear();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Reads a bounded body whole (manifests, tokens, listings). */
export async function readBounded(body: ReadableStream<Uint8Array>, limits: BodyLimits): Promise<Uint8Array> {
  return new Uint8Array(await new Response(boundBody(body, limits)).arrayBuffer());
}
