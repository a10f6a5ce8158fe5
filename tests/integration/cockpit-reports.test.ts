// The coordinator's reports against a real database: the per-patient control file on fixed data
// (values computed by hand), the pseudonymised evaluation export (no identifying column, no
// identifying value anywhere in the file, even when the record holds recognisable ones), the
// statistical secret of its tables, the policy, and the two PDFs (render tasks run directly).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { createAppointment, createPractice, createUser, type Practice } from '../helpers/booking-fixture.ts';
import { pdfText } from '../helpers/render-fixtures.ts';
import type { Actor } from '../../src/lib/server/access/policy.ts';
import type { AppointmentStatus, Patient, Profession } from '../../src/lib/server/db/schema.ts';
import { auditControlFile, controlFile, controlFileCsv } from '../../src/lib/server/cockpit/control-file.ts';
import {
	aggregatesCsv,
	aggregateTables,
	EVALUATION_HEADER,
	evaluationCsv,
	evaluationRows,
	parsePeriod,
	protectLines,
	type AggregateTable,
	type Cell,
	type EvaluationRow
} from '../../src/lib/server/cockpit/evaluation.ts';
import { activityReport, reportYears } from '../../src/lib/server/cockpit/activity-report.ts';
import { tasks } from '../../src/lib/server/render/tasks.ts';
import { nirKey, setNir, nirKeysFrom } from '../../src/lib/server/patients/nir.ts';
import { withCockpit } from '../../src/lib/i18n/cockpit.ts';

// The app's dictionary with the cockpit's sections (kept out of the one every page downloads).
const fr = withCockpit('fr');

let t: TestDb;
let practice: Practice;
let msB: string;
let otherNetwork: Practice;
let psy: { id: string };
let ts: { id: string };
let gp: { id: string };
let coordinator: Actor;
let gpActor: Actor;
let p1: string;
let p1Code: string;

// Recognisable identifying values: none may appear in the evaluation export.
const SECRET = {
	lastName: 'Zorglubovitch',
	firstName: 'Ximenabelle',
	birthDate: '1961-07-14',
	phone: '06 99 88 77 66',
	email: 'zorglub.secret@exemple.test',
	medecinTraitant: 'Docteur Trucmuchemuche',
	exitDetail: 'Quetzalcoatl parti au loin',
	n13: '2610775123456'
};
const nir = `${SECRET.n13}${String(nirKey(SECRET.n13)).padStart(2, '0')}`;
const keys = nirKeysFrom([{ id: 'test', key: new Uint8Array(32).fill(9) }]);

type PatientSeed = Partial<Pick<Patient, 'last_name' | 'first_name' | 'birth_date' | 'sex' | 'phone' | 'email' | 'motif' | 'medecin_traitant' | 'state' | 'included_on' | 'renewal_due_on' | 'exited_on' | 'exit_reason'>>;

async function patient(msId: string, seed: PatientSeed = {}) {
	return t.db
		.insertInto('patient')
		.values({
			microstructure_id: msId,
			code: `P-${randomUUID().slice(0, 9).toUpperCase()}`,
			last_name: seed.last_name ?? 'Martin',
			first_name: seed.first_name ?? 'Alex',
			birth_date: seed.birth_date === undefined ? '1990-03-01' : seed.birth_date,
			sex: seed.sex === undefined ? 'F' : seed.sex,
			phone: seed.phone ?? null,
			email: seed.email ?? null,
			programme: 'MSMA',
			motif: seed.motif === undefined ? 'addiction' : seed.motif,
			orientation_origin: null,
			orientation: 'psychologue',
			medecin_traitant: seed.medecin_traitant ?? null,
			state: seed.state ?? 'inclus',
			oriented_on: null,
			included_on: seed.included_on ?? '2025-02-03',
			renewal_due_on: seed.renewal_due_on ?? null,
			first_contact_on: null,
			last_contact_on: null,
			exited_on: seed.exited_on ?? null,
			exit_reason: seed.exit_reason ?? null,
			consent_on: null,
			consent_method: null,
			consent_attested_by: null,
			transferred_from: null,
			created_by: null,
			anonymised_at: null
		})
		.returning(['id', 'code'])
		.executeTakeFirstOrThrow();
}

async function event(patientId: string, kind: string, on: string, details: Record<string, unknown> = {}) {
	await t.db.insertInto('patient_event').values({ patient_id: patientId, kind, occurred_on: on, recorded_by: null, details: JSON.stringify(details) }).execute();
}

