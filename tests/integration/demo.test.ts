// The demo a newcomer meets on the first `npm start`, seeded into a fresh database: an RCP in
// progress today that Inès, Camille and the coordinator can join, most followed patients with a
// real PPS that the server would accept, PPS versions validated by past RCPs and linked from their
// minutes, closed sessions with full minutes, care teams that follow each patient's orientation,
// and team notes that quote the real RCP series. Also the orientation rule itself.
process.env.LOG_LEVEL = 'silent';
process.env.NIR_KEYS ??= `test:${Buffer.alloc(32, 7).toString('base64')}`;

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { DEMO_PEOPLE, demoEmail, demoLoginsText, seedDemo } from '../../src/lib/server/demo/seed.ts';
import { loadActor, ppsAccess, rcpAccess } from '../../src/lib/server/access/policy.ts';
import { addDays, parisToday } from '../../src/lib/server/patients/lifecycle.ts';
import { careTeamForOrientation, professionalsForOrientation } from '../../src/lib/server/patients/care-team.ts';
import { loadUpdates } from '../../src/lib/server/realtime/yjs-store.ts';
import { ppsDocName, resolvePatientRef } from '../../src/lib/server/pps/pps.ts';
import { liveState } from '../../src/lib/server/rcp/live.ts';
import { describeRecurrence, parisWallClock } from '../../src/lib/server/rcp/schedule.ts';
import { listSessions, rcpMicrostructures, resolveRcpSession } from '../../src/lib/server/rcp/sessions.ts';
import { createMicrostructure } from '../../src/lib/server/org/microstructures.ts';
import { addMembership } from '../../src/lib/server/org/memberships.ts';
import { createUser } from '../../src/lib/server/org/users.ts';
import { sendReminder } from '../../src/lib/server/booking/reminders.ts';
import { checkChanges, defineRoots } from '../../src/lib/realtime/doc-schema.ts';
import { LIMITS, PPS_SCHEMA, project, projectionProblems, type PpsProjection } from '../../src/lib/pps/model.ts';

const TODAY = parisToday();

let t: TestDb;
let ids: Awaited<ReturnType<typeof seedDemo>>;
let seedSeconds = 0;

beforeAll(async () => {
	t = await createTestDb();
	const started = performance.now();
	ids = await seedDemo(t.db);
	seedSeconds = (performance.now() - started) / 1000;
}, 120_000);

afterAll(async () => {
	await t?.close();
});

const user = (login: string) => ids.users[login];

/** What the server would do with the stored document: refuse it, or accept it and project it. */
function checkStored(updates: Uint8Array[]): { refusal: string | null; projection: PpsProjection } {
	const doc = new Y.Doc();
	defineRoots(doc, PPS_SCHEMA);
	let refusal: string | null = null;
	doc.on('afterTransaction', (tr: Y.Transaction) => {
		refusal ??= checkChanges(doc, tr.changed, PPS_SCHEMA);
	});
	for (const u of updates) Y.applyUpdate(doc, u);
	const projection = project(doc);
	if (Y.encodeStateAsUpdate(doc).byteLength > PPS_SCHEMA.maxBytes) refusal ??= 'too large';
	doc.destroy();
	return { refusal, projection };
}

const isEmpty = (p: PpsProjection) => !p.goals && !p.crisis && p.problems.length === 0 && p.objectives.length === 0 && p.actions.length === 0 && p.entretiens.length === 0;

test('seeds in reasonable time', () => {
	// Measured around 5 s on a loaded two-core machine; a regression to minutes would show here.
	expect(seedSeconds).toBeLessThan(60);
});

