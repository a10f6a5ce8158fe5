// Invitations, memberships, visibility of microstructures and the audit search, on the demo data.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'kysely';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import type { Db } from '../../src/lib/server/db/index.ts';
import { seedDemo } from '../../src/lib/server/demo/seed.ts';
import { sessionIdFromToken } from '../../src/lib/server/auth/session.ts';
import {
	acceptInvitation,
	createInvitation,
	findPendingInvitation,
	listPendingInvitations,
	revokeInvitation
} from '../../src/lib/server/org/invitations.ts';
import {
	addMembership,
	endMembership,
	getMembership,
	listMembershipsOfUser,
	listMicrostructureMembers
} from '../../src/lib/server/org/memberships.ts';
import { listVisibleMicrostructures } from '../../src/lib/server/org/microstructures.ts';
import { createUser } from '../../src/lib/server/org/users.ts';
import { loadActor, can } from '../../src/lib/server/access/policy.ts';
import { audit, searchAudit } from '../../src/lib/server/audit/audit.ts';

let t: TestDb;
let db: Db;
let ids: Awaited<ReturnType<typeof seedDemo>>;
beforeAll(async () => {
	t = await createTestDb();
	db = t.db;
	ids = await seedDemo(db);
});
afterAll(async () => {
	await t?.close();
});

let counter = 0;
async function newUser(email = `newcomer${++counter}@example.org`) {
	return createUser(db, { email, firstName: 'Nouvelle', lastName: 'Personne', profession: 'infirmier', password: 'a-long-enough-password' });
}

function activeMemberships(userId: string) {
	return db
		.selectFrom('membership')
		.selectAll()
		.where('user_id', '=', userId)
		.where(sql<boolean>`ends_on is null or ends_on > current_date`)
		.execute();
}