/** An appointment at 10:00 Paris time (09:00 UTC in winter, 08:00 in summer: either is the same Paris day). */
async function appointment(p: Practice, professionalId: string, profession: Profession, patientId: string, day: string, status: AppointmentStatus) {
	const a = await createAppointment(t.db, p, professionalId, patientId, new Date(`${day}T09:00:00Z`), { profession });
	const cancelled = status === 'annule' ? { cancelled_at: new Date(), cancelled_by: professionalId, cancel_reason: 'patient' as const } : {};
	await t.db.updateTable('appointment').set({ status, ...cancelled }).where('id', '=', a.id).execute();
}

async function passage(msId: string, patientId: string, day: string, decision: 'poursuite' | 'adaptation_pps') {
	const session = await t.db
		.insertInto('rcp_session')
		.values({ microstructure_id: msId, series_id: null, title: 'RCP', starts_at: new Date(`${day}T11:00:00Z`), ends_at: new Date(`${day}T12:00:00Z`), room_id: null, visio_url: null, programme: null, status: 'cloturee', template: JSON.stringify({ minFrequency: 'mensuelle' }), agenda_built_at: null, animator_id: null, pointer_item_id: null, pointer_since: null, started_at: null, closed_at: null, closed_by: null, created_by: null, occurrence_at: null })
		.returning('id')
		.executeTakeFirstOrThrow();
	await t.db.insertInto('rcp_passage').values({ patient_id: patientId, session_id: session.id, on_date: day, decision }).execute();
}

beforeAll(async () => {
	t = await createTestDb();
	practice = await createPractice(t.db, 'A');
	msB = (await t.db.insertInto('microstructure').values({ network_id: practice.networkId, name: 'Maison de santé B', programmes: ['MSMA'] }).returning('id').executeTakeFirstOrThrow()).id;
	otherNetwork = await createPractice(t.db, 'Z');
	psy = await createUser(t.db, 'psychologue', 'Psy', 'Camille');
	ts = await createUser(t.db, 'travailleur_social', 'Social', 'Karim');
	gp = await createUser(t.db, 'medecin_generaliste', 'Généraliste', 'Inès');
	coordinator = { userId: randomUUID(), platformAdmin: false, microstructures: [], networks: [{ id: practice.networkId, role: 'coordination_medicale' }] };
	gpActor = { userId: gp.id, platformAdmin: false, microstructures: [{ id: practice.microstructureId, networkId: practice.networkId, role: 'soignant' }], networks: [] };

	// P1: included 2025-01-06, first contact, renewed, exited ("autre" with a free-text detail),
	// re-included 2026-04-01; every identifying field filled with a recognisable value.
	const one = await patient(practice.microstructureId, {
		last_name: SECRET.lastName,
		first_name: SECRET.firstName,
		birth_date: SECRET.birthDate,
		phone: SECRET.phone,
		email: SECRET.email,
		medecin_traitant: SECRET.medecinTraitant,
		motif: 'precarite',
		state: 'en_suivi',
		included_on: '2026-04-01',
		renewal_due_on: '2027-04-01'
	});
	p1 = one.id;
	p1Code = one.code;
	const set = await setNir(t.db, p1, { status: 'fourni', nir }, null, keys);
	expect(set.ok).toBe(true);
	await event(p1, 'include', '2025-01-06', { orientation: 'les_deux', consent: { on: '2025-01-06', method: 'oral_atteste' } });
	await event(p1, 'first_contact', '2025-01-20');
	await event(p1, 'renew', '2025-12-15', { period_from: '2026-01-06' });
	await event(p1, 'exit', '2026-03-02', { reason: 'autre', detail: SECRET.exitDetail });
	await event(p1, 'reinclude', '2026-04-01', { orientation: 'psychologue', consent: { on: '2026-04-01', method: 'oral_atteste' } });
	await event(p1, 'first_contact', '2026-04-15');
	await appointment(practice, psy.id, 'psychologue', p1, '2025-01-20', 'venu');
	await appointment(practice, psy.id, 'psychologue', p1, '2025-02-10', 'venu');
	await appointment(practice, psy.id, 'psychologue', p1, '2025-03-03', 'absent');
	await appointment(practice, psy.id, 'psychologue', p1, '2025-03-17', 'excuse');
	await appointment(practice, ts.id, 'travailleur_social', p1, '2025-02-12', 'venu');
	await appointment(practice, psy.id, 'psychologue', p1, '2026-04-15', 'venu');
	await appointment(practice, gp.id, 'medecin_generaliste', p1, '2026-04-20', 'venu');
	// A cancelled appointment counts nowhere.
	await appointment(practice, psy.id, 'psychologue', p1, '2025-04-07', 'annule');
	await passage(practice.microstructureId, p1, '2025-03-20', 'poursuite');
	await passage(practice.microstructureId, p1, '2025-06-19', 'adaptation_pps');
	await passage(practice.microstructureId, p1, '2026-05-21', 'poursuite');

	// P2: no birth date, a man, transferred.
	const two = await patient(practice.microstructureId, { sex: 'M', birth_date: null, state: 'transfere', included_on: '2025-05-05', exited_on: '2025-09-01' });
	await event(two.id, 'include', '2025-05-05', { orientation: 'travailleur_social' });
	await event(two.id, 'transfer', '2025-09-01', { to: msB });

	// Six women of 25–39 in B (counts of 5 or more are shown).
	for (let i = 0; i < 6; i++) {
		const p = await patient(msB, { birth_date: '1990-03-01', included_on: `2025-02-0${i + 1}` });
		await event(p.id, 'include', `2025-02-0${i + 1}`, { orientation: 'psychologue' });
	}
	// Outside the period, and in another network: never exported.
	const old = await patient(practice.microstructureId, { last_name: 'Avantlaperiode', included_on: '2024-06-03' });
	await event(old.id, 'include', '2024-06-03', { orientation: 'psychologue' });
	const elsewhere = await patient(otherNetwork.microstructureId, { last_name: 'Autreseau', included_on: '2025-06-02' });
	await event(elsewhere.id, 'include', '2025-06-02', { orientation: 'psychologue' });
});
afterAll(async () => {
	await t?.close();
});

