// Billing on a real database: each kind of check failure, the two national consistency rules, the
// codes by psychologist funding, runs that never bill a package twice (also under a concurrent
// burst), corrections, the CSV with the NIR, and the tariff form's validation.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Db } from '../../src/lib/server/db/index.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { createPatient, createPractice, createUser, type Practice } from '../helpers/booking-fixture.ts';
import { encryptNir, nirKey, nirKeysFrom, nirIndex } from '../../src/lib/server/patients/nir.ts';
import { consistency, pendingPackages } from '../../src/lib/server/billing/packages.ts';
import { correctRun, listRuns, runBillingExport, runCsv, RUN_CSV_HEADER } from '../../src/lib/server/billing/runs.ts';
import { listTariffs, packageLines, setFunding, setTariff, tariffSchema, DEFAULT_TARIFFS } from '../../src/lib/server/billing/tariffs.ts';
import { parisToday } from '../../src/lib/server/patients/lifecycle.ts';

const keys = nirKeysFrom([{ id: 'test-key', key: randomBytes(32) }]);
let testDb: TestDb;
let db: Db;
let practice: Practice;
let coordinator: { id: string };
const FROM = '2026-01-01';
const TO = '2026-06-30';

function validNir(seed: number): string {
	const base = `1${String(80 + (seed % 20)).padStart(2, '0')}0567${String(100000 + seed).slice(-6)}`;
	return base + String(nirKey(base)).padStart(2, '0');
}

async function patientWith(opts: {
	lastName?: string;
	event?: { kind: 'include' | 'reinclude' | 'renew'; on: string; periodFrom?: string };
	nir?: 'valid' | 'refuse' | 'provisoire' | 'none' | { same: string };
	consent?: boolean;
	passageOn?: string | null;
	practice?: Practice;
}) {
	const pr = opts.practice ?? practice;
	const p = await createPatient(db, pr, { lastName: opts.lastName ?? 'Martin' });
	const event = opts.event ?? { kind: 'include', on: '2026-02-10' };
	await db.updateTable('patient').set({ consent_on: opts.consent === false ? null : event.on, consent_method: opts.consent === false ? null : 'formulaire_signe' }).where('id', '=', p.id).execute();
	const ev = await db
		.insertInto('patient_event')
		.values({ patient_id: p.id, kind: event.kind, occurred_on: event.on, recorded_by: null, details: JSON.stringify(event.periodFrom ? { period_from: event.periodFrom } : {}) })
		.returning('id')
		.executeTakeFirstOrThrow();
	const nir = opts.nir ?? 'valid';
	if (nir === 'valid' || typeof nir === 'object') {
		const number = typeof nir === 'object' ? nir.same : validNir(Math.floor(Math.random() * 900000));
		const enc = encryptNir(number, keys);
		await db.insertInto('patient_nir').values({ patient_id: p.id, status: 'fourni', ciphertext: enc.ciphertext, key_id: enc.keyId, nir_index: nirIndex(number, keys.current), updated_by: null }).execute();
	} else if (nir !== 'none') {
		await db.insertInto('patient_nir').values({ patient_id: p.id, status: nir, ciphertext: null, key_id: null, updated_by: null }).execute();
	}
	const passageOn = opts.passageOn === undefined ? event.periodFrom ?? event.on : opts.passageOn;
	if (passageOn) {
		const session = await db
			.insertInto('rcp_session')
			.values({
				microstructure_id: pr.microstructureId,
				title: 'RCP',
				starts_at: new Date(`${passageOn}T12:00:00Z`),
				ends_at: new Date(`${passageOn}T13:00:00Z`),
				template: JSON.stringify({ name: 'T', targetMinutes: 60, minFrequency: 'mensuelle', sections: [], quorumProfessions: [], optionalInvitees: '', patientMayAttend: false, minutesPerCase: 10 }),
				status: 'cloturee'
			})
			.returning('id')
			.executeTakeFirstOrThrow();
		await db.insertInto('rcp_passage').values({ patient_id: p.id, session_id: session.id, on_date: passageOn, decision: 'poursuite' }).execute();
	}
	return { ...p, eventId: ev.id };
}

async function fresh(): Promise<Practice> {
	const pr = await createPractice(db);
	practice = pr;
	return pr;
}

const ctx = () => ({ actorId: coordinator.id, ip: '127.0.0.1', userAgent: 'vitest' });
const filter = (pr: Practice = practice) => ({ networkId: pr.networkId, from: FROM, to: TO, microstructureIds: [pr.microstructureId] });

beforeAll(async () => {
	testDb = await createTestDb();
	db = testDb.db;
	coordinator = await createUser(db, 'coordinateur_administratif', 'Lefèvre', 'Anne');
});
afterAll(async () => {
	await testDb?.close();
});