describe('the RCP in progress', () => {
	async function liveSession() {
		const rows = await t.db.selectFrom('rcp_session').selectAll().where('status', '=', 'en_cours').execute();
		expect(rows).toHaveLength(1);
		return rows[0];
	}

	test('is today at the Cabinet des Tanneurs, started minutes ago, agenda built, pointer on a case', async () => {
		const s = await liveSession();
		expect(s.microstructure_id).toBe(ids.microstructures.tanneurs);
		expect(parisWallClock(s.starts_at).date).toBe(TODAY);
		expect(s.animator_id).toBe(user('ines.haddad'));
		expect(s.agenda_built_at).not.toBeNull();
		const startedAgo = Date.now() - s.started_at!.getTime();
		expect(startedAgo).toBeGreaterThan(5 * 60_000);
		expect(startedAgo).toBeLessThan(60 * 60_000);
		const state = (await liveState(t.db, s.id))!;
		const pointed = state.items.find((i) => i.id === state.pointer.itemId);
		expect(pointed?.kind).toBe('cas');
		expect(pointed?.decision).toBeNull();
		const cases = state.items.filter((i) => i.kind === 'cas');
		expect(cases.length).toBeGreaterThanOrEqual(4);
		// Each line says why it is there; one of them is a question from the team.
		for (const c of cases) expect(c.reasons.length).toBeGreaterThan(0);
		expect(cases.some((c) => c.reasons.some((r) => r.code === 'flagged'))).toBe(true);
		expect(cases.some((c) => c.prepNotes.length > 0)).toBe(true);
	});

	test('has people present and decisions with actions already recorded', async () => {
		const s = await liveSession();
		const state = (await liveState(t.db, s.id))!;
		const present = state.participants.filter((p) => p.attendance === 'present' || p.attendance === 'distance');
		expect(present.map((p) => p.userId)).toEqual(expect.arrayContaining([user('ines.haddad'), user('paul.schmitt')]));
		// Present as the attendance rule has it (time connected, or there at a decision), not by hand;
		// and nobody is connected once the demo is loaded.
		for (const p of present) {
			expect(p.manual).toBe(false);
			expect(p.atDecision || p.presentSeconds >= 5 * 60).toBe(true);
		}
		const seen = await t.db.selectFrom('rcp_participant').select('user_id').where('session_id', '=', s.id).where('seen_at', 'is not', null).execute();
		expect(seen).toEqual([]);
		const decided = state.items.filter((i) => i.decision);
		expect(decided.length).toBeGreaterThanOrEqual(1);
		for (const d of decided) {
			expect(d.actions.length).toBeGreaterThan(0);
			for (const a of d.actions) expect(a.dueOn! >= TODAY).toBe(true);
		}
		const notes = await loadUpdates(t.db, `rcp-notes:${decided[0].id}`);
		expect(notes.updates).toHaveLength(1);
	});

	test('Inès, Camille and the medical coordinator find it among their RCPs and may join it', async () => {
		const s = await liveSession();
		for (const login of ['ines.haddad', 'camille.durand', 'marc.weber']) {
			const actor = await loadActor(t.db, user(login));
			const mine = await rcpMicrostructures(t.db, actor);
			const listed = await listSessions(t.db, mine.map((m) => m.id), new Date(), new Date(Date.now() + 86400_000));
			expect(listed.find((x) => x.id === s.id)?.status, login).toBe('en_cours');
			const ref = (await resolveRcpSession(t.db, s.id, user(login)))!;
			expect(rcpAccess(actor, ref).level, login).toBe('team');
		}
		// The secretariat sees the schedule, not the session's cases.
		const nadia = await loadActor(t.db, user('nadia.benali'));
		expect(rcpAccess(nadia, (await resolveRcpSession(t.db, s.id, user('nadia.benali')))!).level).toBe('none');
	});
});

