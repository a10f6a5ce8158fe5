// Private calendar feeds against a real database, parsed back by a real ICS parser (node-ical):
// the right instants and Paris wall-clock times on both sides of the DST changes, the patient's
// code and initials but never a name or a motive, the RCPs a coordinator attends, revocation and
// regeneration (old URL → not found), what the policy allows today, throttling, the audit.
process.env.LOG_LEVEL = 'silent';

import nodeIcal, { type VEvent } from 'node-ical';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Db } from '../../src/lib/server/db/index.ts';
import { createFeed, feedStatus, readFeed, revokeFeed } from '../../src/lib/server/booking/calendar-feed.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { createAppointment, createPatient, createPractice, createUser, type Practice } from '../helpers/booking-fixture.ts';

let testDb: TestDb;
let db: Db;
let practice: Practice;
let other: Practice;
let pro: { id: string };
let coordinator: { id: string };
let ipCounter = 0;
const ip = () => `10.0.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 1}`;

/** 20 March 2026: the spring change is on 29 March, the autumn one on 25 October. */
const NOW = new Date('2026-03-20T10:00:00Z');

beforeAll(async () => {
	testDb = await createTestDb();
	db = testDb.db;
	practice = await createPractice(db);
	other = await createPractice(db);
	pro = await createUser(db, 'psychologue', 'Vasseur', 'Agnès');
	coordinator = await createUser(db, 'coordinateur_medical', 'Perrin', 'Luc');
	for (const ms of [practice, other])
		await db.insertInto('membership').values({ user_id: pro.id, microstructure_id: ms.microstructureId, network_id: null, role: 'soignant', starts_on: '2020-01-01', ends_on: null, created_by: null, ended_by: null }).execute();
	await db.insertInto('membership').values({ user_id: coordinator.id, microstructure_id: null, network_id: practice.networkId, role: 'coordination_medicale', starts_on: '2020-01-01', ends_on: null, created_by: null, ended_by: null }).execute();
});

afterAll(async () => {
	await testDb?.close();
});

function parse(ics: string): VEvent[] {
	return Object.values(nodeIcal.sync.parseICS(ics)).filter((c): c is VEvent => c?.type === 'VEVENT');
}

const parisClock = (d: Date | undefined) => new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'short' }).format(d);

async function read(token: string, now = NOW, from = ip()) {
	return readFeed(db, { ip: from, userAgent: 'test-calendar' }, token, now);
}