describe('package lines and the national consistency rules', () => {
	test('a centre seconding both bills C1 + A1, a private psychologist C1 + B1 + B2, each summing to the package', () => {
		const msma = DEFAULT_TARIFFS[0];
		const ems = packageLines(msma, 'ems');
		expect(ems).toEqual([
			{ code: '18N27C1', amountCents: 80600 - 35300 - 22800 },
			{ code: '18N27A1', amountCents: 35300 + 22800 }
		]);
		const liberal = packageLines(msma, 'liberal');
		expect(liberal.map((l) => l.code)).toEqual(['18N27C1', '18N27B1', '18N27B2']);
		expect(liberal.find((l) => l.code === '18N27B1')!.amountCents).toBe(22800);
		expect(liberal.find((l) => l.code === '18N27B2')!.amountCents).toBe(35300);
		for (const lines of [ems, liberal]) expect(lines.reduce((s, l) => s + l.amountCents, 0)).toBe(80600);
	});

	test('the rules C1 = A1 + B1 and B1 = B2 are checked on any set of lines', () => {
		const ok = consistency([{ code: '18N27C1' }, { code: '18N27A1' }, { code: '18N27C1' }, { code: '18N27B1' }, { code: '18N27B2' }]);
		expect(ok).toMatchObject({ c1: true, b1: true, counts: { '18N27C1': 2, '18N27A1': 1, '18N27B1': 1, '18N27B2': 1 } });
		expect(consistency([{ code: '18N27C1' }, { code: '18N27B1' }])).toMatchObject({ c1: true, b1: false });
		expect(consistency([{ code: '18N27C1' }, { code: '18N27C1' }, { code: '18N27A1' }])).toMatchObject({ c1: false, b1: true });
	});
});

describe('checks before export', () => {
	test('each failure kind is reported on its package, and only clean packages are ready', async () => {
		const pr = await fresh();
		const clean = await patientWith({ lastName: 'Propre' });
		const noNir = await patientWith({ nir: 'none' });
		const refused = await patientWith({ nir: 'refuse' });
		const provisional = await patientWith({ nir: 'provisoire' });
		const noConsent = await patientWith({ consent: false });
		const noPassage = await patientWith({ passageOn: null });
		const passageBefore = await patientWith({ passageOn: '2025-12-01' });
		const sharedNir = validNir(4242);
		const twinA = await patientWith({ nir: { same: sharedNir } });
		const twinB = await patientWith({ nir: { same: sharedNir } });
		// A renewal recorded 40 days before its anniversary starts on the anniversary.
		const early = await patientWith({ event: { kind: 'renew', on: '2026-03-01', periodFrom: '2026-04-10' } });
		// Outside the period: not a package of it.
		await patientWith({ event: { kind: 'include', on: '2026-08-01' } });
		const packages = await pendingPackages(db, filter(pr), await listTariffs(db, pr.networkId));
		const byPatient = new Map(packages.map((p) => [p.patientId, p]));
		const kinds = (id: string) => byPatient.get(id)!.failures.map((f) => f.kind);
		expect(packages).toHaveLength(10);
		expect(kinds(clean.id)).toEqual([]);
		expect(kinds(noNir.id)).toEqual(['nir_missing']);
		expect(kinds(refused.id)).toEqual(['nir_refused']);
		expect(kinds(provisional.id)).toEqual(['nir_provisional']);
		expect(kinds(noConsent.id)).toEqual(['consent_missing']);
		expect(kinds(noPassage.id)).toEqual(['no_rcp_passage']);
		expect(kinds(passageBefore.id)).toEqual(['no_rcp_passage']);
		expect(kinds(twinA.id)).toEqual(['same_nir']);
		expect(byPatient.get(twinA.id)!.failures[0].detail).toBe(twinB.code);
		expect(kinds(twinB.id)).toEqual(['same_nir']);
		expect(byPatient.get(early.id)).toMatchObject({ start: '2026-04-10', kind: 'renew', failures: [] });
		expect(byPatient.get(clean.id)!.lines.map((l) => l.code)).toEqual(['18N27C1', '18N27A1']);
	});

	test('a second package of the same patient within a year is flagged as already covered', async () => {
		const pr = await fresh();
		const p = await patientWith({ event: { kind: 'include', on: '2026-01-10' } });
		await db.insertInto('patient_event').values({ patient_id: p.id, kind: 'reinclude', occurred_on: '2026-05-02', recorded_by: null, details: '{}' }).execute();
		const packages = await pendingPackages(db, filter(pr), await listTariffs(db, pr.networkId));
		expect(packages.map((x) => [x.start, x.failures.map((f) => f.kind)])).toEqual([
			['2026-01-10', []],
			['2026-05-02', ['no_rcp_passage', 'already_covered']]
		]);
		expect(packages[1].failures[1].detail).toBe('2026-01-10');
	});

	test('a programme without a tariff on the package date is flagged', async () => {
		const pr = await fresh();
		const p = await patientWith({ event: { kind: 'include', on: '2021-06-01' } });
		const packages = await pendingPackages(db, { ...filter(pr), from: '2021-01-01', to: '2021-12-31' }, await listTariffs(db, pr.networkId));
		expect(packages.find((x) => x.patientId === p.id)!.failures.map((f) => f.kind)).toContain('no_tariff');
	});
});

