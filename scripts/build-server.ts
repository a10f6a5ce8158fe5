// Compiles the production server (server/index.ts and what it imports from src/) into one ES
// module, build/server.js, run by `npm run serve` with plain Node. Under tsx the server kept the
// TypeScript loader, its transformed sources and their source maps in memory for its whole life
// (about 50 MB of resident memory on a 2-core box, measured with bench/yjs-sync.ts) and compiled
// its modules at each start. Packages stay outside the bundle: they are loaded from node_modules
// as they are. Run by `npm run build` after `vite build` (Node runs this file as it is: its types
// are only erased); bench/yjs-sync.ts compiles its "ours" server with the same options.
import { build, type BuildOptions } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** esbuild options shared by every compiled server entry. */
export const SERVER_BUILD_OPTIONS: BuildOptions = {
	bundle: true,
	platform: 'node',
	format: 'esm',
	target: 'node24',
	packages: 'external',
	// Stack traces in logs map back to the sources with `node --enable-source-maps`.
	sourcemap: 'linked',
	logLevel: 'warning'
};

/** Compiles `entry` (a path from the project's root) into `outfile`. */
export async function buildServer(entry: string, outfile: string): Promise<void> {
	const root = fileURLToPath(new URL('..', import.meta.url));
	await build({ ...SERVER_BUILD_OPTIONS, absWorkingDir: root, entryPoints: [entry], outfile });
}

/**
 * The Node options `npm run serve` starts the server with (read from package.json, the one place
 * they are written), for the scripts that start it themselves: the topology, the benchmarks.
 */
export function serveNodeOptions(): string[] {
	const root = fileURLToPath(new URL('..', import.meta.url));
	const serve: string[] = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).scripts.serve.trim().split(/\s+/);
	if (serve[0] !== 'node' || serve.at(-1) !== SERVER_ENTRY) throw new Error(`package.json's serve script must be "node [options] ${SERVER_ENTRY}"`);
	return serve.slice(1, -1);
}

/** The compiled production server, from the project's root. */
export const SERVER_ENTRY = 'build/server.js';

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildServer('server/index.ts', SERVER_ENTRY);
