// The render pool (src/lib/server/render): real worker threads running the real tasks on maximal and
// over-limit documents while this thread's event loop is watched, and the pool's bounds (time, size,
// memory, queue) with a worker whose tasks misbehave on purpose (tests/helpers/render-worker.ts).
// The same through the production HTTP server: tests/e2e/render.spec.ts.
process.env.LOG_LEVEL = 'silent';

import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { restore, LIMITS } from '../../src/lib/pps/model.ts';
import { projectRoot, RenderError, RenderPool } from '../../src/lib/server/render/pool.ts';
import { renderRefusal } from '../../src/lib/server/render/http.ts';
import { MINUTES_LIMITS } from '../../src/lib/server/rcp/report-pdf.ts';
import { ppsPdf } from '../../src/lib/server/pps/pdf.ts';
import { fr } from '../../src/lib/i18n/fr.ts';
import { maximalProjection, maximalReport, pdfPages, pdfText } from '../helpers/render-fixtures.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TEST_WORKER = join(ROOT, 'tests/helpers/render-worker.ts');
const info = { title: 'Plan personnalisé de santé', patient: 'DUPONT Jean (P-0001) — MS de test', subtitle: 'Version 3', owners: { 'owner-1': 'Dr Inès Haddad' } };

/**
 * The CPU time this thread spent while `fn` ran: what a render on this thread would add up to,
 * whatever else the machine is doing (a loaded machine delays timers, but adds no CPU time here).
 */
async function loopBusy<T>(fn: () => Promise<T>): Promise<{ result: T; busyMs: number }> {
	const before = process.threadCpuUsage();
	const result = await fn();
	const used = process.threadCpuUsage(before);
	return { result, busyMs: (used.user + used.system) / 1000 };
}

async function rejection(p: Promise<unknown>): Promise<RenderError> {
	const error = await p.then(
		() => null,
		(e: unknown) => e
	);
	expect(error).toBeInstanceOf(RenderError);
	return error as RenderError;
}