describe('feed content', () => {
	let token: string;
	const patients: { last_name: string | null; first_name: string | null; code: string }[] = [];

	beforeAll(async () => {
		const p1 = await createPatient(db, practice, { lastName: 'Zimmermann', firstName: 'Élodie', email: 'z@example.test' });
		const p2 = await createPatient(db, other, { lastName: 'Quentin', firstName: 'Bastien' });
		patients.push(p1, p2);
		// 14:00 Paris the Friday before the spring change (UTC+1) and the Tuesday after (UTC+2).
		await createAppointment(db, practice, pro.id, p1.id, new Date('2026-03-27T13:00:00Z'), { kind: 'premier_contact' });
		await createAppointment(db, other, pro.id, p2.id, new Date('2026-03-31T12:00:00Z'));
		// The autumn change: 9:30 Paris on Friday 23 October (UTC+2) and Tuesday 27 October (UTC+1).
		await createAppointment(db, practice, pro.id, p1.id, new Date('2026-10-23T07:30:00Z'), { minutes: 30 });
		await createAppointment(db, practice, pro.id, p1.id, new Date('2026-10-27T08:30:00Z'), { minutes: 30 });
		// A cancelled one does not appear.
		const cancelled = await createAppointment(db, other, pro.id, p2.id, new Date('2026-04-02T12:00:00Z'));
		await db.updateTable('appointment').set({ status: 'annule', cancelled_at: new Date(), cancelled_by: pro.id, cancel_reason: 'patient' }).where('id', '=', cancelled.id).execute();
		// An RCP of the practice attended by the coordinator (and by the psychologist).
		const session = await db
			.insertInto('rcp_session')
			.values({ microstructure_id: practice.microstructureId, series_id: null, title: 'RCP mensuelle', starts_at: new Date('2026-04-02T16:00:00Z'), ends_at: new Date('2026-04-02T18:00:00Z'), room_id: practice.roomId, visio_url: null, programme: null, template: JSON.stringify({ sections: [] }), agenda_built_at: null, animator_id: null, pointer_item_id: null, pointer_since: null, started_at: null, closed_at: null, closed_by: null, created_by: null, occurrence_at: null })
			.returning('id')
			.executeTakeFirstOrThrow();
		await db.insertInto('rcp_participant').values([{ session_id: session.id, user_id: coordinator.id }, { session_id: session.id, user_id: pro.id }]).execute();
		token = (await createFeed(db, { actorId: pro.id }, pro.id)).token;
	});

	test('appointments and permanences across microstructures, right across the DST changes', async () => {
		const result = await read(token);
		expect(result.status).toBe('ok');
		if (result.status !== 'ok') return;
		const events = parse(result.ics);
		const appointments = events.filter((e) => String(e.uid).startsWith('rdv-')).sort((a, b) => +a.start - +b.start);
		// Read in March: the window (60 days back, 180 ahead) holds the spring pair.
		expect(appointments.map((e) => e.start.toISOString())).toEqual(['2026-03-27T13:00:00.000Z', '2026-03-31T12:00:00.000Z']);
		expect(appointments.map((e) => parisClock(e.start))).toEqual(['27/03/2026 14:00', '31/03/2026 14:00']);
		expect(appointments.map((e) => parisClock(e.end))).toEqual(['27/03/2026 14:45', '31/03/2026 14:45']);
		// Read in October: the autumn pair.
		const autumn = await read(token, new Date('2026-10-10T10:00:00Z'));
		if (autumn.status !== 'ok') throw new Error(autumn.status);
		const october = parse(autumn.ics).filter((e) => String(e.uid).startsWith('rdv-')).sort((a, b) => +a.start - +b.start);
		expect(october.map((e) => e.start.toISOString())).toEqual(['2026-10-23T07:30:00.000Z', '2026-10-27T08:30:00.000Z']);
		expect(october.map((e) => `${parisClock(e.start)}–${parisClock(e.end)}`)).toEqual(['23/10/2026 09:30–23/10/2026 10:00', '27/10/2026 09:30–27/10/2026 10:00']);
		// The occurrences holding them (fixture: from 30 min before), in both microstructures.
		const permanences = events.filter((e) => String(e.uid).startsWith('permanence-'));
		expect(permanences).toHaveLength(3);
		expect(permanences.map((e) => parisClock(e.start)).sort()).toContain('31/03/2026 13:30');
		expect(permanences.some((e) => String(e.summary).includes(`addictions`))).toBe(true);
		// The psychologist attends the RCP too.
		expect(events.filter((e) => String(e.uid).startsWith('rcp-')).map((e) => parisClock(e.start))).toEqual(['02/04/2026 18:00']);
	});

	test('the patient’s code and initials, never a name or a motive', async () => {
		const result = await read(token);
		if (result.status !== 'ok') throw new Error(result.status);
		const first = parse(result.ics).find((e) => e.start.toISOString() === '2026-03-27T13:00:00.000Z')!;
		expect(first.summary).toContain(patients[0].code);
		expect(first.summary).toContain('É.\u00a0Z.');
		expect(first.summary).toContain('premier contact');
		for (const p of patients) {
			expect(result.ics).not.toContain(p.last_name!);
			expect(result.ics).not.toContain(p.first_name!);
		}
		expect(result.ics).not.toMatch(/addiction\b|précarité|santé mentale|z@example/i);
	});

	test('a coordinator’s feed lists the RCPs they attend', async () => {
		const { token: coordinatorToken } = await createFeed(db, { actorId: coordinator.id }, coordinator.id);
		const result = await read(coordinatorToken);
		if (result.status !== 'ok') throw new Error(result.status);
		const events = parse(result.ics);
		expect(events.map((e) => [e.summary, parisClock(e.start), parisClock(e.end)])).toEqual([[expect.stringContaining('RCP mensuelle'), '02/04/2026 18:00', '02/04/2026 20:00']]);
	});

	test('what a feed shows follows today’s memberships', async () => {
		await db.updateTable('membership').set({ ends_on: '2026-01-01' }).where('user_id', '=', pro.id).where('microstructure_id', '=', other.microstructureId).execute();
		try {
			const result = await read(token);
			if (result.status !== 'ok') throw new Error(result.status);
			const starts = parse(result.ics).filter((e) => String(e.uid).startsWith('rdv-')).map((e) => e.start.toISOString());
			expect(starts).not.toContain('2026-03-31T12:00:00.000Z');
			expect(starts).toEqual(['2026-03-27T13:00:00.000Z']);
		} finally {
			await db.updateTable('membership').set({ ends_on: null }).where('user_id', '=', pro.id).where('microstructure_id', '=', other.microstructureId).execute();
		}
	});

	test('each read is audited, with the patients it showed', async () => {
		const before = await db.selectFrom('audit_event').select('id').where('actor_id', '=', pro.id).where('action', '=', 'calendar_feed.read').execute();
		await read(token);
		const rows = await db.selectFrom('audit_event').select(['action', 'details', 'microstructure_id']).where('actor_id', '=', pro.id).orderBy('id', 'desc').limit(3).execute();
		const reads = await db.selectFrom('audit_event').select('id').where('actor_id', '=', pro.id).where('action', '=', 'calendar_feed.read').execute();
		expect(reads.length).toBe(before.length + 1);
		const agenda = rows.filter((r) => r.action === 'booking.agenda_read');
		expect(agenda.map((r) => r.microstructure_id).sort()).toEqual([practice.microstructureId, other.microstructureId].sort());
		expect(agenda.flatMap((r) => (r.details as { patients: string[] }).patients)).toHaveLength(2);
	});
});