describe('PPS', () => {
	test('most included and followed patients have a real plan that the server accepts', async () => {
		const patients = await t.db.selectFrom('patient').select(['id', 'state', 'microstructure_id']).execute();
		const active = patients.filter((p) => p.state === 'inclus' || p.state === 'en_suivi');
		let written = 0;
		for (const p of patients) {
			const { updates } = await loadUpdates(t.db, ppsDocName(p.id));
			if (updates.length === 0) continue;
			// Written once, as one update, like a document compacted by the server.
			expect(updates).toHaveLength(1);
			const { refusal, projection } = checkStored(updates);
			expect(refusal, p.id).toBeNull();
			expect(projectionProblems(projection), p.id).toEqual([]);
			if (isEmpty(projection)) continue;
			if (active.includes(p)) written++;
			// The stored JSON projection is the document's.
			const row = await t.db.selectFrom('pps').select('projection').where('patient_id', '=', p.id).executeTakeFirstOrThrow();
			expect(row.projection).toEqual(projection);
			// People named in the plan are in the patient's care team.
			const team = new Set((await t.db.selectFrom('patient_team_member').select('user_id').where('patient_id', '=', p.id).execute()).map((r) => r.user_id));
			for (const a of projection.actions) {
				expect(team.has(a.owner), a.what).toBe(true);
				expect(a.due).toMatch(/^\d{4}-\d{2}-\d{2}$/);
				expect(['a_faire', 'en_cours', 'fait', 'abandonne']).toContain(a.status);
				expect(a.what.length).toBeLessThanOrEqual(LIMITS.field);
			}
			for (const e of projection.entretiens) expect(team.has(e.professional)).toBe(true);
			expect(team.has(projection.coordinator)).toBe(true);
		}
		expect(written / active.length).toBeGreaterThan(0.7);
	});

	test('a full plan has rich text, problems and objectives by domain, actions, sessions, criteria and a review date', async () => {
		const rows = await t.db.selectFrom('pps as p').innerJoin('patient as pa', 'pa.id', 'p.patient_id').select(['p.patient_id', 'p.projection']).where('pa.state', '=', 'en_suivi').execute();
		const full = rows.map((r) => r.projection as unknown as PpsProjection).filter((p) => p.goals && p.crisis && p.evaluation && p.reviewDate && p.problems.length >= 3 && p.objectives.length >= 3 && p.actions.length >= 3 && p.entretiens.length >= 2);
		expect(full.length).toBeGreaterThan(rows.length * 0.7);
		// Varied: many different first problems, several domains.
		expect(new Set(full.map((p) => p.problems[0].text)).size).toBeGreaterThanOrEqual(6);
		expect(new Set(full.flatMap((p) => p.problems.map((x) => x.domain))).size).toBeGreaterThanOrEqual(6);
		// Rich text as the editor writes it: paragraphs and bullet lists of paragraphs.
		const { updates } = await loadUpdates(t.db, ppsDocName(rows[0].patient_id));
		const doc = new Y.Doc();
		Y.applyUpdate(doc, updates[0]);
		const goals = doc.getXmlFragment('goals').toArray() as Y.XmlElement[];
		expect(goals.map((n) => n.nodeName)).toEqual(['paragraph', 'bulletList']);
		const item = goals[1].get(0) as Y.XmlElement;
		expect(item.nodeName).toBe('listItem');
		expect((item.get(0) as Y.XmlElement).nodeName).toBe('paragraph');
		expect((item.get(0) as Y.XmlElement).get(0)).toBeInstanceOf(Y.XmlText);
	});

	test('care-team members may edit the plans of the patients on the live agenda', async () => {
		const s = await t.db.selectFrom('rcp_session').select('id').where('status', '=', 'en_cours').executeTakeFirstOrThrow();
		const items = await t.db.selectFrom('rcp_item').select('patient_id').where('session_id', '=', s.id).where('kind', '=', 'cas').execute();
		for (const { patient_id } of items) {
			const ref = (await resolvePatientRef(t.db, patient_id!))!;
			for (const member of ref.careTeam) expect(ppsAccess(await loadActor(t.db, member), ref)).toBe('rw');
		}
	});
});