describe('invitations', () => {
	test('create → find → accept creates the membership exactly once', async () => {
		const tanneurs = ids.microstructures.tanneurs;
		const inviter = ids.users['marc.weber'];
		const inv = await createInvitation(db, {
			email: '  Lucie.Bonnet@Example.org ',
			firstName: 'Lucie',
			lastName: 'Bonnet',
			profession: 'infirmier',
			microstructureId: tanneurs,
			role: 'soignant',
			invitedBy: inviter
		});
		expect(inv.token).toMatch(/^[a-z2-7]{32}$/);
		expect(inv.expiresAt.getTime()).toBeGreaterThan(Date.now() + 6.9 * 24 * 3600 * 1000);
		expect(inv.expiresAt.getTime()).toBeLessThan(Date.now() + 7.1 * 24 * 3600 * 1000);

		// Only the hash of the token is stored.
		const row = await db.selectFrom('invitation').selectAll().where('id', '=', inv.id).executeTakeFirstOrThrow();
		expect(row.token_hash).toBe(sessionIdFromToken(inv.token));
		expect(JSON.stringify(row)).not.toContain(inv.token);
		expect(row.email).toBe('lucie.bonnet@example.org');

		const pending = await findPendingInvitation(db, inv.token);
		expect(pending).toMatchObject({
			id: inv.id,
			email: 'lucie.bonnet@example.org',
			first_name: 'Lucie',
			role: 'soignant',
			microstructure_id: tanneurs,
			network_id: null,
			microstructure_name: 'Cabinet des Tanneurs',
			inviter_first_name: 'Marc',
			inviter_last_name: 'Weber'
		});
		expect((await listPendingInvitations(db, { microstructureId: tanneurs })).map((i) => i.id)).toContain(inv.id);

		const userId = await newUser('lucie.bonnet@example.org');
		const membershipId = await acceptInvitation(db, inv.id, userId);
		expect(membershipId).toEqual(expect.any(String));
		expect(await getMembership(db, membershipId!)).toMatchObject({
			user_id: userId,
			microstructure_id: tanneurs,
			network_id: null,
			role: 'soignant',
			ends_on: null,
			created_by: inviter
		});
		const actor = await loadActor(db, userId);
		expect(actor.microstructures).toEqual([{ id: tanneurs, networkId: ids.networks.est, role: 'soignant' }]);

		// Second click on the link, by the same person or anyone else.
		expect(await acceptInvitation(db, inv.id, userId)).toBeNull();
		expect(await acceptInvitation(db, inv.id, await newUser())).toBeNull();
		expect(await activeMemberships(userId)).toHaveLength(1);
		expect(await findPendingInvitation(db, inv.token)).toBeUndefined();
		expect((await listPendingInvitations(db, { microstructureId: tanneurs })).map((i) => i.id)).not.toContain(inv.id);
		const accepted = await db.selectFrom('invitation').selectAll().where('id', '=', inv.id).executeTakeFirstOrThrow();
		expect(accepted.accepted_by).toBe(userId);
		expect(accepted.accepted_at).toBeInstanceOf(Date);
	});

	test('two concurrent accepts of the same invitation create one membership', async () => {
		const inv = await createInvitation(db, {
			email: 'race@example.org',
			firstName: 'R',
			lastName: 'Ace',
			profession: 'psychologue',
			microstructureId: ids.microstructures.neuhof,
			role: 'soignant',
			invitedBy: ids.users['marc.weber']
		});
		const a = await newUser();
		const b = await newUser();
		const results = await Promise.all([acceptInvitation(db, inv.id, a), acceptInvitation(db, inv.id, b)]);
		expect(results.filter((r) => r !== null)).toHaveLength(1);
		const rows = await db.selectFrom('membership').select('id').where('microstructure_id', '=', ids.microstructures.neuhof).where('user_id', 'in', [a, b]).execute();
		expect(rows).toHaveLength(1);
	});

	test('a network invitation creates a network membership', async () => {
		const inv = await createInvitation(db, {
			email: 'coord@example.org',
			firstName: 'Co',
			lastName: 'Ord',
			profession: 'coordinateur_medical',
			networkId: ids.networks.ouest,
			role: 'coordination_medicale',
			invitedBy: ids.users['julie.morel']
		});
		expect(await findPendingInvitation(db, inv.token)).toMatchObject({
			network_id: ids.networks.ouest,
			microstructure_id: null,
			network_name: 'Dispositif Microstructures Loire-Atlantique',
			microstructure_name: null
		});
		const userId = await newUser('coord@example.org');
		expect(await acceptInvitation(db, inv.id, userId)).not.toBeNull();
		const actor = await loadActor(db, userId);
		expect(actor.networks).toEqual([{ id: ids.networks.ouest, role: 'coordination_medicale' }]);
		expect(actor.microstructures).toEqual([]);
	});

	test('an expired invitation is neither found nor accepted', async () => {
		const inv = await createInvitation(db, {
			email: 'late@example.org',
			firstName: 'L',
			lastName: 'Ate',
			profession: 'autre',
			microstructureId: ids.microstructures.haguenau,
			role: 'secretariat',
			invitedBy: ids.users['marc.weber']
		});
		expect(await findPendingInvitation(db, inv.token)).toBeDefined();
		await db.updateTable('invitation').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', inv.id).execute();
		expect(await findPendingInvitation(db, inv.token)).toBeUndefined();
		const userId = await newUser();
		expect(await acceptInvitation(db, inv.id, userId)).toBeNull();
		expect(await activeMemberships(userId)).toHaveLength(0);
		expect((await listPendingInvitations(db, { microstructureId: ids.microstructures.haguenau })).map((i) => i.id)).not.toContain(inv.id);
	});

	test('a revoked invitation is neither found nor accepted; revoking needs the right scope', async () => {
		const herblain = ids.microstructures.herblain;
		const inv = await createInvitation(db, {
			email: 'revoked@example.org',
			firstName: 'Re',
			lastName: 'Voked',
			profession: 'infirmier',
			microstructureId: herblain,
			role: 'soignant',
			invitedBy: ids.users['julie.morel']
		});
		// Someone managing another microstructure cannot revoke it.
		expect(await revokeInvitation(db, inv.id, { microstructureId: ids.microstructures.reze })).toBe(false);
		expect(await findPendingInvitation(db, inv.token)).toBeDefined();
		expect(await revokeInvitation(db, inv.id, { microstructureId: herblain })).toBe(true);
		expect(await revokeInvitation(db, inv.id, { microstructureId: herblain })).toBe(false);
		expect(await findPendingInvitation(db, inv.token)).toBeUndefined();
		const userId = await newUser();
		expect(await acceptInvitation(db, inv.id, userId)).toBeNull();
		expect(await activeMemberships(userId)).toHaveLength(0);
	});

	test('an accepted invitation can no longer be revoked', async () => {
		const inv = await createInvitation(db, {
			email: 'done@example.org',
			firstName: 'D',
			lastName: 'One',
			profession: 'infirmier',
			microstructureId: ids.microstructures.reze,
			role: 'soignant',
			invitedBy: ids.users['julie.morel']
		});
		expect(await acceptInvitation(db, inv.id, await newUser())).not.toBeNull();
		expect(await revokeInvitation(db, inv.id, { microstructureId: ids.microstructures.reze })).toBe(false);
	});

	test('malformed and unknown tokens find nothing', async () => {
		const inv = await createInvitation(db, {
			email: 'tokens@example.org',
			firstName: 'T',
			lastName: 'Oken',
			profession: 'autre',
			microstructureId: ids.microstructures.tanneurs,
			role: 'soignant',
			invitedBy: ids.users['marc.weber']
		});
		const bad = [
			'',
			'abc',
			inv.token.toUpperCase(),
			`${inv.token}a`,
			inv.token.slice(1),
			` ${inv.token}`,
			sessionIdFromToken(inv.token),
			"' or 1=1 --",
			'a'.repeat(32),
			'0'.repeat(32),
			'x'.repeat(10_000)
		];
		for (const token of bad) expect(await findPendingInvitation(db, token), JSON.stringify(token.slice(0, 40))).toBeUndefined();
		expect(await findPendingInvitation(db, inv.token)).toBeDefined();
	});

	test('accepting an unknown invitation id does nothing', async () => {
		const userId = await newUser();
		expect(await acceptInvitation(db, '00000000-0000-4000-8000-000000000000', userId)).toBeNull();
		expect(await activeMemberships(userId)).toHaveLength(0);
	});
});