describe('the real tasks in worker threads', () => {
	let pool: RenderPool;
	beforeAll(async () => {
		pool = new RenderPool({ size: 1 });
		// Start the worker (loading pdfkit and tsx) before watching the loop.
		await pool.run('ppsPdf', { pps: { json: JSON.stringify(maximalProjection({ items: 1, field: 10, prose: 10 })) }, info, locale: 'fr' });
	});
	afterAll(() => pool.close());

	test('a maximal PPS (every list at its limit, every field full) renders as a valid PDF without stalling this thread', async () => {
		const json = JSON.stringify(maximalProjection());
		const { result: pdf, busyMs } = await loopBusy(() => pool.run('ppsPdf', { pps: { json }, info, locale: 'fr' }));
		expect(Buffer.from(pdf.subarray(0, 5)).toString()).toBe('%PDF-');
		expect(pdfPages(pdf)).toBeGreaterThan(20);
		const text = pdfText(pdf);
		for (const tag of ['Plan personnalis', 'goals-start', 'crisis-start', 'evaluation-start', 'problem-0', 'problem-99', 'objective-99', 'action-99', 'entretien-99', 'Dr In']) expect(text).toContain(tag);
		expect(text).not.toContain('texte tronqu');
		expect(busyMs).toBeLessThan(100);
	});

	test('the measure above sees a render done on this thread, as before (so it can fail)', async () => {
		const projection = maximalProjection();
		const { result: pdf, busyMs } = await loopBusy(() => ppsPdf(projection, info, fr));
		expect(pdfPages(pdf)).toBeGreaterThan(20);
		expect(busyMs).toBeGreaterThan(150);
	});

	test('an over-limit PPS (a 900,000-character field, 150 items) is cut to the limits, saying so, in bounded time', async () => {
		const projection = maximalProjection({ items: 150, field: 3000 });
		projection.goals = 'goals-start ' + 'y'.repeat(900_000);
		projection.crisis = 'crisis-start ' + 'z'.repeat(900_000);
		const json = JSON.stringify(projection);
		const started = performance.now();
		const { result: pdf, busyMs } = await loopBusy(() => pool.run('ppsPdf', { pps: { json }, info, locale: 'fr' }));
		const ms = performance.now() - started;
		const text = pdfText(pdf);
		expect(text).toContain('texte tronqu');
		expect(text).toContain('900012 caract');
		expect(text).toContain('50 autres');
		expect(text).toContain('problem-99');
		expect(text).not.toContain('problem-100');
		// Before, one 40,000-character word alone took ~1.8 s and 900,000 took minutes.
		expect(ms).toBeLessThan(pool.timeoutMs);
		expect(busyMs).toBeLessThan(100);
	});

	test('the live document is projected in the worker: its state moves there, not a copy', async () => {
		const doc = new Y.Doc();
		restore(doc, maximalProjection());
		const update = new Uint8Array(Y.encodeStateAsUpdate(doc));
		const { result: pdf, busyMs } = await loopBusy(() => pool.run('ppsPdf', { pps: { update }, info, locale: 'en' }, [update.buffer]));
		expect(update.byteLength).toBe(0); // transferred
		const text = pdfText(pdf);
		expect(text).toContain('goals-start');
		expect(text).toContain('entretien-99');
		expect(busyMs).toBeLessThan(100);
	});

	test('the FHIR bundle of a maximal version is built and serialised in the worker', async () => {
		const json = JSON.stringify(maximalProjection());
		const bytes = await pool.run('fhir', { patient: { id: 'p-1', code: 'P-0001' }, version: { number: 3, created_at: new Date('2027-01-02T10:00:00Z'), json }, team: [], base: 'https://example.org/fhir' });
		const bundle = JSON.parse(Buffer.from(bytes).toString('utf8'));
		expect(bundle.resourceType).toBe('Bundle');
		expect(bundle.timestamp).toBe('2027-01-02T10:00:00.000Z');
		// The CarePlan, the patient's goals and the 100 negotiated objectives.
		expect(bundle.entry).toHaveLength(1 + 1 + LIMITS.items);
		expect(bundle.entry[0].resource.activity).toHaveLength(LIMITS.items);
	});

	test('maximal minutes render in full; longer ones are cut, saying so', async () => {
		const full = await pool.run('minutesPdf', { report: maximalReport(), locale: 'fr' });
		expect(Buffer.from(full.subarray(0, 5)).toString()).toBe('%PDF-');
		const text = pdfText(full);
		for (const tag of ['Compte rendu de RCP', 'case-0', `case-${MINUTES_LIMITS.items - 1}`, `notes-${MINUTES_LIMITS.items - 1}`, `action-${MINUTES_LIMITS.items - 1}-9`, 'Participant 29']) expect(text).toContain(tag);
		expect(text).not.toContain('texte tronqu');

		const over = maximalReport({ cases: MINUTES_LIMITS.items + 10, notes: 30_000 });
		const cut = pdfText(await pool.run('minutesPdf', { report: over, locale: 'fr' }));
		expect(cut).toContain('30000 caract');
		expect(cut).toContain('10 autres');
		expect(cut).not.toContain(`case-${MINUTES_LIMITS.items} `);
	});
});