describe('past RCPs', () => {
	test('validated PPS versions, linked from the minutes and dated at the session', async () => {
		const versions = await t.db.selectFrom('pps_version').selectAll().where('rcp_id', 'is not', null).execute();
		expect(versions.length).toBeGreaterThan(10);
		for (const v of versions) {
			const item = await t.db
				.selectFrom('rcp_item as i')
				.innerJoin('rcp_session as s', 's.id', 'i.session_id')
				.select(['i.pps_version', 's.status', 's.closed_at', 's.starts_at'])
				.where('i.session_id', '=', v.rcp_id!)
				.where('i.patient_id', '=', v.patient_id)
				.executeTakeFirstOrThrow();
			expect(item.pps_version).toBe(v.number);
			expect(item.status).toBe('cloturee');
			expect(v.created_at.getTime()).toBe(item.closed_at!.getTime());
			// The snapshot is the version's projection, and a valid document.
			const { refusal, projection } = checkStored([v.snapshot]);
			expect(refusal).toBeNull();
			expect(projection).toEqual(v.projection);
		}
		// Some patients have two versions from two sessions, and each version differs from the one
		// before: "Comparer" always has something to show.
		const twice = await t.db.selectFrom('pps_version').select('patient_id').where('rcp_id', 'is not', null).groupBy('patient_id').having((eb) => eb.fn.countAll(), '>', 1).execute();
		expect(twice.length).toBeGreaterThan(0);
		const all = await t.db.selectFrom('pps_version').select(['patient_id', 'number', 'projection']).orderBy('patient_id').orderBy('number').execute();
		for (let i = 1; i < all.length; i++) {
			if (all[i].patient_id === all[i - 1].patient_id) expect(all[i].projection, all[i].patient_id).not.toEqual(all[i - 1].projection);
		}
	});

	test('closed sessions have full minutes: notes, decisions with actions, attendance, passages', async () => {
		const sessions = await t.db.selectFrom('rcp_session').selectAll().where('status', '=', 'cloturee').execute();
		expect(sessions.length).toBe(12);
		for (const s of sessions) {
			expect(s.series_id).not.toBeNull();
			expect(s.closed_at! > s.started_at!).toBe(true);
			expect(parisWallClock(s.starts_at).date < TODAY).toBe(true);
			const state = (await liveState(t.db, s.id))!;
			const decided = state.items.filter((i) => i.kind === 'cas' && i.decision);
			expect(decided.length).toBeGreaterThanOrEqual(3);
			for (const c of decided) expect(c.minutesNotes?.length).toBeGreaterThan(20);
			expect(decided.some((c) => c.actions.length > 0)).toBe(true);
			for (const o of state.items.filter((i) => i.kind !== 'cas')) expect(o.minutesNotes).toBeTruthy();
			expect(state.participants.length).toBeGreaterThan(2);
			for (const p of state.participants) {
				expect(p.attendance).not.toBeNull();
				// The sheet agrees with the time accounted.
				if (p.attendance === 'present' || p.attendance === 'distance') expect(p.presentSeconds).toBeGreaterThanOrEqual(5 * 60);
			}
			const passages = await t.db.selectFrom('rcp_passage').select('patient_id').where('session_id', '=', s.id).execute();
			expect(passages.map((p) => p.patient_id).sort()).toEqual(decided.map((c) => c.patientId).sort());
		}
		// Actions of the latest sessions are partly still open: they are on people's "À faire".
		const open = await t.db.selectFrom('rcp_action').select('owner_id').where('done_at', 'is', null).execute();
		expect(open.length).toBeGreaterThan(0);
		const done = await t.db.selectFrom('rcp_action').select(['done_at']).where('done_at', 'is not', null).execute();
		for (const d of done) expect(d.done_at!.getTime()).toBeLessThan(Date.now());
	});
});

