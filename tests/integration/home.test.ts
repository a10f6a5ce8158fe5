// What the home page, /rcp and the lists read, against a real database: the RCP overview gives the
// secretariat the schedule and nothing from the agendas; names in lists follow the policy and are
// audited like the patient list; the recent changes and the coordinators' counts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { loadActor, type Actor, type MicrostructureRef } from '../../src/lib/server/access/policy.ts';
import { createNetwork } from '../../src/lib/server/org/networks.ts';
import { createMicrostructure } from '../../src/lib/server/org/microstructures.ts';
import { createUser } from '../../src/lib/server/org/users.ts';
import { addMembership } from '../../src/lib/server/org/memberships.ts';
import { createPatient, recordEvent } from '../../src/lib/server/patients/patients.ts';
import { addDays, parisToday } from '../../src/lib/server/patients/lifecycle.ts';
import { namePatients } from '../../src/lib/server/patients/names.ts';
import { recentlyChangedPatients } from '../../src/lib/server/patients/recent.ts';
import { addCase, createSession, getSession } from '../../src/lib/server/rcp/sessions.ts';
import { startSession } from '../../src/lib/server/rcp/live.ts';
import { rcpOverdueCounts, rcpOverview } from '../../src/lib/server/rcp/overview.ts';
import { nameMentionedPatients } from '../../src/lib/server/notifications/mentions.ts';
import type { Profession } from '../../src/lib/server/db/schema.ts';

let t: TestDb;
let tanneurs: MicrostructureRef;
let other: MicrostructureRef;
const people: Record<string, Actor> = {};
const patients: { id: string; code: string; last: string; first: string }[] = [];
let sessionId: string;
const today = parisToday();

const ctx = (actor: Actor) => ({ actorId: actor.userId, ip: '127.0.0.1', userAgent: 'vitest' });
const week = () => {
	const now = new Date();
	return [now, new Date(now.getTime() + 7 * 86400_000)] as const;
};

async function listAudits(actorId: string) {
	return t.db.selectFrom('audit_event').select(['action', 'target_id', 'microstructure_id', 'details']).where('actor_id', '=', actorId).where('action', '=', 'patient.list').execute();
}

beforeAll(async () => {
	t = await createTestDb();
	const db = t.db;
	const network = await createNetwork(db, { name: 'Réseau test', territory: '' });
	const mk = (name: string) =>
		createMicrostructure(db, { networkId: network, name, programmes: ['MSMA'], practiceKind: 'cabinet', city: 'Strasbourg', site: { name, address: '1 rue', postalCode: '67000', city: 'Strasbourg', rooms: ['Bureau 2'] } });
	tanneurs = { id: await mk('Cabinet des Tanneurs'), networkId: network };
	other = { id: await mk('Autre cabinet'), networkId: network };
	const person = async (key: string, profession: Profession, membership: Omit<Parameters<typeof addMembership>[1], 'userId' | 'createdBy'>) => {
		const id = await createUser(db, { email: `${key}@example.org`, firstName: key, lastName: 'Test', profession, password: 'Un-mot-de-passe-long' });
		await addMembership(db, { ...membership, userId: id, createdBy: null });
		people[key] = await loadActor(db, id);
	};
	await person('gp', 'medecin_generaliste', { microstructureId: tanneurs.id, role: 'soignant' });
	await person('secretariat', 'secretariat', { microstructureId: tanneurs.id, role: 'secretariat' });
	await person('coordinator', 'coordinateur_medical', { networkId: network, role: 'coordination_medicale' });
	await person('admin', 'autre', { networkId: network, role: 'admin' });
	await person('elsewhere', 'medecin_generaliste', { microstructureId: other.id, role: 'soignant' });

	// Three patients: included 120 days ago (overdue for an RCP), 10 days ago, and today.
	for (const [last, first, daysAgo] of [['Zola', 'Émile', 120], ['Sand', 'George', 10], ['Hugo', 'Adèle', 0]] as const) {
		const on = addDays(today, -daysAgo);
		const r = await createPatient(db, { ...ctx(people.gp) }, tanneurs, {
			identity: { lastName: last, firstName: first, birthDate: '1970-05-05', sex: 'F', phone: null, email: null },
			programme: 'MSMA',
			motif: 'addiction',
			orientationOrigin: null,
			medecinTraitant: null,
			start: { kind: 'include', on, orientation: 'psychologue', consent: { on, method: 'oral_atteste' } }
		}, today);
		if (!r.ok) throw new Error(r.error);
		patients.push({ id: r.id, code: r.code, last, first });
	}
	sessionId = await createSession(db, ctx(people.gp), tanneurs, { title: 'RCP du jour', date: today, startTime: '00:00', endTime: '23:59', roomId: null, visioUrl: 'https://visio.example.org/rcp', programme: null });
	const session = (await getSession(db, sessionId))!;
	await addCase(db, session, patients[0].id, [{ code: 'manual' }], people.gp.userId);
	await startSession(db, ctx(people.gp), tanneurs, sessionId);
});

afterAll(async () => {
	await t?.close();
});