const PERIOD = { from: '2025-01-01', to: '2026-12-31' };

async function openP1() {
	return t.db.selectFrom('patient').selectAll().where('id', '=', p1).executeTakeFirstOrThrow();
}

describe('control file', () => {
	test('lists the inclusions, consultations per professional, RCP passages, renewals and exit (hand-computed)', async () => {
		const file = await controlFile(t.db, await openP1(), 'Microstructure addictions A', '2026-12-04');
		expect(file.patient).toMatchObject({ code: p1Code, label: `${SECRET.lastName.toUpperCase()} ${SECRET.firstName}`, programme: 'MSMA', state: 'en_suivi' });
		expect(file.inclusions).toEqual([
			{ kind: 'include', on: '2025-01-06' },
			{ kind: 'reinclude', on: '2026-04-01' }
		]);
		// Ordered by profession, then name.
		expect(file.consultations.map((c) => [c.name, c.profession, c.held, c.absent, c.excused])).toEqual([
			['Inès Généraliste', 'medecin_generaliste', ['2026-04-20'], [], []],
			['Camille Psy', 'psychologue', ['2025-01-20', '2025-02-10', '2026-04-15'], ['2025-03-03'], ['2025-03-17']],
			['Karim Social', 'travailleur_social', ['2025-02-12'], [], []]
		]);
		expect(file.totals).toEqual({ held: 5, absent: 1, excused: 1 });
		expect(file.rcp).toEqual([
			{ on: '2025-03-20', decision: 'poursuite' },
			{ on: '2025-06-19', decision: 'adaptation_pps' },
			{ on: '2026-05-21', decision: 'poursuite' }
		]);
		expect(file.renewals).toEqual(['2025-12-15']);
		expect(file.renewalDueOn).toBe('2027-04-01');
		expect(file.exits).toEqual([{ on: '2026-03-02', reason: 'autre' }]);
	});

	test('CSV: BOM, documented columns, one line per fact, never the NIR nor the exit detail', async () => {
		const csv = controlFileCsv(await controlFile(t.db, await openP1(), 'Microstructure addictions A', '2026-12-04'), fr);
		expect(csv.startsWith('\ufeff# ')).toBe(true);
		const lines = csv.slice(1).split('\r\n').filter(Boolean);
		const data = lines.filter((l) => !l.startsWith('#'));
		expect(data[0]).toBe('rubrique;date;professionnel;profession;detail');
		expect(lines.filter((l) => l.startsWith('#')).some((l) => l.includes('rubrique'))).toBe(true);
		expect(data.filter((l) => l.startsWith('consultation;'))).toHaveLength(5);
		expect(data).toContain('consultation;2025-01-20;Camille Psy;Psychologue;');
		expect(data).toContain('absence;2025-03-03;Camille Psy;Psychologue;');
		expect(data).toContain('excuse;2025-03-17;Camille Psy;Psychologue;');
		expect(data).toContain('rcp;2025-06-19;;;Adaptation du PPS');
		expect(data).toContain('renouvellement;2025-12-15;;;');
		expect(data).toContain('prochaine_echeance;2027-04-01;;;');
		expect(data).toContain('sortie;2026-03-02;;;Autre');
		expect(data.filter((l) => /^(inclusion|reinclusion);/.test(l))).toEqual(['inclusion;2025-01-06;;;', 'reinclusion;2026-04-01;;;']);
		expect(csv).not.toContain(SECRET.n13);
		expect(csv).not.toContain(SECRET.exitDetail);
	});

	test('every view and download is audited with its format', async () => {
		const ref = { id: practice.microstructureId, networkId: practice.networkId };
		for (const format of ['page', 'csv', 'pdf'] as const) await auditControlFile(t.db, { actorId: gp.id, ip: '127.0.0.1', userAgent: 'vitest' }, ref, p1, format);
		const rows = await t.db.selectFrom('audit_event').select(['action', 'target_type', 'details', 'microstructure_id']).where('target_id', '=', p1).where('action', '=', 'patient.control_file').orderBy('id').execute();
		expect(rows.map((r) => [r.target_type, r.details.format, r.microstructure_id])).toEqual([
			['patient', 'page', practice.microstructureId],
			['patient', 'csv', practice.microstructureId],
			['patient', 'pdf', practice.microstructureId]
		]);
	});

	test('PDF: the render task returns a PDF with the file', async () => {
		const file = await controlFile(t.db, await openP1(), 'Microstructure addictions A', '2026-12-04');
		const pdf = await tasks.controlFilePdf({ file, locale: 'fr' });
		expect(Buffer.from(pdf).subarray(0, 5).toString('latin1')).toBe('%PDF-');
		const text = pdfText(pdf);
		expect(text).toContain('Fichier de contrôle');
		expect(text).toContain('Camille Psy');
		expect(text).toContain('Adaptation du PPS');
		expect(text).not.toContain(SECRET.n13);
	});
});

