// Named prepared statements (executePrepared, db/index.ts) on a real database: a marked statement
// is parsed once per connection and reused, inside transactions too, a failing one leaves the
// connection usable, and the hot statements that are marked keep one text whatever the actor or the
// message (a text that varied would prepare a new statement each time, on every connection).
process.env.LOG_LEVEL = 'silent';

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSharedTestDb, type TestDb } from '../helpers/db.ts';
import { createPatient, createPractice, createUser } from '../helpers/booking-fixture.ts';
import { createDb, executePrepared, type Db } from '../../src/lib/server/db/index.ts';
import { addMembership } from '../../src/lib/server/org/memberships.ts';
import { loadActor } from '../../src/lib/server/access/policy.ts';
import { patientThreadId, teamConversationId, unreadTotalQuery } from '../../src/lib/server/messaging/conversations.ts';
import { visibleMicrostructuresQuery } from '../../src/lib/server/org/microstructures.ts';
import { sendMessage } from '../../src/lib/server/messaging/service.ts';
import { settleNotifications } from '../../src/lib/server/messaging/notify.ts';

let t: TestDb;
/** The same database through a pool of one connection: what one connection has prepared can be read back. */
let one: Db;

beforeAll(async () => {
	t = await createSharedTestDb();
	// The embedded database takes one connection, which its pool already is.
	one = t.pool.options.max === 1 ? t.db : createDb(new pg.Pool({ ...t.pool.options, max: 1 }));
});

afterAll(async () => {
	await settleNotifications(true);
	if (one !== t?.db) await one?.destroy();
	await t?.close();
});

const prepared = async (db: Db, fragment: string) =>
	(await sql<{ name: string }>`select name from pg_prepared_statements where statement like ${`%${fragment}%`} and statement not like '%pg_prepared_statements%'`.execute(db)).rows;

describe('executePrepared', () => {
	test('runs a marked statement as one named statement per connection, reused with other values', async () => {
		const values = [];
		for (const n of [1, 2, 3]) values.push((await executePrepared(one, sql<{ x: number }>`select ${n}::int * 10 as x`)).rows[0].x);
		expect(values).toEqual([10, 20, 30]);
		const names = await prepared(one, '::int * 10 as x');
		expect(names).toHaveLength(1);
		expect(names[0].name).toMatch(/^p_[0-9a-f]{20}$/);
		// Unmarked statements stay unnamed.
		await sql`select ${4}::int * 7 as y`.execute(one);
		expect(await prepared(one, '::int * 7 as y')).toHaveLength(0);
	});

	test('works inside a transaction, and a failing statement leaves the connection usable', async () => {
		const inTrx = await one.transaction().execute(async (trx) => (await executePrepared(trx, sql<{ x: number }>`select ${5}::int * 10 as x`)).rows[0].x);
		expect(inTrx).toBe(50);
		for (let i = 0; i < 2; i++) await expect(executePrepared(one, sql`select 1 / ${0}::int as boom`)).rejects.toThrow(/division by zero/);
		expect((await executePrepared(one, sql<{ x: number }>`select ${6}::int * 10 as x`)).rows[0].x).toBe(60);
		// A rolled-back transaction does not lose what the connection prepared.
		await expect(
			one.transaction().execute(async (trx) => {
				await executePrepared(trx, sql`select ${7}::int * 10 as x`);
				throw new Error('rollback');
			})
		).rejects.toThrow('rollback');
		expect((await executePrepared(one, sql<{ x: number }>`select ${8}::int * 10 as x`)).rows[0].x).toBe(80);
	});
});

describe('the marked hot statements keep one text', () => {
	test("the navigation's parts are the same text for actors with different numbers of microstructures and networks", async () => {
		const a = await createPractice(t.db, 'P1');
		const b = await createPractice(t.db, 'P2');
		const small = await createUser(t.db, 'medecin_generaliste', 'Petit');
		const large = await createUser(t.db, 'psychologue', 'Grand');
		await addMembership(t.db, { userId: small.id, microstructureId: a.microstructureId, role: 'soignant', createdBy: null });
		for (const p of [a, b]) await addMembership(t.db, { userId: large.id, microstructureId: p.microstructureId, role: 'soignant', createdBy: null });
		await addMembership(t.db, { userId: large.id, networkId: b.networkId, role: 'coordination_medicale', createdBy: null });
		const [s, l] = await Promise.all([loadActor(t.db, small.id), loadActor(t.db, large.id)]);
		expect(l.microstructures.length).toBeGreaterThan(s.microstructures.length);
		expect(unreadTotalQuery(t.db, s).compile().sql).toBe(unreadTotalQuery(t.db, l).compile().sql);
		// Same shape (microstructures only) with other counts: same text.
		const other = await createUser(t.db, 'travailleur_social', 'Autre');
		for (const p of [a, b]) await addMembership(t.db, { userId: other.id, microstructureId: p.microstructureId, role: 'soignant', createdBy: null });
		const o = await loadActor(t.db, other.id);
		expect(visibleMicrostructuresQuery(t.db, s)!.compile().sql).toBe(visibleMicrostructuresQuery(t.db, o)!.compile().sql);
	});

	test("a message's write, and a patient thread's facts and audience, are one prepared statement each whatever the conversation and the message", async () => {
		const p = await createPractice(t.db, 'M');
		const gp = await createUser(t.db, 'medecin_generaliste', 'Haddad');
		const psy = await createUser(t.db, 'psychologue', 'Durand');
		for (const u of [gp, psy]) await addMembership(t.db, { userId: u.id, microstructureId: p.microstructureId, role: 'soignant', createdBy: null });
		const patient = await createPatient(t.db, p, { lastName: 'Lefebvre' });
		await t.db.insertInto('patient_team_member').values([gp, psy].map((u) => ({ patient_id: patient.id, user_id: u.id }))).execute();
		const actor = await loadActor(t.db, gp.id);
		const team = await teamConversationId(t.db, p.microstructureId);
		const thread = await patientThreadId(t.db, patient.id, p.microstructureId);
		const ctx = { actorId: gp.id, ip: '127.0.0.1' };
		const sent = [
			await sendMessage(one, ctx, actor, team, { clientId: randomUUID(), body: 'Réunion déplacée à 13 h' }),
			await sendMessage(one, ctx, actor, thread, { clientId: randomUUID(), body: 'Vu ce matin, @Durand pouvez-vous la recevoir ?', mentions: [psy.id] }),
			await sendMessage(one, ctx, actor, thread, { clientId: randomUUID(), body: 'Sans mention' })
		];
		expect(sent.every((r) => r.ok)).toBe(true);
		expect(await prepared(one, 'insert into message')).toHaveLength(1);
		// The patient thread's facts and audience, read for each of its messages.
		expect(await prepared(one, 'array(select t.user_id from patient_team_member t')).toHaveLength(1);
		expect(await prepared(one, 'select "u"."id", "u"."platform_admin"')).toHaveLength(1);
		await settleNotifications(true);
	});
});
