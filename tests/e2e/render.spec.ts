// Heavy documents through the production HTTP server: PDFs of a maximal PPS, of an over-limit
// version, the minutes PDF and a FHIR bundle are produced while /healthz, polled every 20 ms, keeps
// answering (the 100 ms target is bench/render.ts's figure); a full render queue answers a French 503; a render past the time limit is
// stopped with a French 504 and the next request works. Each server is the built app started by
// tests/e2e/render-server.ts on its own port and database, with its own RENDER_* settings.
import { expect, test, type Browser } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { signInHome } from './helpers';
import { pdfPages, pdfText } from '../helpers/render-fixtures';
import { watchHealth } from '../helpers/health-watch';

interface Fixtures {
	msId: string;
	patientId: string;
	smallPatientId: string;
	sessionId: string;
	cases: number;
	versions: { maximal: number; over: number; huge: number };
}

interface Running {
	base: string;
	port: number;
	child: ChildProcess;
	fixtures: Fixtures;
	cookie: string;
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

async function start(browser: Browser, env: Record<string, string>): Promise<Running> {
	const port = await freePort();
	const child = spawn('npx', ['tsx', 'tests/e2e/render-server.ts'], {
		env: { ...process.env, ...env, PORT: String(port), LOG_LEVEL: 'warn' },
		stdio: ['ignore', 'pipe', 'inherit'],
		// Its own process group, so that stopping it ends tsx and node, and nothing else.
		detached: true
	});
	try {
		const fixtures = await new Promise<Fixtures>((resolveFixtures, reject) => {
			const lines = createInterface({ input: child.stdout! });
			lines.on('line', (line) => {
				if (line.startsWith('FIXTURES ')) resolveFixtures(JSON.parse(line.slice('FIXTURES '.length)));
			});
			child.once('exit', (code) => reject(new Error(`render server exited with ${code}`)));
		});
		const base = `http://localhost:${port}`;
		for (let i = 0; ; i++) {
			const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
			if (ok) break;
			if (i > 600 || child.exitCode !== null) throw new Error('render server did not answer /healthz');
			await new Promise((r) => setTimeout(r, 100));
		}
		const context = await browser.newContext({ baseURL: base });
		const page = await context.newPage();
		await signInHome(page, 'ines.haddad');
		const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
		await context.close();
		return { base, port, child, fixtures, cookie };
	} catch (error) {
		await stop({ port, child });
		throw error;
	}
}

async function stop(server: Pick<Running, 'port' | 'child'> | undefined) {
	if (!server) return;
	if (server.child.exitCode === null && server.child.pid) {
		const exited = new Promise((r) => server.child.once('exit', r));
		process.kill(-server.child.pid, 'SIGTERM');
		await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
		if (server.child.exitCode === null) process.kill(-server.child.pid, 'SIGKILL');
	}
	if (process.env.DATABASE_URL) {
		const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
		await admin.connect();
		await admin.query(`drop database if exists msh_render_${server.port} with (force)`);
		await admin.end();
	} else rmSync(resolve(`.data-render-${server.port}`), { recursive: true, force: true });
}

async function get(server: Running, path: string) {
	const response = await fetch(server.base + path, { headers: { cookie: server.cookie } });
	return { status: response.status, type: response.headers.get('content-type') ?? '', retryAfter: response.headers.get('retry-after'), body: new Uint8Array(await response.arrayBuffer()) };
}

const text = (body: Uint8Array) => Buffer.from(body).toString('utf8');

function expectPdf(r: { status: number; type: string; body: Uint8Array }, minPages = 1) {
	expect(r.status).toBe(200);
	expect(r.type).toBe('application/pdf');
	expect(Buffer.from(r.body.subarray(0, 5)).toString()).toBe('%PDF-');
	expect(pdfPages(r.body)).toBeGreaterThanOrEqual(minPages);
	return pdfText(r.body);
}

test.describe.configure({ mode: 'serial' });

/** /healthz kept answering: far below the seconds a render on the event loop used to cost (bench/render.ts gives the figure). */
const LIVELY_MS = 500;

test.describe('documents rendered off the event loop', () => {
	let server: Running | undefined;
	// One worker, so that four renders queue behind one another; room for exactly four.
	test.beforeAll(async ({ browser }, info) => {
		info.setTimeout(180_000);
		server = await start(browser, { RENDER_WORKERS: '1', RENDER_QUEUE: '3' });
	});
	test.afterAll(async () => stop(server));

	test('maximal and over-limit PDFs, the minutes and a FHIR bundle while /healthz keeps answering', async () => {
		test.setTimeout(120_000);
		const s = server!;
		const pps = `/ms/${s.fixtures.msId}/patients/${s.fixtures.patientId}/pps`;
		// The current PPS is read from the live document, which the realtime server loads into memory
		// on first use; that load is the realtime layer's cost, not the render's: done before watching.
		expectPdf(await get(s, `${pps}/pdf`), 20);
		// Only the requests run while /healthz is watched: this process's own checks (inflating and
		// reading 20-page PDFs) would otherwise compete for the machine's two cores with the server it
		// measures, so they run once the watch has stopped.
		const stopWatch = watchHealth(s.base);
		const maximalPdf = await get(s, `${pps}/pdf?version=${s.fixtures.versions.maximal}`);
		const livePdf = await get(s, `${pps}/pdf`);
		const overPdf = await get(s, `${pps}/pdf?version=${s.fixtures.versions.over}`);
		const minutesPdf = await get(s, `/ms/${s.fixtures.msId}/rcp/${s.fixtures.sessionId}/compte-rendu/pdf`);
		const fhir = await get(s, `${pps}/versions/${s.fixtures.versions.maximal}/fhir`);
		const four = await Promise.all([1, 2, 3, 4].map(() => get(s, `${pps}/pdf`)));
		const health = await stopWatch();

		const maximal = expectPdf(maximalPdf, 20);
		for (const tag of ['goals-start', 'crisis-start', 'problem-99', 'objective-99', 'action-99', 'entretien-99', 'Inès Haddad']) expect(maximal).toContain(tag);
		expect(maximal).not.toContain('texte tronqu');

		const live = expectPdf(livePdf, 20);
		expect(live).toContain('entretien-99');

		const over = expectPdf(overPdf, 20);
		expect(over).toContain('900012 caract');
		expect(over).toContain('50 autres');
		expect(over).not.toContain('problem-100');

		const minutes = expectPdf(minutesPdf);
		expect(minutes).toContain('Compte rendu de RCP');
		expect(minutes).toContain(`notes-${s.fixtures.cases - 1}`);

		expect(fhir.status).toBe(200);
		expect(fhir.type).toContain('application/fhir+json');
		expect(JSON.parse(text(fhir.body)).entry).toHaveLength(102);

		for (const r of four) expectPdf(r, 20);

		console.log(`healthz max ${health.max.toFixed(1)} ms over ${health.count} polls`);
		expect(health.count).toBeGreaterThan(20);
		expect(health.failures).toBe(0);
		// A render on the event loop stalled /healthz for seconds (6 s at 80,000 characters, minutes at 900 KB):
		// that is what this bound catches. The 100 ms target is a figure measured on a quiet machine by
		// bench/render.ts: a timed assertion here would measure the machine's other tenants (the team's
		// rule: speed is measured in bench/, not asserted in tests).
		expect(health.max).toBeLessThan(LIVELY_MS);
	});

	test('a version past the render size limit is refused in French before any work', async () => {
		const s = server!;
		const r = await get(s, `/ms/${s.fixtures.msId}/patients/${s.fixtures.patientId}/pps/pdf?version=${s.fixtures.versions.huge}`);
		expect(r.status).toBe(413);
		expect(text(r.body)).toBe('Ce document est trop volumineux pour être produit.');
		const fhir = await get(s, `/ms/${s.fixtures.msId}/patients/${s.fixtures.patientId}/pps/versions/${s.fixtures.versions.huge}/fhir`);
		expect(fhir.status).toBe(413);
	});

	test('a full render queue answers 503 in French at once, and the renders it took complete', async () => {
		const s = server!;
		const results = await Promise.all(Array.from({ length: 8 }, () => get(s, `/ms/${s.fixtures.msId}/patients/${s.fixtures.patientId}/pps/pdf`)));
		const busy = results.filter((r) => r.status === 503);
		expect(busy.length).toBeGreaterThan(0);
		for (const r of busy) {
			expect(text(r.body)).toBe('Serveur occupé, réessayez dans quelques instants.');
			expect(r.retryAfter).toBe('5');
		}
		for (const r of results.filter((r) => r.status !== 503)) expectPdf(r, 20);
	});
});

test.describe('a render past the time limit', () => {
	let server: Running | undefined;
	test.beforeAll(async ({ browser }, info) => {
		info.setTimeout(180_000);
		// A maximal PPS takes 250 ms or more to render; the small demo PPS, about 10 ms.
		server = await start(browser, { RENDER_WORKERS: '1', RENDER_TIMEOUT_MS: '150' });
	});
	test.afterAll(async () => stop(server));

	test('is stopped with a French 504, its worker replaced, and the next request works', async () => {
		const s = server!;
		const small = `/ms/${s.fixtures.msId}/patients/${s.fixtures.smallPatientId}/pps/pdf`;
		expectPdf(await get(s, small));
		// The checks of the answers run after the watch, like above (this process's work is not the server's).
		const stopWatch = watchHealth(s.base);
		// Versions, not the live document, whose first load into the realtime server is not the render's cost.
		const slow = await get(s, `/ms/${s.fixtures.msId}/patients/${s.fixtures.patientId}/pps/pdf?version=${s.fixtures.versions.over}`);
		const afterSlow = await get(s, small);
		const again = await get(s, `/ms/${s.fixtures.msId}/patients/${s.fixtures.patientId}/pps/pdf?version=${s.fixtures.versions.maximal}`);
		const afterAgain = await get(s, small);
		const health = await stopWatch();
		expect(slow.status).toBe(504);
		expect(text(slow.body)).toContain('La production du document a pris trop de temps');
		expectPdf(afterSlow);
		expect(again.status).toBe(504);
		expectPdf(afterAgain);
		console.log(`healthz max ${health.max.toFixed(1)} ms over ${health.count} polls (timeouts)`);
		expect(health.failures).toBe(0);
		expect(health.max).toBeLessThan(LIVELY_MS);
	});
});