describe('evaluation export', () => {
	let rows: EvaluationRow[];
	beforeAll(async () => {
		rows = (await evaluationRows(t.db, coordinator, practice.networkId, PERIOD))!;
	});

	test('one row per inclusion episode of the period, with relative days and counts (hand-computed)', async () => {
		expect(rows).toHaveLength(9);
		const mine = rows.filter((r) => r.code === p1Code);
		expect(mine).toEqual([
			expect.objectContaining({
				inclusionNumber: 1,
				inclusionKind: 'inclusion',
				sex: 'F',
				ageBand: '55-69',
				motif: 'precarite',
				orientation: 'les_deux',
				firstContactDay: 14,
				renewalDays: [343],
				exitDay: 420,
				exitReason: 'autre',
				consultations: { medecin_generaliste: 0, psychologue: 2, travailleur_social: 1, psychiatre: 0, autres: 0 },
				noShows: 1,
				excused: 1,
				rcpPassages: 2
			}),
			expect.objectContaining({
				inclusionNumber: 2,
				inclusionKind: 'reinclusion',
				ageBand: '55-69',
				orientation: 'psychologue',
				firstContactDay: 14,
				renewalDays: [],
				exitDay: null,
				exitReason: null,
				consultations: { medecin_generaliste: 1, psychologue: 1, travailleur_social: 0, psychiatre: 0, autres: 0 },
				noShows: 0,
				excused: 0,
				rcpPassages: 1
			})
		]);
		const transferred = rows.find((r) => r.sex === 'M')!;
		expect(transferred).toMatchObject({ ageBand: 'inconnu', orientation: 'travailleur_social', exitDay: 119, exitReason: 'transfert', firstContactDay: null });
		// Follow-up is observed up to the end of the period: the same file whenever it is exported.
		const cut = (await evaluationRows(t.db, coordinator, practice.networkId, { from: '2025-01-01', to: '2025-12-31' }))!.filter((r) => r.code === p1Code);
		expect(cut).toHaveLength(1);
		expect(cut[0]).toMatchObject({ exitDay: null, renewalDays: [343], rcpPassages: 2 });
	});

	test('the CSV has no identifying column and no identifying value anywhere', () => {
		const csv = evaluationCsv(rows, PERIOD, 'Réseau A', 'fr');
		expect(csv.startsWith('\ufeff#')).toBe(true);
		const header = csv.slice(1).split('\r\n').find((l) => !l.startsWith('#'))!;
		expect(header.split(';')).toEqual(EVALUATION_HEADER);
		for (const column of header.split(';')) expect(column).not.toMatch(/nom|name|prenom|naissance|birth|nir|phone|telephone|mail|adresse|medecin_traitant|detail|note/i);
		const birthFr = SECRET.birthDate.split('-').reverse().join('/');
		for (const value of [SECRET.lastName, SECRET.firstName, SECRET.birthDate, birthFr, '1961', SECRET.phone, SECRET.phone.replaceAll(' ', ''), SECRET.email, SECRET.medecinTraitant, SECRET.exitDetail, 'Quetzalcoatl', SECRET.n13, nir, 'Avantlaperiode', 'Autreseau', 'Martin', 'Alex']) {
			expect(csv.toLowerCase()).not.toContain(value.toLowerCase());
		}
		const data = csv.slice(1).split('\r\n').filter((l) => l && !l.startsWith('#'));
		expect(data).toHaveLength(10);
		expect(data.find((l) => l.startsWith(`${p1Code};1;`))).toBe(`${p1Code};1;inclusion;Microstructure addictions A;MSMA;F;55-69;precarite;les_deux;14;1;343;420;autre;0;2;1;0;0;1;1;2`);
	});

	test('aggregate tables hide counts of 1 to 4 and whatever would give them back', () => {
		const tables = aggregateTables(rows, [
			{ id: practice.microstructureId, name: 'Microstructure addictions A' },
			{ id: msB, name: 'Maison de santé B' }
		]);
		const sexe = tables.find((x) => x.dimension === 'sexe')!;
		const a = sexe.rows.find((r) => r.microstructureId === practice.microstructureId)!;
		const b = sexe.rows.find((r) => r.microstructureId === msB)!;
		// A: 2 women, 1 man (small); B: 6 women, but its total would give A's back from the grand total.
		expect(a.cells[0]).toMatchObject({ value: 2, suppressed: 'small' });
		expect(a.cells[1]).toMatchObject({ value: 1, suppressed: 'small' });
		expect(a.total).toMatchObject({ value: 3, suppressed: 'small' });
		expect(b.total.suppressed).toBe('secondary');
		expect(b.cells[0].suppressed).not.toBeNull();
		for (const table of tables) expectProtected(table);
		const csv = aggregatesCsv(tables, PERIOD, 'Réseau A', 'fr');
		expect(csv).toContain('sexe;Microstructure addictions A;F;\r\n');
		expect(csv).not.toMatch(/;[1-4]\r\n/);
	});

	test('the statistical secret holds on random tables', () => {
		const codes = ['F', 'M', 'X', 'inconnu'] as const;
		for (let seed = 1; seed <= 200; seed++) {
			let state = seed;
			const rand = (n: number) => ((state = (state * 1103515245 + 12345) % 2 ** 31), state % n);
			const msCount = 1 + rand(5);
			const ms = Array.from({ length: msCount }, (_, i) => ({ id: `ms-${i}`, name: `MS ${i}` }));
			const fake: EvaluationRow[] = Array.from({ length: rand(60) }, () => {
				const m = ms[rand(msCount)];
				return { ...rows[0], microstructureId: m.id, microstructure: m.name, sex: codes[rand(4)], ageBand: (['<25', '25-39', '70+'] as const)[rand(3)], motif: rows[0].motif };
			});
			for (const table of aggregateTables(fake, ms)) expectProtected(table);
		}
	});

	test('protectLines hides a second entry in a line that has only one hidden', () => {
		const cells: Cell[] = [
			{ value: 3, suppressed: 'small', role: 'inner' },
			{ value: 12, suppressed: null, role: 'inner' },
			{ value: 7, suppressed: null, role: 'inner' },
			{ value: 22, suppressed: null, role: 'margin' }
		];
		expect(protectLines([cells])).toBe(true);
		expect(cells.map((c) => c.suppressed)).toEqual(['small', null, 'secondary', null]);
	});

	test('period: French errors for bad or inverted dates, never an exception', () => {
		expect(parsePeriod(new URLSearchParams({ from: '2025-01-01', to: '2025-12-31' }), 'fr')).toEqual({ ok: true, period: { from: '2025-01-01', to: '2025-12-31' } });
		const inverted = parsePeriod(new URLSearchParams({ from: '2025-12-31', to: '2025-01-01' }), 'fr');
		expect(inverted).toMatchObject({ ok: false, errors: { to: fr.reports.period.inverted } });
		const bad = parsePeriod(new URLSearchParams({ from: '2025-02-30', to: 'demain' }), 'fr');
		expect(bad).toMatchObject({ ok: false, errors: { from: 'Date invalide.', to: 'Date invalide.' } });
		expect(parsePeriod(new URLSearchParams({ to: '2025-01-01' }), 'fr')).toMatchObject({ ok: false, errors: { from: 'Ce champ est obligatoire.' } });
		expect(parsePeriod(new URLSearchParams({ from: '2025-01-01\u0000', to: '2025-01-02' }), 'fr').ok).toBe(false);
		expect(parsePeriod(new URLSearchParams({ from: '2000-01-01', to: '2020-01-01' }), 'fr')).toMatchObject({ ok: false, errors: { to: fr.reports.period.tooLong } });
	});

	test('policy: a GP is refused the network export and the yearly report; a coordinator of another network too', async () => {
		expect(await evaluationRows(t.db, gpActor, practice.networkId, PERIOD)).toBeNull();
		expect(await activityReport(t.db, gpActor, { id: practice.networkId, name: 'Réseau A' }, 2025, '2026-12-04')).toBeNull();
		const stranger: Actor = { ...coordinator, networks: [{ id: otherNetwork.networkId, role: 'coordination_administrative' }] };
		expect(await evaluationRows(t.db, stranger, practice.networkId, PERIOD)).toBeNull();
		const admin: Actor = { ...coordinator, networks: [{ id: practice.networkId, role: 'coordination_administrative' }] };
		expect(await evaluationRows(t.db, admin, practice.networkId, PERIOD)).toHaveLength(9);
	});
});

