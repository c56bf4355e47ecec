// The shape of the code, checked on the compiled import graph (dist/, as Node loads it; type-only imports are gone):
// no import cycles in src/ and plugins/, plugins import nothing but the plugin API (and their own files), and files
// stay small. Run after `npm run build` (pretest does it).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'dist');

function filesUnder(dir: string, extension: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full, extension) : full.endsWith(extension) ? [full] : [];
  });
}

/** Every module specifier of a compiled ES module: static imports, re-exports and dynamic imports of literals. */
export function specifiersOf(source: string): string[] {
  const found = new Set<string>();
  const patterns = [/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.add(match[1]!);
  return [...found];
}

/** The compiled graph: file → the local files it imports (relative specifiers, resolved). */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const local = specifiersOf(readFileSync(file, 'utf8'))
      .filter((s) => s.startsWith('.'))
      .map((s) => path.resolve(path.dirname(file), s))
      .filter((target) => target.startsWith(DIST));
    graph.set(file, local);
  }
  return graph;
}

/** The cycles of a graph (one path per strongly connected component with more than one file, or a self-import). */
export function cyclesOf(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.reverse());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

const relative = (file: string): string => path.relative(DIST, file);

describe('import graph (compiled)', () => {
  const files = [...filesUnder(path.join(DIST, 'src'), '.js'), ...filesUnder(path.join(DIST, 'plugins'), '.js')];

  it('has been built', () => {
    expect(files.length, 'run `npm run build` first').toBeGreaterThan(50);
  });

  it('has no import cycles in src/ and plugins/', () => {
    const cycles = cyclesOf(importGraph(files)).map((cycle) => cycle.map(relative).join(' → '));
    expect(cycles).toEqual([]);
  });

  it('lets plugins import only the plugin API, their own files, Node built-ins and packages', () => {
    const pluginApi = path.join(DIST, 'src', 'plugin-api.js');
    const offences: string[] = [];
    for (const file of filesUnder(path.join(DIST, 'plugins'), '.js')) {
      const own = path.join(DIST, 'plugins', relative(file).split(path.sep)[1]!);
      for (const specifier of specifiersOf(readFileSync(file, 'utf8'))) {
        if (!specifier.startsWith('.')) {
          if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
          if (/^media-ingest(\/|$)/.test(specifier) && specifier !== 'media-ingest/plugin') offences.push(`${relative(file)} imports ${specifier}`);
          continue;
        }
        const target = path.resolve(path.dirname(file), specifier);
        if (target !== pluginApi && !target.startsWith(own + path.sep)) offences.push(`${relative(file)} imports ${path.relative(DIST, target)}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('finds a cycle when there is one (the check itself)', () => {
    const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']], ['e', ['e']]]);
    expect(cyclesOf(graph)).toEqual(expect.arrayContaining([['a', 'b', 'c'], ['e']]));
    expect(cyclesOf(graph)).toHaveLength(2);
    expect(specifiersOf(`import { a } from './a.js';\nexport * from "./b.js";\nimport './c.js';\nawait import('./d.js');`)).toEqual(
      expect.arrayContaining(['./a.js', './b.js', './c.js', './d.js']),
    );
  });
});

describe('file sizes', () => {
  const lines = (file: string): number => readFileSync(file, 'utf8').split('\n').length;

  it('keeps the engine facade (src/engine/ingest.ts) under 250 lines', () => {
    expect(lines(path.join(ROOT, 'src/engine/ingest.ts'))).toBeLessThan(250);
  });

  it('keeps every file in src/ at 350 lines or fewer', () => {
    const long = filesUnder(path.join(ROOT, 'src'), '.ts')
      .map((file) => ({ file: path.relative(ROOT, file), lines: lines(file) }))
      .filter((f) => f.lines > 350);
    expect(long).toEqual([]);
  });
});