describe('rcpOverview', () => {
	test('the GP takes part: live first, cases, a way in', async () => {
		const rows = await rcpOverview(t.db, people.gp, ...week());
		const live = rows.find((r) => r.id === sessionId)!;
		expect(rows[0].id).toBe(sessionId);
		expect(live).toMatchObject({ access: 'team', live: true, status: 'en_cours', cases: 1, pending: 1, visioUrl: 'https://visio.example.org/rcp' });
	});

	test('the secretariat reads when and where, and nothing that comes from the agenda', async () => {
		const rows = await rcpOverview(t.db, people.secretariat, ...week());
		expect(rows.map((r) => r.id)).toContain(sessionId);
		for (const row of rows) {
			expect(row.access).toBe('schedule');
			expect(Object.keys(row).sort()).toEqual(['access', 'endsAt', 'id', 'live', 'microstructure', 'microstructureId', 'room', 'startsAt', 'status', 'title', 'visioUrl']);
		}
		const payload = JSON.stringify(rows);
		for (const p of patients) for (const s of [p.id, p.code, p.last, p.first]) expect(payload).not.toContain(s);
	});

	test('a clinician of another microstructure and a bare administrator see none of it', async () => {
		expect((await rcpOverview(t.db, people.elsewhere, ...week())).map((r) => r.id)).not.toContain(sessionId);
		expect(await rcpOverview(t.db, people.admin, ...week())).toEqual([]);
	});

	test('the coordinator sees each other microstructure once among the clashes, however many of its sessions overlap', async () => {
		for (const title of ['RCP A', 'RCP B']) {
			await createSession(t.db, ctx(people.coordinator), other, { title, date: today, startTime: '00:00', endTime: '23:59', roomId: null, visioUrl: null, programme: null });
		}
		const rows = await rcpOverview(t.db, people.coordinator, ...week());
		const live = rows.find((r) => r.id === sessionId)!;
		expect(live.access === 'team' && live.clashes).toEqual(['Autre cabinet']);
	});
});

describe('namePatients', () => {
	test('the care team gets names beside codes, audited once per microstructure', async () => {
		const named = await namePatients(t.db, ctx(people.gp), people.gp, [...patients.map((p) => p.id), 'not-a-uuid', '00000000-0000-4000-8000-000000000000'], 'test');
		expect([...named.values()].map((n) => [n.code, n.name]).sort()).toEqual(patients.map((p) => [p.code, `${p.last.toUpperCase()} ${p.first}`]).sort());
		const rows = await listAudits(people.gp.userId);
		expect(rows).toEqual([{ action: 'patient.list', target_id: tanneurs.id, microstructure_id: tanneurs.id, details: { purpose: 'test', count: 3 } }]);
	});

	test('the secretariat and the administrator get codes only, and no read is recorded', async () => {
		for (const who of [people.secretariat, people.admin]) {
			const named = await namePatients(t.db, ctx(who), who, patients.map((p) => p.id), 'test');
			expect([...named.values()].map((n) => n.name)).toEqual([null, null, null]);
			expect(await listAudits(who.userId)).toEqual([]);
		}
	});
});

describe('recent changes and pending counts', () => {
	test('the patients changed last come first, for those who may read them only', async () => {
		await recordEvent(t.db, patients[1].id, 'contact', today, people.gp.userId);
		const recent = await recentlyChangedPatients(t.db, people.gp, [tanneurs, other], 2);
		expect(recent.map((r) => [r.patientId, r.kind])).toEqual([[patients[1].id, 'contact'], expect.any(Array)]);
		expect(await recentlyChangedPatients(t.db, people.secretariat, [tanneurs], 6)).toEqual([]);
		expect(await recentlyChangedPatients(t.db, people.elsewhere, [tanneurs], 6)).toEqual([]);
	});

	test('patients without an RCP for more than 90 days are counted per microstructure', async () => {
		const counts = await rcpOverdueCounts(t.db, [tanneurs.id, other.id], today);
		expect(counts.get(tanneurs.id)).toBe(1);
		expect(counts.get(other.id)).toBeUndefined();
	});
});

describe('notifications that mention a patient', () => {
	test('name the patient for the care team, keep the code for others', async () => {
		const p = patients[2];
		const notification = { id: 'n1', title: `RCP du 1er février : décision pour ${p.code}`, link: `/ms/${tanneurs.id}/patients/${p.id}#rcp` };
		const [forGp] = await nameMentionedPatients(t.db, ctx(people.gp), people.gp, [notification], 'test_notifications');
		expect(forGp.title).toBe(`RCP du 1er février : décision pour HUGO Adèle (${p.code})`);
		const [forSecretariat] = await nameMentionedPatients(t.db, ctx(people.secretariat), people.secretariat, [notification], 'test_notifications');
		expect(forSecretariat.title).toBe(notification.title);
		const [unrelated] = await nameMentionedPatients(t.db, ctx(people.gp), people.gp, [{ id: 'n2', title: 'Invitation', link: '/ms/x/rcp/y' }], 'test_notifications');
		expect(unrelated).toMatchObject({ title: 'Invitation', patient: null });
	});
});