describe('export runs', () => {
	test('a run exports the ready packages once; running again exports nothing twice; the CSV carries the NIR', async () => {
		const pr = await fresh();
		const a = await patientWith({ lastName: 'Alpha' });
		const b = await patientWith({ lastName: 'Bravo' });
		await patientWith({ nir: 'none', lastName: 'Charlie' });
		const first = await runBillingExport(db, ctx(), filter(pr), keys);
		expect(first).toMatchObject({ ok: true, number: 1, lineCount: 4, totalCents: 2 * 80600 });
		if (!first.ok) throw new Error('unreachable');
		expect(first.skipped.map((s) => s.failures[0].kind)).toEqual(['nir_missing']);
		const again = await runBillingExport(db, ctx(), filter(pr), keys);
		expect(again).toMatchObject({ ok: false, reason: 'nothing' });
		expect(await db.selectFrom('billing_run').select('id').where('network_id', '=', pr.networkId).execute()).toHaveLength(1);

		const csv = await runCsv(db, ctx(), pr.networkId, first.runId, keys);
		const lines = csv!.body.replace('\ufeff', '').trim().split('\r\n');
		expect(lines[0]).toBe(RUN_CSV_HEADER.join(';'));
		expect(lines).toHaveLength(1 + 4);
		const nirOfA = await db.selectFrom('patient_nir').select(['ciphertext', 'key_id']).where('patient_id', '=', a.id).executeTakeFirstOrThrow();
		expect(nirOfA.ciphertext).not.toBeNull();
		const alpha = lines.filter((l) => l.includes(';Alpha;'));
		expect(alpha).toHaveLength(2);
		expect(alpha[0].split(';')[8]).toMatch(/^\d{15}$/);
		expect(lines.some((l) => l.includes(b.code))).toBe(true);
		expect(lines.some((l) => l.includes('Charlie'))).toBe(false);
		const audited = await db.selectFrom('audit_event').select(['action']).where('target_id', '=', first.runId).execute();
		expect(audited.map((r) => r.action).sort()).toEqual(['billing.downloaded', 'billing.run']);
	});

	test('a concurrent burst of runs bills each package exactly once', async () => {
		const pr = await fresh();
		for (let i = 0; i < 6; i++) await patientWith({ lastName: `Rafale${i}` });
		const results = await Promise.all(Array.from({ length: 8 }, () => runBillingExport(db, ctx(), filter(pr), keys)));
		expect(results.filter((r) => r.ok)).toHaveLength(1);
		expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'nothing')).toBe(true);
		const lines = await db.selectFrom('billing_line').select(['patient_event_id', 'code']).where('microstructure_id', '=', pr.microstructureId).execute();
		expect(lines).toHaveLength(12);
		expect(new Set(lines.map((l) => `${l.patient_event_id}:${l.code}`)).size).toBe(12);
	});

	test('the database refuses a second active line for the same package and code', async () => {
		const pr = await fresh();
		await patientWith({});
		const run = await runBillingExport(db, ctx(), filter(pr), keys);
		if (!run.ok) throw new Error('expected a run');
		const line = await db.selectFrom('billing_line').selectAll().where('run_id', '=', run.runId).executeTakeFirstOrThrow();
		const { id: _id, ...copy } = line;
		await expect(db.insertInto('billing_line').values(copy).execute()).rejects.toThrow(/billing_line_once/);
	});

	test('a private psychologist changes the codes of the next packages, not of billed ones; rules hold on the run', async () => {
		const pr = await fresh();
		await patientWith({ event: { kind: 'include', on: '2026-01-15' } });
		await runBillingExport(db, ctx(), { ...filter(pr), to: '2026-01-31' }, keys);
		expect(await setFunding(db, ctx(), pr.networkId, pr.microstructureId, 'liberal')).toBe(true);
		await patientWith({ event: { kind: 'include', on: '2026-03-15' } });
		const second = await runBillingExport(db, ctx(), filter(pr), keys);
		if (!second.ok) throw new Error('expected a run');
		const codes = await db.selectFrom('billing_line').select('code').where('run_id', '=', second.runId).orderBy('code').execute();
		expect(codes.map((c) => c.code)).toEqual(['18N27B1', '18N27B2', '18N27C1']);
		// A microstructure of another network cannot be changed through this one.
		const other = await createPractice(db);
		expect(await setFunding(db, ctx(), pr.networkId, other.microstructureId, 'liberal')).toBe(false);
	});

	test('a correction voids the old lines and bills again with the current tariff; the old run stays traceable', async () => {
		const pr = await fresh();
		await patientWith({});
		await patientWith({});
		const first = await runBillingExport(db, ctx(), filter(pr), keys);
		if (!first.ok) throw new Error('expected a run');
		const input = tariffSchema.parse({ programme: 'MSMA', validFrom: '2026-01-01', total: '900', psychologist: '400', socialWorker: '250', adminCoordination: '40', medicalCoordination: '60' });
		await setTariff(db, ctx(), pr.networkId, input);
		const correction = await correctRun(db, ctx(), pr.networkId, first.runId, keys);
		expect(correction).toMatchObject({ ok: true, number: 2, lineCount: 4, totalCents: 2 * 90000 });
		const runs = await listRuns(db, pr.networkId);
		expect(runs.map((r) => [r.number, r.correctsNumber, r.correctedByNumber, r.activeLines])).toEqual([
			[2, 1, null, 4],
			[1, null, 2, 0]
		]);
		// Nothing is left to bill, and the corrected run cannot be corrected twice.
		expect(await runBillingExport(db, ctx(), filter(pr), keys)).toMatchObject({ ok: false, reason: 'nothing' });
		expect(await correctRun(db, ctx(), pr.networkId, first.runId, keys)).toMatchObject({ ok: false, reason: 'nothing' });
		// Another network's run is not found through this network.
		const other = await createPractice(db);
		expect(await correctRun(db, ctx(), other.networkId, correction.ok ? correction.runId : '', keys)).toMatchObject({ ok: false });
	});
});