describe('care teams follow the orientation', () => {
	test('every demo patient: the GP who included, plus the professionals the orientation names', async () => {
		const patients = await t.db.selectFrom('patient').select(['id', 'microstructure_id', 'orientation', 'created_by', 'transferred_from']).execute();
		const users = new Map((await t.db.selectFrom('app_user').select(['id', 'profession']).execute()).map((u) => [u.id, u.profession]));
		let referred = 0;
		for (const p of patients) {
			const team = (await t.db.selectFrom('patient_team_member').select('user_id').where('patient_id', '=', p.id).execute()).map((r) => r.user_id);
			const gps = team.filter((id) => users.get(id) === 'medecin_generaliste');
			expect(gps, p.id).toHaveLength(1);
			// A transferred patient's new record is followed by a GP of the receiving microstructure.
			if (!p.transferred_from) expect(gps[0]).toBe(p.created_by);
			const expected = p.orientation ? await careTeamForOrientation(t.db, p.microstructure_id, gps[0], p.orientation) : [gps[0]];
			expect(team.sort(), p.id).toEqual(expected.sort());
			if (p.orientation) referred += expected.length - 1;
		}
		expect(referred).toBeGreaterThan(patients.length);
	});

	test('recent inclusions reached the professionals they were referred to ("Nouvelle orientation", to them only)', async () => {
		const recent = await t.db
			.selectFrom('patient')
			.select(['id', 'microstructure_id', 'created_by', 'included_on'])
			.where('state', '=', 'inclus')
			.where('transferred_from', 'is', null)
			.where('included_on', '>=', addDays(TODAY, -21))
			.execute();
		expect(recent.length).toBeGreaterThan(0);
		for (const p of recent) {
			const team = (await t.db.selectFrom('patient_team_member').select('user_id').where('patient_id', '=', p.id).execute()).map((r) => r.user_id);
			const told = await t.db.selectFrom('notification').select(['user_id', 'title', 'created_at']).where('kind', '=', 'orientation').where('link', '=', `/ms/${p.microstructure_id}/patients/${p.id}`).execute();
			expect(told.map((n) => n.user_id).sort()).toEqual(team.filter((id) => id !== p.created_by).sort());
			for (const n of told) {
				expect(n.title).toMatch(/orientation/i);
				expect(parisWallClock(n.created_at).date).toBe(p.included_on);
			}
		}
	});

	test('professionalsForOrientation: active care-team members of the named professions only', async () => {
		const ms = await createMicrostructure(t.db, {
			networkId: ids.networks.est,
			name: 'MSP de test des orientations',
			programmes: ['MSMA'],
			practiceKind: 'msp',
			city: 'Strasbourg',
			site: { name: 'MSP de test', address: '1 rue du Test', postalCode: '67000', city: 'Strasbourg', rooms: [] }
		});
		const person = async (login: string, profession: 'psychologue' | 'travailleur_social' | 'medecin_generaliste', lastName: string) =>
			createUser(t.db, { email: `${login}@test.example`, firstName: 'Test', lastName, profession, password: 'Mot-de-passe-de-test-1' });
		const [psyB, psyA, social, gp, former, future, disabled, coordinating] = await Promise.all([
			person('psy.b', 'psychologue', 'Bertin'),
			person('psy.a', 'psychologue', 'Adam'),
			person('ts', 'travailleur_social', 'Colin'),
			person('gp', 'medecin_generaliste', 'Dupuis'),
			person('former', 'psychologue', 'Ancien'),
			person('future', 'travailleur_social', 'Futur'),
			person('disabled', 'psychologue', 'Inactif'),
			person('coord', 'psychologue', 'Coordinatrice')
		]);
		for (const id of [psyB, psyA, social, gp, disabled]) await addMembership(t.db, { userId: id, microstructureId: ms, role: 'soignant', createdBy: null, startsOn: addDays(TODAY, -30) });
		await addMembership(t.db, { userId: coordinating, microstructureId: ms, role: 'coordination', createdBy: null, startsOn: addDays(TODAY, -30) });
		const ended = await addMembership(t.db, { userId: former, microstructureId: ms, role: 'soignant', createdBy: null, startsOn: addDays(TODAY, -300) });
		await t.db.updateTable('membership').set({ ends_on: addDays(TODAY, -1) }).where('id', '=', ended).execute();
		await addMembership(t.db, { userId: future, microstructureId: ms, role: 'soignant', createdBy: null, startsOn: addDays(TODAY, 10) });
		await t.db.updateTable('app_user').set({ disabled_at: new Date() }).where('id', '=', disabled).execute();

		const found = async (o: 'psychologue' | 'travailleur_social' | 'les_deux', on?: string) => (await professionalsForOrientation(t.db, ms, o, on)).map((p) => p.id);
		expect(await found('psychologue')).toEqual([psyA, psyB]);
		expect(await found('travailleur_social')).toEqual([social]);
		expect(await found('les_deux')).toEqual([psyA, psyB, social]);
		// On another day, the memberships running that day.
		expect(await found('travailleur_social', addDays(TODAY, 10))).toEqual([social, future]);
		expect(await found('psychologue', addDays(TODAY, -100))).toEqual([former]);
		// The GP who includes comes first, once.
		expect(await careTeamForOrientation(t.db, ms, gp, 'les_deux')).toEqual([gp, psyA, psyB, social]);
		expect(await careTeamForOrientation(t.db, ms, psyA, 'psychologue')).toEqual([psyA, psyB]);
	});
});

