/**
 * Machine limits that bound every target, measured in the harness process (on the load core): SHA-256 speed of
 * Bun.CryptoHasher, and raw disk write + fsync speed. A push cannot beat either.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Profile } from '../config.ts';
import { Content } from '../data/content.ts';
import { median } from '../lib/stats.ts';
import { MiB } from '../lib/units.ts';

/** The measured limits. */
export interface Limits {
  /** Bun.CryptoHasher SHA-256, 1 MiB updates, MiB/s. */
  sha256MiBps: number;
  /** Sequential 8 MiB writes then one fsync, MiB/s. */
  diskWriteFsyncMiBps: number;
  /** Bytes hashed and written per repeat. */
  hashBytes: number;
  diskBytes: number;
}

/** Measures the limits (median of the profile's repeats). */
export function measureLimits(profile: Profile, workdir: string): Limits {
  const { hashBytes, diskBytes, repeats } = profile.limits;
  const block = new Content('limits', 8 * MiB).bytes();
  const hash: number[] = [];
  const disk: number[] = [];
  for (let r = 0; r < repeats; r++) {
    let t = performance.now();
    const h = new Bun.CryptoHasher('sha256');
    for (let at = 0; at < hashBytes; at += MiB) h.update(block.subarray(at % block.length, (at % block.length) + MiB));
    h.digest();
    hash.push(hashBytes / MiB / ((performance.now() - t) / 1000));

    const file = path.join(workdir, 'disk-limit.bin');
    t = performance.now();
    const fd = fs.openSync(file, 'w');
    for (let at = 0; at < diskBytes; at += block.length) {
      const part = block.subarray(0, Math.min(block.length, diskBytes - at));
      let off = 0;
      while (off < part.length) off += fs.writeSync(fd, part, off, part.length - off);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    disk.push(diskBytes / MiB / ((performance.now() - t) / 1000));
    fs.rmSync(file);
  }
  return { sha256MiBps: median(hash), diskWriteFsyncMiBps: median(disk), hashBytes, diskBytes };
}