describe('memberships', () => {
	test('endMembership ends it today, once, and the rights go with it', async () => {
		const userId = await newUser();
		const ms = ids.microstructures.haguenau;
		const id = await addMembership(db, { userId, microstructureId: ms, role: 'coordination', createdBy: ids.users['marc.weber'] });
		let actor = await loadActor(db, userId);
		expect(can(actor, 'microstructure.manage_members', { microstructure: { id: ms, networkId: ids.networks.est } })).toBe(true);
		expect((await listMicrostructureMembers(db, ms)).find((m) => m.id === id)?.active).toBe(true);

		expect(await endMembership(db, id, ids.users['marc.weber'])).toBe(true);
		const ended = await getMembership(db, id);
		const { rows } = await sql<{ today: string }>`select current_date::text as today`.execute(db);
		const today = rows[0].today;
		expect(ended).toMatchObject({ ends_on: today, ended_by: ids.users['marc.weber'] });
		expect(await endMembership(db, id, ids.users['marc.weber'])).toBe(false);

		actor = await loadActor(db, userId);
		expect(actor.microstructures).toEqual([]);
		expect(can(actor, 'microstructure.view', { microstructure: { id: ms, networkId: ids.networks.est } })).toBe(false);
		expect((await listMicrostructureMembers(db, ms)).find((m) => m.id === id)?.active).toBe(false);
		expect(await listMembershipsOfUser(db, userId)).toEqual([]);
	});

	test('ending a membership that has not started yet means it never starts', async () => {
		const userId = await newUser();
		const { rows } = await sql<{ d: string }>`select (current_date + 10)::text as d`.execute(db);
		const id = await addMembership(db, {
			userId,
			microstructureId: ids.microstructures.neuhof,
			role: 'soignant',
			createdBy: null,
			startsOn: rows[0].d
		});
		expect(await endMembership(db, id, ids.users['marc.weber'])).toBe(true);
		expect(await getMembership(db, id)).toMatchObject({ starts_on: rows[0].d, ends_on: rows[0].d });
		expect(await endMembership(db, id, ids.users['marc.weber'])).toBe(false);
		expect((await loadActor(db, userId)).microstructures).toEqual([]);
	});

	test('endMembership on an unknown id is false', async () => {
		expect(await endMembership(db, '00000000-0000-4000-8000-000000000000', ids.users.admin)).toBe(false);
	});
});