test('team notes quote the real RCP series', async () => {
	const series = await t.db.selectFrom('rcp_series').selectAll().execute();
	for (const [key, msId] of Object.entries(ids.microstructures)) {
		const s = series.find((x) => x.microstructure_id === msId)!;
		const { updates } = await loadUpdates(t.db, `ms-notes:${msId}`);
		const doc = new Y.Doc();
		for (const u of updates) Y.applyUpdate(doc, u);
		const text = doc.getText('notes').toString();
		expect(text, key).toContain(`RCP mensuelle : ${describeRecurrence(s.rrule, s.start_time, s.end_time)}`);
		expect(text).not.toMatch(/premier jeudi/);
	}
});

test('the printed logins are in French, with accents, and say what each account shows', () => {
	const text = demoLoginsText();
	expect(text).toContain('Comptes de démonstration');
	for (const p of DEMO_PEOPLE) expect(text).toContain(demoEmail(p.login));
	expect(text).toMatch(/ines\.haddad@\S+\s+médecin généraliste — Cabinet des Tanneurs/);
	expect(text).toMatch(/RCP en cours/);
	expect(text).toMatch(/nadia\.benali@\S+\s+secrétariat/);
	expect(text).toMatch(/marc\.weber@\S+\s+coordination médicale.*double authentification/);
	expect(text).not.toMatch(/medecin generaliste|_/);
});

