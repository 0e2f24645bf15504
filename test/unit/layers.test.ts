import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { REPO } from '../helpers/daemon.js';

/**
 * ARCHITECTURE.md's dependency order, highest first: a module imports only
 * from its own folder or from a folder ranked below it. Peers (backends,
 * crypt, relay) do not import each other.
 */
const RANK: Record<string, number> = {
  cli: 10,
  server: 9,
  doors: 8,
  auth: 7,
  backends: 6,
  crypt: 6,
  relay: 6,
  sql: 5,
  'log.ts': 4,
  'log-line.ts': 4,
  config: 3,
  net: 2,
  os: 2,
  protocol: 2,
  cdb: 2,
  'errors.ts': 1,
  'work-queue.ts': 1,
  'version.ts': 1,
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const SRC = join(REPO, 'src');
const layerOf = (file: string) => relative(SRC, file).split('/')[0]!;

test('no import in src/ runs back up the layers, type imports included', () => {
  const wrong: string[] = [];
  const files = sources(SRC);
  assert.ok(files.length > 50);
  for (const file of files) {
    const from = layerOf(file);
    assert.ok(from in RANK, `${relative(REPO, file)}: folder ${from} has no place in the order; add it to ARCHITECTURE.md and here`);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'));
      const to = layerOf(target);
      if (to === from) continue;
      if (!(RANK[to]! < RANK[from]!)) wrong.push(`${relative(REPO, file)} -> ${relative(REPO, target)}`);
    }
  }
  assert.deepEqual(wrong, []);
});
