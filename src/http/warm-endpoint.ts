/**
 * `POST /admin/warm`: a CI pipeline warms the mirror cache for the images it is about to use.
 * Body: `{"images": ["docker.io/library/alpine:3.20", ...], "platforms": ["linux/amd64"]}` (at most 64 KiB).
 * The caller must hold push on every repository named (checked by the registry's authorization hook, so with
 * access control an admin rule or a push rule grants it); the warm-up then pulls with the caller's credentials.
 * Answers 200 with the warm-up report as JSON once it is done.
 */
import { RegistryError } from '../errors.ts';
import { parseImageRef } from '../layout/image-ref.ts';
import { warmImages, type FetchLike, type WarmReport } from '../lifecycle/warm.ts';
import type { Logger } from '../logger.ts';
import { enforce, type Authorize } from './auth.ts';
import { errorResponse, json } from './responses.ts';

/** The request path. */
export const WARM_PATH = '/admin/warm';
const MAX_BODY = 64 * 1024;
const MAX_IMAGES = 100;

/** Settings of the endpoint. */
export interface WarmEndpointOptions {
  /** Where the warm-up pulls from: the registry's own fetch. */
  fetch: FetchLike;
  authorize?: Authorize;
  /** Platforms when the request names none. */
  platforms?: string[];
  concurrency?: number;
  logger: Logger;
}

/** Builds the handler. */
export function warmEndpoint(options: WarmEndpointOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    try {
      if (request.method !== 'POST') throw new RegistryError('UNSUPPORTED', `${WARM_PATH} takes POST`, { status: 405 });
      const { images, platforms } = parseBody(await readBody(request));
      for (const repository of new Set(images.map((i) => parseImageRef(i)!.repository))) {
        await enforce(options.authorize, { request, repository, action: 'push', mirrored: true });
      }
      const authorization = request.headers.get('authorization');
      const report: WarmReport = await warmImages(options.fetch, images, {
        platforms: platforms ?? options.platforms,
        concurrency: options.concurrency,
        headers: authorization ? { Authorization: authorization } : {},
      });
      options.logger.info('warm-up finished', { images: report.images, fetchedBytes: report.fetchedBytes, cachedBytes: report.cachedBytes, failures: report.failures.length });
      return json(report);
    } catch (error) {
      if (!(error instanceof RegistryError)) options.logger.error('warm-up failed', { error });
      return errorResponse(error, request.method);
    }
  };
}

async function readBody(request: Request): Promise<string> {
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body) {
      size += chunk.byteLength;
      if (size > MAX_BODY) throw tooLarge();
      chunks.push(chunk);
    }
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function tooLarge(): RegistryError {
  return new RegistryError('SIZE_INVALID', `a warm-up request is at most ${MAX_BODY} bytes`, { status: 413 });
}

function parseBody(text: string): { images: string[]; platforms?: string[] } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid('the body must be JSON: {"images": ["repo:tag", ...], "platforms": ["linux/amd64"]}');
  }
  const { images, platforms } = (body ?? {}) as { images?: unknown; platforms?: unknown };
  if (!Array.isArray(images) || images.length === 0 || images.length > MAX_IMAGES) throw invalid(`"images" must list 1..${MAX_IMAGES} image references`);
  for (const image of images) if (typeof image !== 'string' || !parseImageRef(image)) throw invalid(`"${String(image).slice(0, 100)}" is not an image reference (repo:tag or repo@digest)`);
  if (platforms !== undefined && (!Array.isArray(platforms) || platforms.length > 32 || platforms.some((p) => typeof p !== 'string' || !/^[a-z0-9]{1,32}\/[a-z0-9]{1,32}(?:\/[a-z0-9.]{1,16})?$/.test(p)))) {
    throw invalid('"platforms" must list os/arch[/variant] values');
  }
  return platforms === undefined ? { images: images as string[] } : { images: images as string[], platforms: platforms as string[] };
}

function invalid(message: string): RegistryError {
  return new RegistryError('UNSUPPORTED', message, { status: 400 });
}