describe('the living agenda', () => {
	test('site phones, weekly and fortnightly permanences of the psychologists and social workers', async () => {
		const sites = await t.db.selectFrom('site').select(['microstructure_id', 'phone']).execute();
		for (const msId of Object.values(ids.microstructures)) expect(sites.find((s) => s.microstructure_id === msId)?.phone).toMatch(/^0\d( \d\d){4}$/);
		const series = await t.db.selectFrom('permanence as p').innerJoin('app_user as u', 'u.id', 'p.professional_id').select(['u.profession', 'p.every_weeks', 'p.professional_id', 'p.microstructure_id']).execute();
		expect(new Set(series.map((s) => s.every_weeks))).toEqual(new Set([1, 2]));
		expect(new Set(series.map((s) => s.profession))).toEqual(new Set(['psychologue', 'travailleur_social']));
		// Camille works in three microstructures: three series, never two occurrences at once (the database refuses it).
		expect(new Set(series.filter((s) => s.professional_id === ids.users['camille.durand']).map((s) => s.microstructure_id)).size).toBe(3);
	});

	test('appointments past and future: honoured, a no-show, excused, cancelled (one late), with reminders and a waiting list', async () => {
		const rows = await t.db.selectFrom('appointment').select(['status', 'late_cancel', 'starts_at', 'professional_id', 'id']).execute();
		const now = new Date();
		const count = (f: (r: (typeof rows)[number]) => boolean) => rows.filter(f).length;
		expect(count((r) => r.status === 'venu' && r.starts_at < now)).toBeGreaterThan(20);
		expect(count((r) => r.status === 'absent')).toBeGreaterThanOrEqual(3);
		expect(count((r) => r.status === 'excuse')).toBeGreaterThanOrEqual(1);
		expect(count((r) => r.status === 'annule' && r.late_cancel)).toBeGreaterThanOrEqual(1);
		expect(count((r) => r.status === 'annule' && !r.late_cancel)).toBeGreaterThanOrEqual(1);
		expect(count((r) => r.status === 'prevu' && r.starts_at > now)).toBeGreaterThan(10);
		// Nothing left unmarked in the past.
		expect(count((r) => r.status === 'prevu' && r.starts_at < now)).toBe(0);
		// The first honoured appointment made patients "en suivi" with a first contact.
		const firstContacts = await t.db
			.selectFrom('appointment as a')
			.innerJoin('patient as p', 'p.id', 'a.patient_id')
			.select(['p.state', 'p.first_contact_on'])
			.where('a.kind', '=', 'premier_contact')
			.where('a.status', '=', 'venu')
			.execute();
		expect(firstContacts.length).toBeGreaterThan(0);
		for (const p of firstContacts) expect(p.first_contact_on).not.toBeNull();
		// Reminders: planned for future appointments of patients who agreed, none for the past; SMS not sent (no provider).
		const reminders = await t.db.selectFrom('appointment_reminder as r').innerJoin('appointment as a', 'a.id', 'r.appointment_id').select(['r.id', 'r.status', 'r.channel', 'a.status as appointment_status', 'a.starts_at']).execute();
		expect(reminders.filter((r) => r.channel === 'email' && r.status === 'prevu' && r.starts_at > now).length).toBeGreaterThan(0);
		// Cancelled appointments took their reminders with them.
		expect(reminders.filter((r) => r.status === 'prevu' && (r.appointment_status === 'annule' || r.appointment_status === 'deplace'))).toEqual([]);
		expect(reminders.filter((r) => r.channel === 'sms').every((r) => r.status === 'non_envoye')).toBe(true);
		// Those of appointments booked weeks ago and since held are never sent late: the sender refuses them.
		const stale = reminders.find((r) => r.status === 'prevu' && r.starts_at < now);
		if (stale) expect(await sendReminder(t.db, stale.id)).toBe('non_envoye');
		const waiting = await t.db.selectFrom('waiting_entry').select('id').where('resolved_at', 'is', null).where('removed_at', 'is', null).execute();
		expect(waiting.length).toBeGreaterThanOrEqual(3);
	});
});

