import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../services/project-paths.ts';

/**
 * How the repository uses @spendline/emitter: by package name, resolved to
 * its TypeScript source through tsconfig.json's `paths` (tsc, tsx and vitest
 * read them), while the published package resolves the same names through
 * its `exports` to dist/. The two maps must name the same modules, and the
 * package must stand alone: nothing in its source may reach outside it.
 */

const PACKAGE_DIR = join(PROJECT_ROOT, 'packages/emitter');
const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, string | { types: string; default: string }>;
  dependencies: Record<string, string>;
};
const tsconfig = JSON.parse(readFileSync(join(PROJECT_ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []));
}

describe('@spendline/emitter in the repository', () => {
  it('maps every exported entry point to its source in tsconfig paths, and nothing else', () => {
    const fromExports = Object.entries(manifest.exports)
      .filter(([, target]) => typeof target !== 'string')
      .map(([subpath, target]) => {
        const { types, default: js } = target as { types: string; default: string };
        expect(types).toBe(js.replace(/\.js$/, '.d.ts'));
        return [`${manifest.name}${subpath.slice(1)}`, [js.replace(/^\.\/dist\//, './packages/emitter/src/').replace(/\.js$/, '.ts')]] as const;
      });
    const fromPaths = Object.entries(tsconfig.compilerOptions.paths).filter(([name]) => name === manifest.name || name.startsWith(`${manifest.name}/`));
    expect(Object.fromEntries(fromPaths)).toEqual(Object.fromEntries(fromExports));
  });

  it('imports nothing from outside the package but node built-ins and its declared dependencies', () => {
    const allowed = new Set(Object.keys(manifest.dependencies));
    const strays = sourceFiles(join(PACKAGE_DIR, 'src')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\b[^;]*?\bfrom '([^']+)'/gms)]
        .map((match) => match[1]!)
        .filter((specifier) => {
          if (specifier.startsWith('node:') || allowed.has(specifier)) return false;
          if (!specifier.startsWith('.')) return true;
          return relative(join(PACKAGE_DIR, 'src'), join(file, '..', specifier)).startsWith('..');
        })
        .map((specifier) => `${relative(PACKAGE_DIR, file)}: ${specifier}`),
    );
    expect(strays).toEqual([]);
  });
});
