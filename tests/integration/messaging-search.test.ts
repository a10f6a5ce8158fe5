// French message search against a real database: accents folded both ways, French stemming, only
// the conversations the policy lets one read, deleted messages left out, newest first, excerpts
// that come back as escaped text with <mark> only around the words found, the limits of a query,
// and one audit entry per patient whose thread shows in the results.
process.env.LOG_LEVEL = 'silent';

import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Db } from '../../src/lib/server/db/index.ts';
import { loadActor, type Actor } from '../../src/lib/server/access/policy.ts';
import { openConversation, patientThreadId, teamConversationId } from '../../src/lib/server/messaging/conversations.ts';
import { deleteMessage, postMessage } from '../../src/lib/server/messaging/messages.ts';
import { excerptHtml, searchMessages } from '../../src/lib/server/messaging/search.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { createPatient, createPractice, createUser, type Practice } from '../helpers/booking-fixture.ts';

let testDb: TestDb;
let db: Db;
let practice: Practice;
let other: Practice;
let patient: { id: string };
let thread: string;
let team: string;
const actors = {} as Record<'gp' | 'psy' | 'secretary' | 'outsider' | 'coordinator', Actor>;

async function member(userId: string, ms: Practice, role: 'soignant' | 'secretariat' | 'coordination') {
	await db.insertInto('membership').values({ user_id: userId, microstructure_id: ms.microstructureId, network_id: null, role, starts_on: '2020-01-01', ends_on: null, created_by: null, ended_by: null }).execute();
}

async function post(actor: Actor, conversationId: string, body: string) {
	const c = (await openConversation(db, actor, conversationId))!;
	const r = await postMessage(db, { actorId: actor.userId }, c, { clientId: randomUUID(), body });
	if (!r.ok) throw new Error(r.error);
	return r.message;
}

const search = async (who: keyof typeof actors, q: string) => {
	const r = await searchMessages(db, actors[who], q);
	if (!r.ok) throw new Error(r.error);
	return r.results;
};

beforeAll(async () => {
	testDb = await createTestDb();
	db = testDb.db;
	practice = await createPractice(db);
	other = await createPractice(db);
	const gp = await createUser(db, 'medecin_generaliste', 'Haddad', 'Inès');
	const psy = await createUser(db, 'psychologue', 'Durand', 'Camille');
	const secretary = await createUser(db, 'secretariat', 'Benali', 'Nadia');
	const outsider = await createUser(db, 'medecin_generaliste', 'Hoffmann', 'François');
	const coordinator = await createUser(db, 'coordinateur_medical', 'Weber', 'Marc');
	await member(gp.id, practice, 'soignant');
	await member(psy.id, practice, 'soignant');
	await member(secretary.id, practice, 'secretariat');
	await member(coordinator.id, practice, 'coordination');
	await member(outsider.id, other, 'soignant');
	patient = await createPatient(db, practice, { lastName: 'Zimmermann', firstName: 'Élodie' });
	await db.insertInto('patient_team_member').values([{ patient_id: patient.id, user_id: gp.id }, { patient_id: patient.id, user_id: psy.id }]).execute();
	for (const [k, u] of Object.entries({ gp, psy, secretary, outsider, coordinator })) actors[k as keyof typeof actors] = await loadActor(db, u.id);
	thread = await patientThreadId(db, patient.id, practice.microstructureId);
	team = await teamConversationId(db, practice.microstructureId);

	await post(actors.gp, thread, 'Elle a vu deux médecins à l’hôpital de Hautepierre cette semaine.');
	await post(actors.psy, thread, 'Je suis inquiète pour son sommeil, elle dort quatre heures.');
	await post(actors.gp, thread, 'Rendez-vous pris avec le CSAPA pour le sevrage.');
	await post(actors.psy, team, 'Réunion d’équipe jeudi : qui réserve la salle ? Le médecin coordinateur sera là.');
	await post(actors.gp, thread, 'Avis du médecin <script>alert("x")</script> & <img src=x onerror=alert(1)> a<b');
	const deleted = await post(actors.gp, thread, 'Message supprimé au sujet du médecin traitant.');
	await deleteMessage(db, { actorId: actors.gp.userId }, (await openConversation(db, actors.gp, thread))!, deleted.id);
	// Another microstructure's team talks about the same things.
	const otherTeam = await teamConversationId(db, other.microstructureId);
	await post(actors.outsider, otherTeam, 'Le médecin de garde est inquiet, l’hôpital est plein.');
}, 60_000);