describe('yearly activity report', () => {
	test('figures per microstructure and in total, and a PDF with its charts', async () => {
		expect(await reportYears(t.db, practice.networkId, '2026-12-04')).toEqual([2026, 2025, 2024]);
		const report = (await activityReport(t.db, coordinator, { id: practice.networkId, name: 'Réseau A' }, 2025, '2026-12-04'))!;
		expect(report).toMatchObject({ year: 2025, from: '2025-01-01', to: '2025-12-31' });
		// 2025: P1's inclusion, P2's, six in B; P1's renewal; P2's transfer.
		expect(report.total).toMatchObject({ inclusions: 8, renewals: 1, transfers: 1, exits: 0 });
		expect(report.units.map((u) => [u.name, u.inclusions])).toEqual([
			['Maison de santé B', 6],
			['Microstructure addictions A', 2]
		]);
		expect(report.months.find((m) => m.month === '2025-02')!.total).toBe(6);
		// Counts only: no patient code travels to the PDF.
		expect(JSON.stringify(report)).not.toContain(p1Code);
		const pdf = await tasks.activityReportPdf({ report, locale: 'fr' });
		expect(Buffer.from(pdf).subarray(0, 5).toString('latin1')).toBe('%PDF-');
		const text = pdfText(pdf);
		// Standard fonts print '’' as its WinAnsi byte.
		expect(text.replaceAll('\u0092', '’')).toContain('Rapport d’activité 2025');
		expect(text).toContain('Maison de santé B');
		expect(text).toContain('Inclusions par microstructure');
	});
});

/** Every line (cells and their total) has no hidden entry or at least two; no shown count is 1 to 4. */
function expectProtected(table: AggregateTable) {
	const lines: Cell[][] = [
		...table.rows.map((r) => [...r.cells, r.total]),
		...table.categories.map((_, j) => [...table.rows.map((r) => r.cells[j]), table.totals[j]]),
		[...table.totals, table.grand],
		[...table.rows.map((r) => r.total), table.grand]
	];
	for (const line of lines) {
		expect(line.filter((c) => c.suppressed).length).not.toBe(1);
		for (const c of line) if (!c.suppressed) expect(c.value === 0 || c.value > 4).toBe(true);
	}
}