describe('messaging', () => {
	test('Tanneurs has patient threads, the team conversation, a direct and a group conversation, with attachments', async () => {
		const conversations = await t.db
			.selectFrom('conversation as c')
			.select(['c.id', 'c.kind', 'c.microstructure_id', 'c.last_seq', 'c.last_message_at'])
			.where('c.last_seq', '>', '0')
			.execute();
		const kinds = (kind: string) => conversations.filter((c) => c.kind === kind);
		expect(kinds('patient').length).toBeGreaterThanOrEqual(2);
		for (const c of kinds('patient')) expect(c.microstructure_id).toBe(ids.microstructures.tanneurs);
		expect(kinds('team').map((c) => c.microstructure_id)).toEqual([ids.microstructures.tanneurs]);
		expect(kinds('direct')).toHaveLength(1);
		expect(kinds('group')).toHaveLength(1);
		// Written in the past, in order: each conversation's sequence follows time.
		for (const c of conversations) {
			expect(c.last_message_at!.getTime()).toBeLessThan(Date.now());
			const rows = await t.db.selectFrom('message').select(['seq', 'created_at']).where('conversation_id', '=', c.id).orderBy('seq').execute();
			expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
			for (let i = 1; i < rows.length; i++) expect(rows[i].created_at.getTime()).toBeGreaterThan(rows[i - 1].created_at.getTime());
		}
		// The secretariat speaks in the team conversation.
		const team = kinds('team')[0];
		const nadia = await t.db.selectFrom('message').select('id').where('conversation_id', '=', team.id).where('sender_id', '=', user('nadia.benali')).execute();
		expect(nadia.length).toBeGreaterThan(0);
		// One PDF and one image with its thumbnail, both real files.
		const files = await t.db.selectFrom('message_attachment').select(['kind', 'content_type', 'content', 'thumbnail', 'size']).execute();
		const pdf = files.find((f) => f.content_type === 'application/pdf');
		const png = files.find((f) => f.content_type === 'image/png');
		expect(pdf && Buffer.from(pdf.content).subarray(0, 5).toString()).toBe('%PDF-');
		expect(png?.kind).toBe('image');
		expect(Buffer.from(png!.content).subarray(1, 4).toString()).toBe('PNG');
		expect(png!.thumbnail?.length).toBeGreaterThan(0);
		for (const f of files) expect(f.size).toBe(f.content.length);
	});

	test('Inès has unread messages (the badge shows at sign-in), in conversations she may read', async () => {
		const { listConversations, unreadTotal } = await import('../../src/lib/server/messaging/conversations.ts');
		const ines = await loadActor(t.db, user('ines.haddad'));
		const total = await unreadTotal(t.db, ines);
		expect(total).toBeGreaterThanOrEqual(3);
		const list = await listConversations(t.db, ines);
		expect(list.filter((c) => c.unread > 0).length).toBeGreaterThanOrEqual(3);
		expect(list.reduce((n, c) => n + c.unread, 0)).toBe(total);
		// Every patient thread she sees is named by the patient; the others have read everything they wrote to.
		const paul = await loadActor(t.db, user('paul.schmitt'));
		expect(await unreadTotal(t.db, paul)).toBe(0);
		// The secretariat reads the team conversation, no patient thread.
		const nadia = await listConversations(t.db, await loadActor(t.db, user('nadia.benali')));
		expect(nadia.some((c) => c.kind === 'team')).toBe(true);
		expect(nadia.some((c) => c.kind === 'patient')).toBe(false);
	});

	test('seeding sent no notification: nothing waits to be e-mailed', async () => {
		expect(await t.db.selectFrom('message_email_due').select('user_id').execute()).toEqual([]);
	});
});

describe('patients waiting for a first contact', () => {
	test('each demo microstructure keeps its patients included over a month ago without a first contact, whatever the hour of seeding', async () => {
		const since = new Date(Date.now() - 30 * 86400_000).toISOString().slice(0, 10);
		const rows = await t.db
			.selectFrom('patient as p')
			.innerJoin('microstructure as m', 'm.id', 'p.microstructure_id')
			.select(['m.name', (eb) => eb.fn.countAll<string>().as('n')])
			.where('p.state', '=', 'inclus')
			.where('p.first_contact_on', 'is', null)
			.where('p.included_on', '<', since)
			.groupBy('m.name')
			.execute();
		// The demo's À faire and alerts show them (2 per microstructure in the seed); the booking demo must not give them a contact.
		expect(rows.length).toBeGreaterThanOrEqual(6);
		for (const r of rows) expect([r.name, r.n]).toEqual([r.name, '2']);
	});
});
