// Benchmark (heavy documents): how long the render workers take on maximal documents, and whether
// the production server keeps answering /healthz while they work.
//
//   1. In this process, through a render pool of one worker: the PDF of a maximal PPS (every list at
//      100 items of 2,000 characters, half of them one unbroken word, prose at 20,000), the minutes
//      PDF of a maximal RCP (50 cases with 20,000-character notes and 10 actions each) and the FHIR
//      bundle of a maximal version: median wall time of BENCH_RUNS (default 3) runs each, and the
//      longest stall of this thread's event loop meanwhile.
//   2. The built production server (tests/e2e/render-server.ts: server/index.ts on a fresh demo
//      database holding a maximal PPS version), as a child process with the default render settings:
//      /healthz polled every 20 ms (from a thread of its own) while BENCH_CONCURRENT (default 4) PDFs of the maximal version are
//      requested at once, after one warm-up PDF.
//
//   npm run build && npx tsx bench/render.ts
//
// Uses DATABASE_URL's server when set (database msh_render_<port>, dropped at the end), else an
// embedded database under .data-render-<port> (removed at the end). Waits up to BENCH_QUIET_WAIT_S
// (default 60) for other processes to quiet down. The last line reads
//   render: healthz max <n> ms during <k> concurrent PDF renders
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { RenderPool } from '../src/lib/server/render/pool.ts';
import { maximalProjection, maximalReport, pdfPages } from '../tests/helpers/render-fixtures.ts';
import { watchHealth } from '../tests/helpers/health-watch.ts';
import { waitForQuietMachine } from './machine.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS || 3);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT || 4);
const QUIET_WAIT_S = Number(process.env.BENCH_QUIET_WAIT_S || 60);
process.env.LOG_LEVEL ??= 'warn';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs `fn` while a 5 ms timer watches this thread; returns its time and the longest stall. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; stall: number; result: T }> {
	let last = performance.now();
	let stall = 0;
	const timer = setInterval(() => {
		const now = performance.now();
		stall = Math.max(stall, now - last - 5);
		last = now;
	}, 5);
	const started = performance.now();
	const result = await fn();
	const ms = performance.now() - started;
	clearInterval(timer);
	return { ms, stall, result };
}

async function inProcess() {
	const pool = new RenderPool({ size: 1 });
	const info = { title: 'Plan personnalisé de santé', patient: 'DUPONT Jean (P-0001) — MS de test', subtitle: 'Version 3', owners: { 'owner-1': 'Dr Inès Haddad' } };
	const json = JSON.stringify(maximalProjection());
	const report = maximalReport();
	const cases = [
		['maximal PPS PDF', () => pool.run('ppsPdf', { pps: { json }, info, locale: 'fr' })],
		['maximal minutes PDF', () => pool.run('minutesPdf', { report, locale: 'fr' })],
		['maximal FHIR bundle', () => pool.run('fhir', { patient: { id: 'p-1', code: 'P-0001' }, version: { number: 3, created_at: new Date(), json }, team: [], base: 'https://example.org/fhir' })]
	] as const;
	await cases[0][1](); // starts the worker
	for (const [label, run] of cases) {
		const samples: { ms: number; stall: number; result: Uint8Array }[] = [];
		for (let i = 0; i < RUNS; i++) samples.push(await timed(run));
		const size = samples[0].result.byteLength;
		const pages = label.includes('PDF') ? `, ${pdfPages(samples[0].result)} pages` : '';
		console.log(
			`${label}: ${median(samples.map((s) => s.ms)).toFixed(0)} ms in a worker (median of ${RUNS}; ${(size / 1024).toFixed(0)} KB${pages}); this thread's longest stall ${Math.max(...samples.map((s) => s.stall)).toFixed(1)} ms`
		);
	}
	await pool.close();
}

function freePort(): Promise<number> {
	return new Promise((resolvePort, reject) => {
		const probe = createServer();
		probe.once('error', reject);
		probe.listen(0, '127.0.0.1', () => {
			const { port } = probe.address() as { port: number };
			probe.close(() => resolvePort(port));
		});
	});
}

async function throughServer(): Promise<number> {
	if (!existsSync(resolve(ROOT, 'build/handler.js'))) throw new Error('Build the app first: npm run build');
	const port = await freePort();
	const child = spawn('npx', ['tsx', 'tests/e2e/render-server.ts'], { cwd: ROOT, env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
	try {
		const fixtures = await new Promise<{ msId: string; patientId: string; versions: { maximal: number } }>((ok, fail) => {
			createInterface({ input: child.stdout! }).on('line', (line) => {
				if (line.startsWith('FIXTURES ')) ok(JSON.parse(line.slice(9)));
			});
			child.once('exit', (code) => fail(new Error(`server exited with ${code}`)));
		});
		const base = `http://127.0.0.1:${port}`;
		for (let i = 0; !(await fetch(`${base}/healthz`).then((r) => r.ok, () => false)); i++) {
			if (i > 600 || child.exitCode !== null) throw new Error('the server did not start');
			await new Promise((r) => setTimeout(r, 100));
		}
		const login = await fetch(`${base}/login`, {
			method: 'POST',
			headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ email: 'ines.haddad@demo.microstructures.fr', password: 'Demo-Microstructures-2026' }),
			redirect: 'manual'
		});
		const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
		if (!cookie.includes('session=')) throw new Error(`sign-in failed (${login.status})`);
		const pdf = async () => {
			const r = await fetch(`${base}/ms/${fixtures.msId}/patients/${fixtures.patientId}/pps/pdf?version=${fixtures.versions.maximal}`, { headers: { cookie } });
			const body = new Uint8Array(await r.arrayBuffer());
			if (r.status !== 200 || pdfPages(body) === 0) throw new Error(`PDF answered ${r.status}`);
		};
		await pdf(); // starts the server's worker

		const stopWatch = watchHealth(base);
		await new Promise((r) => setTimeout(r, 200));
		const started = performance.now();
		await Promise.all(Array.from({ length: CONCURRENT }, pdf));
		const ms = performance.now() - started;
		await new Promise((r) => setTimeout(r, 100));
		const health = await stopWatch();
		if (health.failures) throw new Error(`/healthz failed ${health.failures} times`);
		const max = health.max;
		const workers = Math.max(1, availableParallelism() - 1);
		console.log(`server: ${CONCURRENT} concurrent maximal PPS PDFs in ${ms.toFixed(0)} ms on ${workers} render worker(s); /healthz polled ${health.count} times, median ${health.median.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
		return max;
	} finally {
		if (child.exitCode === null && child.pid) {
			const exited = new Promise((r) => child.once('exit', r));
			process.kill(-child.pid, 'SIGTERM');
			await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
			if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
		}
		if (process.env.DATABASE_URL) {
			const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
			await admin.connect();
			await admin.query(`drop database if exists msh_render_${port} with (force)`);
			await admin.end();
		} else rmSync(resolve(ROOT, `.data-render-${port}`), { recursive: true, force: true });
	}
}

await waitForQuietMachine('render', QUIET_WAIT_S * 1000);
await inProcess();
const max = await throughServer();
console.log(`render: healthz max ${max.toFixed(0)} ms during ${CONCURRENT} concurrent PDF renders`);