describe('the pool bounds a task in time, size, memory and waiting', () => {
	const pools: RenderPool[] = [];
	const makePool = (options: ConstructorParameters<typeof RenderPool>[0]) => {
		const pool = new RenderPool({ entry: TEST_WORKER, ...options });
		pools.push(pool);
		return pool;
	};
	afterAll(() => Promise.all(pools.map((p) => p.close())));

	test('a runaway task is stopped at the timeout, its worker replaced, and the next task works', async () => {
		const pool = makePool({ size: 1, timeoutMs: 300 });
		expect(Buffer.from(await pool.run('echo', { text: 'warm' })).toString()).toBe('warm');
		const started = performance.now();
		const { result: error, busyMs } = await loopBusy(() => rejection(pool.run('forever', {})));
		expect(error.kind).toBe('timeout');
		expect(performance.now() - started).toBeLessThan(3000);
		expect(busyMs).toBeLessThan(100);
		expect(Buffer.from(await pool.run('echo', { text: 'next' })).toString()).toBe('next');
		expect(pool.stats()).toMatchObject({ replaced: 1, workers: 1 });
		const refusal = renderRefusal('timeout', 'fr');
		expect(refusal.status).toBe(504);
		expect(await refusal.text()).toContain('trop de temps');
	});

	test('terminating a worker while it compresses never aborts the process (Node 24 zlib: "close before init")', async () => {
		const pool = makePool({ size: 1, timeoutMs: 15 });
		for (let i = 0; i < 30; i++) expect((await rejection(pool.run('deflateForever', {}))).kind).toBe('timeout');
		expect(pool.stats().replaced).toBe(30);
		// The worker's deflate writes the zlib format pdfkit's FlateDecode streams need.
		const bytes = new TextEncoder().encode('BT /F1 11 Tf (Plan personnalisé) Tj ET '.repeat(50));
		expect(inflateSync(await makePool({ size: 1 }).run('deflate', { bytes }))).toEqual(Buffer.from(bytes));
	});

	test('a full queue is refused at once with a French 503, and what was queued still runs', async () => {
		const pool = makePool({ size: 1, queueMax: 1 });
		await pool.run('echo', { text: 'warm' });
		const running = pool.run('spin', { ms: 400 });
		const queued = pool.run('spin', { ms: 10 });
		const started = performance.now();
		const refused = await rejection(pool.run('echo', { text: 'one too many' }));
		expect(refused.kind).toBe('busy');
		expect(performance.now() - started).toBeLessThan(50);
		expect(Buffer.from(await running).toString()).toBe('spun');
		expect(Buffer.from(await queued).toString()).toBe('spun');
		const response = renderRefusal('busy', 'fr');
		expect(response.status).toBe(503);
		expect(response.headers.get('retry-after')).toBe('5');
		expect(await response.text()).toBe('Serveur occupé, réessayez dans quelques instants.');
	});

	test('an input over the size limit is refused before it reaches a worker', async () => {
		const pool = makePool({ size: 1, maxInputBytes: 1000 });
		const error = await rejection(pool.run('echo', { text: 'x'.repeat(1001) }));
		expect(error.kind).toBe('too_large');
		expect(pool.stats().workers).toBe(0);
		const response = renderRefusal('too_large', 'fr');
		expect(response.status).toBe(413);
		expect(await response.text()).toContain('trop volumineux');
	});

	test('a task that throws fails alone, with only the error name leaving the worker', async () => {
		const pool = makePool({ size: 1 });
		const error = await rejection(pool.run('throws', {}));
		expect(error.kind).toBe('failed');
		expect(error.message).toContain('TypeError');
		expect(error.message).not.toContain('patient');
		expect(Buffer.from(await pool.run('echo', { text: 'still here' })).toString()).toBe('still here');
		expect(pool.stats().replaced).toBe(0);
	});

	test('a task over its memory limit ends its worker, not the process, and the pool carries on', async () => {
		const pool = makePool({ size: 1, maxHeapMb: 32 });
		await pool.run('echo', { text: 'warm' });
		const error = await rejection(pool.run('hog', {}));
		expect(error.kind).toBe('failed');
		expect(Buffer.from(await pool.run('echo', { text: 'after' })).toString()).toBe('after');
		expect(pool.stats().replaced).toBe(1);
	});

	test('workers run side by side up to the pool size', async () => {
		const pool = makePool({ size: 2, queueMax: 4 });
		const jobs = [1, 2, 3, 4].map(() => pool.run('spin', { ms: 150 }));
		await new Promise((resolve) => setTimeout(resolve, 50));
		expect(pool.stats()).toMatchObject({ workers: 2, busy: 2, queued: 2 });
		await Promise.all(jobs);
		expect(pool.stats()).toMatchObject({ busy: 0, queued: 0 });
	});

	test('buffers can move to the worker instead of being copied', async () => {
		const pool = makePool({ size: 1 });
		const bytes = new Uint8Array(4 * 1024 * 1024 - 100);
		expect(Buffer.from(await pool.run('length', { bytes }, [bytes.buffer])).toString()).toBe(String(4 * 1024 * 1024 - 100));
		expect(bytes.byteLength).toBe(0);
	});
});

test('the worker entry is found from the bundled server chunks as from the sources', () => {
	expect(projectRoot(join(ROOT, 'build/server/chunks/some-chunk.js'))).toBe(ROOT.replace(/\/$/, ''));
	expect(projectRoot(join(ROOT, 'src/lib/server/render/pool.ts'))).toBe(ROOT.replace(/\/$/, ''));
});