describe('listVisibleMicrostructures', () => {
	// Compared as sorted sets: the database orders by name with its own collation, which differs
	// between PGlite (C) and a PostgreSQL cluster (locale-aware).
	const names = async (login: string) => {
		const list = await listVisibleMicrostructures(db, await loadActor(db, ids.users[login]));
		return list.map((m) => [m.name, m.role]).sort((a, b) => String(a[0]).localeCompare(String(b[0]), 'fr'));
	};

	test('a GP sees their own microstructure, with their role', async () => {
		expect(await names('ines.haddad')).toEqual([['Cabinet des Tanneurs', 'soignant']]);
	});

	test('a psychologist sees the three microstructures they work in', async () => {
		expect(await names('camille.durand')).toEqual([
			['Cabinet des Tanneurs', 'soignant'],
			['Centre de santé de Haguenau', 'soignant'],
			['MSP du Neuhof', 'soignant']
		]);
	});

	test('a network coordinator sees every microstructure of their network and no other', async () => {
		const est = [
			['Cabinet des Tanneurs', null],
			['Centre de santé de Haguenau', null],
			['MSP du Neuhof', null]
		];
		expect(await names('marc.weber')).toEqual(est);
		expect(await names('sophie.klein')).toEqual(est);
		expect(await names('julie.morel')).toEqual([
			['Cabinet médical de Saint-Herblain', null],
			["MSP de l'Île de Nantes", null],
			['MSP de Rezé', null]
		]);
	});

	test('the platform administrator sees them all; someone without membership sees none', async () => {
		const all = await listVisibleMicrostructures(db, await loadActor(db, ids.users.admin));
		expect(all.map((m) => m.id).sort()).toEqual(Object.values(ids.microstructures).sort());
		// Sorted by network name, then name.
		expect(all.map((m) => m.network_name)).toEqual([
			...Array(3).fill('Dispositif Microstructures Loire-Atlantique'),
			...Array(3).fill('Réseau Microstructures Bas-Rhin')
		]);
		expect(await listVisibleMicrostructures(db, await loadActor(db, await newUser()))).toEqual([]);
	});

	test('an archived microstructure disappears for everyone', async () => {
		const [{ id }] = await db
			.insertInto('microstructure')
			.values({ network_id: ids.networks.est, name: 'Ancien cabinet', programmes: ['MSMA'], archived_at: new Date() })
			.returning('id')
			.execute();
		await addMembership(db, { userId: ids.users['ines.haddad'], microstructureId: id, role: 'soignant', createdBy: null, startsOn: '2025-01-01' });
		for (const login of ['ines.haddad', 'marc.weber', 'admin']) {
			const list = await listVisibleMicrostructures(db, await loadActor(db, ids.users[login]));
			expect(list.map((m) => m.id)).not.toContain(id);
		}
	});
});

