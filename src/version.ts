import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The platform's version, from the nearest package.json above this file (sources and compiled output alike). */
function findVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if ((manifest.name === 'ai-eval-platform' || manifest.name === '@ai-eval-platform/evalctl') && manifest.version) return manifest.version;
    } catch {
      // no package.json here: keep climbing
    }
    if (dirname(dir) === dir) return '0.0.0';
  }
}

export const ENGINE_VERSION = findVersion();