afterAll(async () => {
	await testDb?.close();
});

describe('French', () => {
	test('"medecin" finds "médecins" and "médecin", "hopital" finds "hôpital", newest first', async () => {
		const medecin = await search('gp', 'medecin');
		expect(medecin.map((r) => r.excerpt)).toEqual([
			expect.stringContaining('<mark>médecin</mark>'),
			expect.stringContaining('Le <mark>médecin</mark> coordinateur'),
			expect.stringContaining('deux <mark>médecins</mark>')
		]);
		const hopital = await search('gp', 'hopital');
		expect(hopital).toHaveLength(1);
		expect(hopital[0].excerpt).toContain('<mark>hôpital</mark>');
		expect(hopital[0]).toMatchObject({ conversationId: thread, seq: 1, conversationKind: 'patient', conversationTitle: 'ZIMMERMANN Élodie', senderName: 'Inès Haddad' });
		// And the other way round: an accented query finds unaccented text as well.
		expect(await search('gp', 'HÔPITAL')).toHaveLength(1);
	});

	test('stemming: "inquiet" finds "inquiète"; phrases and exclusions of websearch syntax work', async () => {
		const r = await search('psy', 'inquiet');
		expect(r).toHaveLength(1);
		expect(r[0].excerpt).toContain('<mark>inquiète</mark>');
		expect(await search('psy', '"quatre heures"')).toHaveLength(1);
		expect(await search('psy', '"heures quatre"')).toHaveLength(0);
		expect(await search('psy', 'médecin -coordinateur')).toHaveLength(2);
	});
});

describe('reach', () => {
	test('nothing from conversations one may not read; deleted messages never show', async () => {
		// The secretariat reads the team conversation, not the patient's thread.
		const secretary = await search('secretary', 'médecin');
		expect(secretary.map((r) => r.conversationId)).toEqual([team]);
		// Another microstructure sees only its own team.
		const outsider = await search('outsider', 'médecin hôpital');
		expect(outsider).toHaveLength(1);
		expect(outsider[0].conversationId).not.toBe(thread);
		expect(outsider[0].conversationId).not.toBe(team);
		expect(await search('outsider', 'sevrage')).toHaveLength(0);
		// The coordination reads every patient thread of the microstructure.
		expect(await search('coordinator', 'sevrage')).toHaveLength(1);
		expect(await search('gp', 'traitant')).toHaveLength(0);
		expect(await search('gp', 'supprimé')).toHaveLength(0);
	});

	test('removed from the care team, the thread no longer shows', async () => {
		await db.deleteFrom('patient_team_member').where('patient_id', '=', patient.id).where('user_id', '=', actors.psy.userId).execute();
		try {
			expect(await search('psy', 'sevrage')).toHaveLength(0);
		} finally {
			await db.insertInto('patient_team_member').values({ patient_id: patient.id, user_id: actors.psy.userId }).execute();
		}
		expect(await search('psy', 'sevrage')).toHaveLength(1);
	});
});