describe('searchAudit', () => {
	const ZERO = '00000000-0000-4000-8000-000000000000';

	test('is restricted to what concerns the given networks', async () => {
		const { est, ouest } = ids.networks;
		const outsider = await newUser('audit-outsider@example.org');
		const nobody = { actorId: null };
		const events: Record<string, string> = {};
		const record = async (key: string, ctx: { actorId: string | null }, entry: Omit<Parameters<typeof audit>[2], 'action'>) => {
			const action = `test.audit.${key}`;
			await audit(db, ctx, { ...entry, action });
			events[key] = action;
		};
		await record('on_est_ms', nobody, { microstructureId: ids.microstructures.tanneurs, networkId: est });
		await record('on_est_ms_without_network', nobody, { microstructureId: ids.microstructures.neuhof });
		await record('on_est_network', nobody, { networkId: est });
		await record('by_est_member', { actorId: ids.users['ines.haddad'] }, {});
		await record('about_est_member', nobody, { targetType: 'user', targetId: ids.users['claire.muller'] });
		await record('on_ouest_ms', nobody, { microstructureId: ids.microstructures.ilenantes, networkId: ouest });
		await record('on_ouest_ms_without_network', nobody, { microstructureId: ids.microstructures.reze });
		await record('by_ouest_member', { actorId: ids.users['jean.leroux'] }, {});
		await record('by_outsider', { actorId: outsider }, { targetType: 'user', targetId: outsider });
		// An est member acting on a microstructure of the other network: that is ouest's business.
		await record('est_member_on_ouest_ms', { actorId: ids.users['camille.durand'] }, {
			microstructureId: ids.microstructures.herblain,
			networkId: ouest,
			targetType: 'user',
			targetId: ids.users['antoine.bernard']
		});

		const actions = async (networkIds: string[] | 'all') =>
			(await searchAudit(db, { networkIds, action: 'test.audit.', limit: 100 })).map((r) => r.action.slice('test.audit.'.length)).sort();

		expect(await actions([est])).toEqual(
			['about_est_member', 'by_est_member', 'on_est_ms', 'on_est_ms_without_network', 'on_est_network'].sort()
		);
		expect(await actions([ouest])).toEqual(
			['by_ouest_member', 'est_member_on_ouest_ms', 'on_ouest_ms', 'on_ouest_ms_without_network'].sort()
		);
		expect(await actions([est, ouest])).toHaveLength(9);
		expect(await actions('all')).toHaveLength(10);
		expect(await actions([])).toEqual([]);
		expect(await actions([ZERO])).toEqual([]);
	});

	test('filters by action prefix, actor and dates, newest first, with paging', async () => {
		const ines = ids.users['ines.haddad'];
		for (let i = 0; i < 5; i++) {
			await audit(db, { actorId: ines, ip: '192.0.2.1' }, { action: `test.page.${i}`, microstructureId: ids.microstructures.tanneurs, networkId: ids.networks.est });
		}
		await audit(db, { actorId: ids.users['paul.schmitt'] }, { action: 'test.page.other', networkId: ids.networks.est });
		const page1 = await searchAudit(db, { networkIds: [ids.networks.est], action: 'test.page.', actorId: ines, limit: 3 });
		const page2 = await searchAudit(db, { networkIds: [ids.networks.est], action: 'test.page.', actorId: ines, limit: 3, offset: 3 });
		expect(page1.map((r) => r.action)).toEqual(['test.page.4', 'test.page.3', 'test.page.2']);
		expect(page2.map((r) => r.action)).toEqual(['test.page.1', 'test.page.0']);
		expect(page1[0]).toMatchObject({ first_name: 'Inès', last_name: 'Haddad', ip: '192.0.2.1', microstructure_id: ids.microstructures.tanneurs });
		const future = await searchAudit(db, { networkIds: 'all', action: 'test.page.', from: new Date(Date.now() + 60_000) });
		expect(future).toEqual([]);
		const past = await searchAudit(db, { networkIds: 'all', action: 'test.page.', to: new Date(Date.now() - 60 * 60_000) });
		expect(past).toEqual([]);
	});
});
