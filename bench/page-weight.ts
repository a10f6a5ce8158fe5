// How much JavaScript a page makes the browser download, gzipped, computed from the build: the
// client manifest says which chunks each entry imports statically (fetched with the page) and
// dynamically (fetched when the code asks). The live RCP page should stay light on a phone until
// someone opens the PPS, whose rich-text editor (Tiptap, ProseMirror, y-prosemirror) comes then.
//
//   npx tsx bench/page-weight.ts            reads the existing build (builds first if there is none)
//   npx tsx bench/page-weight.ts --build    builds first (vite build)
//
// The page's JavaScript is the closure of the static imports of SvelteKit's client entries
// (start, app), the root layout and the route's own node — what the server-rendered page preloads.
// Opening the PPS adds the closure of the editor's dynamic import, minus what is already there.
// Sizes are gzip level 6 (what a reverse proxy serves), summed per file.
// bench/pages.ts imports routes() and pageJsGzip() to show every route's weight.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { SERVER_ENTRY } from '../scripts/build-server.ts';

const ROOT = process.cwd();
const KIT = join(ROOT, '.svelte-kit');
const CLIENT = join(KIT, 'output', 'client');
const MANIFEST = join(CLIENT, '.vite', 'manifest.json');
const APP = join(KIT, 'generated', 'client-optimized', 'app.js');
const ROUTE = '/ms/[msId]/rcp/[sessionId]';
const EDITOR = 'src/lib/pps/PpsEditor.svelte';
const TARGET_KB = 120;

interface Chunk {
	file: string;
	name?: string;
	src?: string;
	isEntry?: boolean;
	imports?: string[];
	dynamicImports?: string[];
}

/** Builds the app (npm run build: the pages and the compiled server) when asked or when either is missing. */
export function ensureBuild(force = false): void {
	if (!force && existsSync(MANIFEST) && existsSync(join(ROOT, SERVER_ENTRY))) return;
	console.log('building (npm run build)…');
	execFileSync('npm', ['run', 'build'], { stdio: 'inherit' });
}

let loaded: Record<string, Chunk> | undefined;
/** The client manifest (read once). */
const chunks = () => (loaded ??= JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, Chunk>);

/** Every route of SvelteKit's client dictionary, in its order. */
export function routes(): string[] {
	return readFileSync(APP, 'utf8')
		.split('\n')
		.map((l) => /^\s*("[^"]+"):/.exec(l)?.[1])
		.filter((r): r is string => r !== undefined)
		.map((r) => JSON.parse(r) as string);
}

/** The route's nodes in SvelteKit's client dictionary: "/route": [leaf, [layouts]?, [errors]?]; "~" marks a server load. */
function routeNodes(route: string): number[] {
	const app = readFileSync(APP, 'utf8');
	const line = app.split('\n').find((l) => l.trim().startsWith(`${JSON.stringify(route)}:`));
	if (!line) throw new Error(`route ${route} not in ${APP}`);
	const tuple = line.slice(line.indexOf(':') + 1).trim().replace(/,$/, '').replaceAll('~', '');
	const [leaf, layouts = [0]] = JSON.parse(tuple) as [number, (number | null)[]?];
	return [...layouts.filter((n): n is number => n !== null), leaf];
}

function key(predicate: (k: string, c: Chunk) => boolean, what: string): string {
	const found = Object.entries(chunks()).find(([k, c]) => predicate(k, c));
	if (!found) throw new Error(`no ${what} in the client manifest`);
	return found[0];
}

/** Every chunk fetched with `keys`: them and their static imports, recursively. */
function staticClosure(keys: string[]): Set<string> {
	const seen = new Set<string>();
	const visit = (k: string) => {
		if (seen.has(k)) return;
		seen.add(k);
		for (const i of chunks()[k]?.imports ?? []) visit(i);
	};
	keys.forEach(visit);
	return seen;
}

const sizes = new Map<string, { raw: number; gz: number }>();
function size(k: string) {
	let s = sizes.get(k);
	if (!s) {
		const bytes = readFileSync(join(CLIENT, chunks()[k].file));
		s = { raw: bytes.length, gz: gzipSync(bytes, { level: 6 }).length };
		sizes.set(k, s);
	}
	return s;
}
const total = (keys: Iterable<string>) => [...keys].reduce((sum, k) => sum + size(k).gz, 0);
const entries = () => [key((_, c) => c.isEntry === true && c.name === 'entry/start', 'start entry'), key((_, c) => c.isEntry === true && c.name === 'entry/app', 'app entry')];
const nodeKeys = (route: string) => routeNodes(route).map((n) => key((k) => k.endsWith(`client-optimized/nodes/${n}.js`), `node ${n}`));

/** The chunks a route's server-rendered page preloads: SvelteKit's entries, its layouts' and its own node, with their static imports. */
export function pageChunks(route: string): Set<string> {
	return staticClosure([...entries(), ...nodeKeys(route)]);
}

/** Gzipped bytes of the JavaScript a route's page makes the browser download. */
export function pageJsGzip(route: string): number {
	return total(pageChunks(route));
}

export const kB = (bytes: number) => (bytes / 1000).toFixed(1);

function main() {
	ensureBuild(process.argv.includes('--build'));
	const manifest = chunks();
	const page = pageChunks(ROUTE);
	const nodes = nodeKeys(ROUTE);
	const leaf = nodes.at(-1)!;
	// Its own entry, or the chunk named after it when the PPS page's node shares it.
	const editorKey = Object.entries(manifest).find(([k, c]) => k.endsWith(EDITOR) || c.name === 'PpsEditor')?.[0];
	const editorStatic = page.has(editorKey ?? '');
	const onOpen = editorKey && !editorStatic ? [...staticClosure([editorKey])].filter((k) => !page.has(k)) : [];

	console.log(`route ${ROUTE}: nodes ${routeNodes(ROUTE).join(', ')}; ${page.size} JavaScript files with the page`);
	for (const k of [...page].sort((a, b) => size(b).gz - size(a).gz).slice(0, 8)) console.log(`  ${kB(size(k).gz).padStart(6)} kB  ${manifest[k].file}`);
	if (!editorKey) console.log(`  the PPS editor is not a chunk of its own: it is bundled with the page`);
	else if (editorStatic) console.log(`  the PPS editor is imported statically: it comes with the page`);
	else {
		const dynamic = manifest[leaf].dynamicImports?.includes(editorKey) ?? false;
		console.log(`  the PPS editor is a dynamic import${dynamic ? ' of the page' : ''}: ${onOpen.length} more files, ${kB(total(onOpen))} kB gzipped, when the PPS is opened`);
	}
	console.log(`rcp page after opening the PPS: ${kB(total(page) + total(onOpen))} kB gzipped JS`);
	console.log(`rcp page: ${kB(total(page))} kB gzipped JS before the PPS is opened (target < ${TARGET_KB})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