describe('tariffs', () => {
	test('bad tariffs are refused with the reason; a good one applies from its date', async () => {
		const bad = (v: Record<string, string>) => tariffSchema.safeParse({ programme: 'MSMA', validFrom: '2026-01-01', total: '806', psychologist: '353', socialWorker: '228', adminCoordination: '38', medicalCoordination: '54', ...v });
		expect(bad({}).success).toBe(true);
		expect(bad({ psychologist: '-5' }).error?.issues[0].message).toBe('billing.errors.amount');
		expect(bad({ total: '0' }).error?.issues[0].message).toBe('billing.errors.total');
		expect(bad({ psychologist: '700' }).error?.issues[0].message).toBe('billing.errors.shares');
		expect(bad({ total: 'abc' }).success).toBe(false);
		expect(bad({ programme: 'XYZ' }).success).toBe(false);
		expect(bad({ total: '806,50' }).data?.total).toBe(80650);
		// A real day (PostgreSQL refused these with a server error), within the programmes' lifetime:
		// a tariff reprices every package from its date.
		for (const validFrom of ['2026-02-30', '2026-13-45', '2026-1-1', ''])
			expect(bad({ validFrom }).error?.issues[0].message, validFrom).toMatch(/^errors\.(date|required)$/);
		const nextYear = Number(parisToday().slice(0, 4)) + 1;
		for (const validFrom of ['0000-01-01', '1900-01-01', '2020-12-31', '9999-12-31', `${nextYear + 2}-01-01`])
			expect(bad({ validFrom }).error?.issues[0].message, validFrom).toMatch(/^(errors\.dateRange|billing\.errors\.validFrom)$/);
		expect(bad({ validFrom: '2020-12-31' }).error?.issues[0].message).toBe('billing.errors.validFrom');
		for (const validFrom of ['2021-01-01', `${nextYear + 1}-12-31`]) expect(bad({ validFrom }).success, validFrom).toBe(true);
		const pr = await fresh();
		await setTariff(db, ctx(), pr.networkId, bad({ validFrom: '2026-03-01', total: '850' }).data!);
		const tariffs = await listTariffs(db, pr.networkId);
		expect(tariffs.filter((t) => t.programme === 'MSMA').map((t) => [t.validFrom, t.totalCents])).toEqual([
			['2026-03-01', 85000],
			['2021-12-01', 80600]
		]);
		// The database holds the rules too.
		await expect(
			db.insertInto('billing_tariff').values({ network_id: pr.networkId, programme: 'MSPC', valid_from: '2026-01-01', total_cents: 100, psychologist_cents: -1, social_worker_cents: 0, admin_coordination_cents: 0, medical_coordination_cents: 0, updated_by: null }).execute()
		).rejects.toThrow();
	});
});