describe('tokens', () => {
	test('revoked, regenerated, unknown, malformed and disabled: not found; only the hash is stored', async () => {
		const user = await createUser(db, 'travailleur_social', 'Tessier');
		const first = await createFeed(db, { actorId: user.id }, user.id);
		expect((await read(first.token)).status).toBe('ok');
		const stored = await db.selectFrom('calendar_feed').select('token_hash').where('id', '=', first.id).executeTakeFirstOrThrow();
		expect(Buffer.from(stored.token_hash).toString('hex')).not.toContain(Buffer.from(first.token).toString('hex'));
		expect(Buffer.from(stored.token_hash)).toHaveLength(32);

		const second = await createFeed(db, { actorId: user.id }, user.id);
		expect((await read(first.token)).status).toBe('not_found');
		expect((await read(second.token)).status).toBe('ok');
		expect((await feedStatus(db, user.id))?.id).toBe(second.id);
		expect((await feedStatus(db, user.id))?.lastUsedAt).toBeInstanceOf(Date);

		expect(await revokeFeed(db, { actorId: user.id }, user.id)).toBe(true);
		expect((await read(second.token)).status).toBe('not_found');
		expect(await feedStatus(db, user.id)).toBeNull();
		expect(await revokeFeed(db, { actorId: user.id }, user.id)).toBe(false);

		expect((await read('a'.repeat(40))).status).toBe('not_found');
		for (const bad of ['', '../etc/passwd', 'A'.repeat(40), 'a'.repeat(41), "'; drop table calendar_feed; --"]) expect((await read(bad)).status).toBe('not_found');

		const third = await createFeed(db, { actorId: user.id }, user.id);
		await db.updateTable('app_user').set({ disabled_at: new Date() }).where('id', '=', user.id).execute();
		expect((await read(third.token)).status).toBe('not_found');
	});

	test('a burst of regenerations leaves exactly one live feed, the last one returned among them', async () => {
		const user = await createUser(db, 'psychologue', 'Burst');
		const created = await Promise.all(Array.from({ length: 10 }, () => createFeed(db, { actorId: user.id }, user.id)));
		const live = await db.selectFrom('calendar_feed').select('id').where('user_id', '=', user.id).where('revoked_at', 'is', null).execute();
		expect(live).toHaveLength(1);
		const statuses = await Promise.all(created.map((c) => read(c.token).then((r) => r.status)));
		expect(statuses.filter((s) => s === 'ok')).toHaveLength(1);
		expect(created.find((c) => c.id === live[0].id)).toBeDefined();
	});

	test('guessing is throttled per IP; a valid feed still answers, from that IP too', async () => {
		const user = await createUser(db, 'psychologue', 'Throttle');
		const { token } = await createFeed(db, { actorId: user.id }, user.id);
		const attacker = '192.0.2.77';
		const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => read(`${'b'.repeat(38)}${String(i).padStart(2, '2')}`.slice(0, 40), NOW, attacker).then((r) => r.status)));
		expect(answers.filter((s) => s === 'not_found')).toHaveLength(20);
		expect(answers.filter((s) => s === 'throttled')).toHaveLength(10);
		// A valid token is answered from the blocked address (a shared calendar server, a NAT) and
		// from another; guesses from that address stay blocked.
		expect((await read(token, NOW, attacker)).status).toBe('ok');
		expect((await read(token, NOW, '192.0.2.78')).status).toBe('ok');
		expect((await read('c'.repeat(40), NOW, attacker)).status).toBe('throttled');
		expect((await read('not a token', NOW, attacker)).status).toBe('throttled');
	});
});