describe('a common word (thousands of matches: the newest-first path)', () => {
	test('only readable conversations, newest first, one page', async () => {
		const otherTeam = await teamConversationId(db, other.microstructureId);
		// 2,500 recent matches the reader may not see, 60 older ones in their team conversation.
		await sql`insert into message (conversation_id, seq, sender_id, client_id, body, created_at)
			select ${otherTeam}, 1000 + i, ${actors.outsider.userId}, gen_random_uuid(), 'Bilan de la semaine numéro ' || i, now() - i * interval '1 second'
			from generate_series(1, 2500) i`.execute(db);
		await sql`insert into message (conversation_id, seq, sender_id, client_id, body, created_at)
			select ${team}, 1000 + i, ${actors.psy.userId}, gen_random_uuid(), 'Bilans du mois ' || i, now() - interval '1 day' - i * interval '1 second'
			from generate_series(1, 60) i`.execute(db);
		const r = await search('gp', 'bilan');
		expect(r).toHaveLength(30);
		expect(r.every((x) => x.conversationId === team)).toBe(true);
		expect(r.map((x) => x.seq)).toEqual(Array.from({ length: 30 }, (_, i) => 1001 + i));
		expect(r[0].excerpt).toBe('<mark>Bilans</mark> du mois 1');
		const outsider = await search('outsider', 'bilan');
		expect(outsider).toHaveLength(30);
		expect(outsider[0].excerpt).toBe('<mark>Bilan</mark> de la semaine numéro 1');
	});

	test('a compound word and two words together take the same path (the planner takes their words as independent)', async () => {
		const otherTeam = await teamConversationId(db, other.microstructureId);
		await sql`insert into message (conversation_id, seq, sender_id, client_id, body, created_at)
			select ${otherTeam}, 5000 + i, ${actors.outsider.userId}, gen_random_uuid(), 'Vu par la sage-femme, visite ' || i, now() - i * interval '1 second'
			from generate_series(1, 2500) i`.execute(db);
		await sql`insert into message (conversation_id, seq, sender_id, client_id, body, created_at)
			select ${team}, 5000 + i, ${actors.psy.userId}, gen_random_uuid(), 'Appeler la sage-femme ' || i, now() - interval '2 days' - i * interval '1 second'
			from generate_series(1, 40) i`.execute(db);
		for (const q of ['sage-femme', 'sage femme', '"sage femme"']) {
			const r = await search('gp', q);
			expect(r, q).toHaveLength(30);
			expect(r.every((x) => x.conversationId === team)).toBe(true);
			expect(r.map((x) => x.seq)).toEqual(Array.from({ length: 30 }, (_, i) => 5001 + i));
		}
	});
});

describe('excerpts', () => {
	test('a message with markup comes back as escaped text, with <mark> only around the hits', async () => {
		const [r] = await search('gp', 'avis');
		expect(r.excerpt).toBe('<mark>Avis</mark> du médecin &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt; a&lt;b');
		expect(r.excerpt.replace(/<\/?mark>/g, '')).not.toMatch(/[<>]/);
	});

	test('excerptHtml escapes before marking', () => {
		expect(excerptHtml('a \u0001b\u0002 <i>"c"</i>')).toBe('a <mark>b</mark> &lt;i&gt;&quot;c&quot;&lt;/i&gt;');
	});
});

describe('limits and audit', () => {
	test('too short, too long, only stop words, not text: a French error', async () => {
		for (const q of ['', ' ', 'a', 'x'.repeat(201), '\u0000\u0001', 42, null]) {
			const r = await searchMessages(db, actors.gp, q);
			expect(r.ok).toBe(false);
			expect(r.ok ? '' : r.error).toMatch(/caractères|recherche/);
		}
		const stop = await searchMessages(db, actors.gp, 'le la de');
		expect(stop).toEqual({ ok: false, error: 'Ces mots sont trop courants pour une recherche : précisez.' });
		expect((await searchMessages(db, actors.gp, 'x'.repeat(200))).ok).toBe(true);
	});

	test('one patient.read per patient shown, purpose message_search; none for team results', async () => {
		const before = await db.selectFrom('audit_event').select('id').where('action', '=', 'patient.read').where('actor_id', '=', actors.gp.userId).execute();
		const r = await searchMessages(db, actors.gp, 'médecin', { ctx: { actorId: actors.gp.userId, ip: '10.0.0.1' } });
		expect(r.ok && r.results.length).toBe(3);
		const after = await db
			.selectFrom('audit_event')
			.select(['id', 'target_type', 'target_id', 'ip', 'details'])
			.where('action', '=', 'patient.read')
			.where('actor_id', '=', actors.gp.userId)
			.execute();
		const added = after.filter((a) => !before.some((b) => b.id === a.id));
		expect(added).toHaveLength(1);
		expect(added[0]).toMatchObject({ target_type: 'patient', target_id: patient.id, ip: '10.0.0.1', details: { purpose: 'message_search', conversation: thread } });
		// Only the team conversation in the results: nothing about a patient to audit.
		const secretaryBefore = await db.selectFrom('audit_event').select('id').where('actor_id', '=', actors.secretary.userId).where('action', '=', 'patient.read').execute();
		await search('secretary', 'médecin');
		const secretaryAfter = await db.selectFrom('audit_event').select('id').where('actor_id', '=', actors.secretary.userId).where('action', '=', 'patient.read').execute();
		expect(secretaryAfter.length).toBe(secretaryBefore.length);
	});
});
