// The authorization matrix, decided by src/lib/server/access/policy.ts: every role × resource ×
// action, written out as tables so that a change of rule shows up as a precise failing row.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'kysely';
import {
	can,
	docAccess,
	loadActor,
	requiresTwoFactor,
	roomAccess,
	type Action,
	type Actor,
	type DocAccess
} from '../../src/lib/server/access/policy.ts';
import { NET1, NET2, A, B, C, UNKNOWN_MS, MS, resolveMs, uid, ACTORS, ACTOR_KEYS, ms, net, NETWORK_IDS, type MsKey, type ActorKey, type PerMs, type PerNet } from '../helpers/policy-fixture.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { createNetwork } from '../../src/lib/server/org/networks.ts';
import { createMicrostructure } from '../../src/lib/server/org/microstructures.ts';
import { createUser } from '../../src/lib/server/org/users.ts';
import { addMembership, endMembership } from '../../src/lib/server/org/memberships.ts';

// ---------------------------------------------------------------------------------------------
// Expected matrices. `true`/`false` per actor and resource.
// ---------------------------------------------------------------------------------------------

const MICROSTRUCTURE_VIEW: Record<ActorKey, PerMs> = {
	gp: ms(true, false, false),
	psychologist: ms(true, true, false),
	secretariat: ms(true, false, false),
	msCoordination: ms(true, false, false),
	networkMedical: ms(true, true, false),
	networkAdministrative: ms(true, true, false),
	networkAdmin: ms(true, true, false),
	platformAdmin: ms(true, true, true),
	outsider: ms(false, false, false)
};

const MICROSTRUCTURE_MANAGE_MEMBERS: Record<ActorKey, PerMs> = {
	gp: ms(false, false, false),
	psychologist: ms(false, false, false),
	secretariat: ms(false, false, false),
	msCoordination: ms(true, false, false),
	networkMedical: ms(true, true, false),
	networkAdministrative: ms(true, true, false),
	networkAdmin: ms(true, true, false),
	platformAdmin: ms(true, true, true),
	outsider: ms(false, false, false)
};

// Patient records: need-to-know. The care team and the coordinators, never the secretariat, a
// bare administrator or the platform administrator.
const PATIENT_READ_WRITE: Record<ActorKey, PerMs> = {
	gp: ms(true, false, false),
	psychologist: ms(true, true, false),
	secretariat: ms(false, false, false),
	msCoordination: ms(true, false, false),
	networkMedical: ms(true, true, false),
	networkAdministrative: ms(true, true, false),
	networkAdmin: ms(false, false, false),
	platformAdmin: ms(false, false, false),
	outsider: ms(false, false, false)
};

// The NIR is for billing: the network's administrative coordination only.
const PATIENT_NIR: Record<ActorKey, PerMs> = {
	gp: ms(false, false, false),
	psychologist: ms(false, false, false),
	secretariat: ms(false, false, false),
	msCoordination: ms(false, false, false),
	networkMedical: ms(false, false, false),
	networkAdministrative: ms(true, true, false),
	networkAdmin: ms(false, false, false),
	platformAdmin: ms(false, false, false),
	outsider: ms(false, false, false)
};

const PATIENT_ACCESS_LOG: Record<ActorKey, PerMs> = {
	gp: ms(false, false, false),
	psychologist: ms(false, false, false),
	secretariat: ms(false, false, false),
	msCoordination: ms(true, false, false),
	networkMedical: ms(true, true, false),
	networkAdministrative: ms(true, true, false),
	networkAdmin: ms(false, false, false),
	platformAdmin: ms(false, false, false),
	outsider: ms(false, false, false)
};

const PATIENT_ANONYMISE: Record<ActorKey, PerMs> = {
	gp: ms(false, false, false),
	psychologist: ms(false, false, false),
	secretariat: ms(false, false, false),
	msCoordination: ms(true, false, false),
	networkMedical: ms(false, false, false),
	networkAdministrative: ms(true, true, false),
	networkAdmin: ms(false, false, false),
	platformAdmin: ms(false, false, false),
	outsider: ms(false, false, false)
};


const NETWORK_VIEW: Record<ActorKey, PerNet> = {
	gp: net(false, false),
	psychologist: net(false, false),
	secretariat: net(false, false),
	msCoordination: net(false, false),
	networkMedical: net(true, false),
	networkAdministrative: net(true, false),
	networkAdmin: net(true, false),
	platformAdmin: net(true, true),
	outsider: net(false, false)
};

// network.manage and network.audit: network administrators and the platform administrator only.
const NETWORK_ADMINISTER: Record<ActorKey, PerNet> = {
	gp: net(false, false),
	psychologist: net(false, false),
	secretariat: net(false, false),
	msCoordination: net(false, false),
	networkMedical: net(false, false),
	networkAdministrative: net(false, false),
	networkAdmin: net(true, false),
	platformAdmin: net(true, true),
	outsider: net(false, false)
};

const NETWORK_CREATE: Record<ActorKey, boolean> = {
	gp: false,
	psychologist: false,
	secretariat: false,
	msCoordination: false,
	networkMedical: false,
	networkAdministrative: false,
	networkAdmin: false,
	platformAdmin: true,
	outsider: false
};

const NOTES_ACCESS: Record<ActorKey, Record<MsKey, DocAccess>> = {
	gp: { A: 'rw', B: 'none', C: 'none' },
	psychologist: { A: 'rw', B: 'rw', C: 'none' },
	secretariat: { A: 'ro', B: 'none', C: 'none' },
	msCoordination: { A: 'rw', B: 'none', C: 'none' },
	networkMedical: { A: 'rw', B: 'rw', C: 'none' },
	networkAdministrative: { A: 'rw', B: 'rw', C: 'none' },
	networkAdmin: { A: 'ro', B: 'ro', C: 'none' },
	platformAdmin: { A: 'ro', B: 'ro', C: 'ro' },
	outsider: { A: 'none', B: 'none', C: 'none' }
};

const REQUIRES_TWO_FACTOR: Record<ActorKey, boolean> = {
	gp: false,
	psychologist: false,
	secretariat: false,
	msCoordination: true,
	networkMedical: true,
	networkAdministrative: true,
	networkAdmin: true,
	platformAdmin: true,
	outsider: false
};

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------
function msRows(matrix: Record<ActorKey, PerMs>) {
	return ACTOR_KEYS.flatMap((actor) => (['A', 'B', 'C'] as MsKey[]).map((m) => ({ actor, ms: m, expected: matrix[actor][m] })));
}
function netRows(matrix: Record<ActorKey, PerNet>) {
	return ACTOR_KEYS.flatMap((actor) => (['net1', 'net2'] as const).map((n) => ({ actor, network: n, expected: matrix[actor][n] })));
}

describe('can: microstructure actions', () => {
	test.each(msRows(MICROSTRUCTURE_VIEW))('microstructure.view: $actor on $ms → $expected', ({ actor, ms: m, expected }) => {
		expect(can(ACTORS[actor], 'microstructure.view', { microstructure: MS[m] })).toBe(expected);
	});
	test.each(msRows(MICROSTRUCTURE_MANAGE_MEMBERS))(
		'microstructure.manage_members: $actor on $ms → $expected',
		({ actor, ms: m, expected }) => {
			expect(can(ACTORS[actor], 'microstructure.manage_members', { microstructure: MS[m] })).toBe(expected);
		}
	);
});

describe('can: patient actions', () => {
	const table: [Action, Record<ActorKey, PerMs>][] = [
		['patient.read', PATIENT_READ_WRITE],
		['patient.write', PATIENT_READ_WRITE],
		['patient.nir', PATIENT_NIR],
		['patient.access_log', PATIENT_ACCESS_LOG],
		['patient.anonymise', PATIENT_ANONYMISE]
	];
	const rows = table.flatMap(([action, matrix]) => msRows(matrix).map((row) => ({ action, ...row })));
	test.each(rows)('$action: $actor on $ms → $expected', ({ action, actor, ms: m, expected }) => {
		expect(can(ACTORS[actor], action, { microstructure: MS[m] })).toBe(expected);
	});
});

describe('can: network actions', () => {
	test.each(netRows(NETWORK_VIEW))('network.view: $actor on $network → $expected', ({ actor, network, expected }) => {
		expect(can(ACTORS[actor], 'network.view', { networkId: NETWORK_IDS[network] })).toBe(expected);
	});
	test.each(netRows(NETWORK_ADMINISTER))('network.manage: $actor on $network → $expected', ({ actor, network, expected }) => {
		expect(can(ACTORS[actor], 'network.manage', { networkId: NETWORK_IDS[network] })).toBe(expected);
	});
	test.each(netRows(NETWORK_ADMINISTER))('network.audit: $actor on $network → $expected', ({ actor, network, expected }) => {
		expect(can(ACTORS[actor], 'network.audit', { networkId: NETWORK_IDS[network] })).toBe(expected);
	});
	test.each(ACTOR_KEYS.map((actor) => ({ actor, expected: NETWORK_CREATE[actor] })))(
		'network.create: $actor → $expected',
		({ actor, expected }) => {
			expect(can(ACTORS[actor], 'network.create')).toBe(expected);
			expect(can(ACTORS[actor], 'network.create', {})).toBe(expected);
		}
	);
});

describe('can: a resource of the wrong kind is always refused', () => {
	const microstructureActions: Action[] = [
		'microstructure.view',
		'microstructure.manage_members',
		'patient.read',
		'patient.write',
		'patient.nir',
		'patient.access_log',
		'patient.anonymise'
	];
	const networkActions: Action[] = ['network.view', 'network.manage', 'network.audit'];
	test.each(ACTOR_KEYS)('%s', (key) => {
		const actor = ACTORS[key];
		for (const action of microstructureActions) {
			expect(can(actor, action), `${action} without resource`).toBe(false);
			expect(can(actor, action, { networkId: NET1 }), `${action} on a network`).toBe(false);
		}
		for (const action of networkActions) {
			expect(can(actor, action), `${action} without resource`).toBe(false);
			expect(can(actor, action, { microstructure: A }), `${action} on a microstructure`).toBe(false);
		}
	});

	test('even the platform administrator needs a resource', () => {
		expect(can(ACTORS.platformAdmin, 'microstructure.view', {})).toBe(false);
		expect(can(ACTORS.platformAdmin, 'network.manage', {})).toBe(false);
	});

	test('an unknown action is refused', () => {
		expect(can(ACTORS.platformAdmin, 'network.delete' as Action, { networkId: NET1 })).toBeFalsy();
	});
});

describe('can: rights are additive and do not leak between places', () => {
	test('a secretariat of A who also coordinates net2 cannot manage A, and sees C', () => {
		const actor: Actor = {
			userId: uid(20),
			platformAdmin: false,
			microstructures: [{ id: A.id, networkId: NET1, role: 'secretariat' }],
			networks: [{ id: NET2, role: 'coordination_medicale' }]
		};
		expect(can(actor, 'microstructure.manage_members', { microstructure: A })).toBe(false);
		expect(can(actor, 'microstructure.manage_members', { microstructure: C })).toBe(true);
		expect(can(actor, 'microstructure.view', { microstructure: B })).toBe(false);
		expect(can(actor, 'network.view', { networkId: NET1 })).toBe(false);
		expect(can(actor, 'network.manage', { networkId: NET2 })).toBe(false);
	});

	test('a role in a microstructure that claims another network does not grant the network', () => {
		// Only the memberships decide: a membership of A says nothing about net2.
		expect(can(ACTORS.msCoordination, 'microstructure.manage_members', { microstructure: { id: B.id, networkId: NET1 } })).toBe(false);
		expect(can(ACTORS.gp, 'microstructure.view', { microstructure: { id: C.id, networkId: NET2 } })).toBe(false);
	});
});

describe('docAccess: ms-notes documents', () => {
	const rows = ACTOR_KEYS.flatMap((actor) =>
		(['A', 'B', 'C'] as MsKey[]).map((m) => ({ actor, ms: m, expected: NOTES_ACCESS[actor][m] }))
	);
	test.each(rows)('$actor on ms-notes:$ms → $expected', async ({ actor, ms: m, expected }) => {
		expect(await docAccess(ACTORS[actor], `ms-notes:${MS[m].id}`, resolveMs)).toBe(expected);
	});

	test('a secretariat who also coordinates the network writes', async () => {
		const actor: Actor = {
			userId: uid(21),
			platformAdmin: false,
			microstructures: [{ id: A.id, networkId: NET1, role: 'secretariat' }],
			networks: [{ id: NET1, role: 'coordination_administrative' }]
		};
		expect(await docAccess(actor, `ms-notes:${A.id}`, resolveMs)).toBe('rw');
	});

	const badNames = [
		'',
		'ms-notes:',
		`ms-notes:${UNKNOWN_MS}`,
		`pps:${A.id}`,
		`rcp:${A.id}`,
		`notes:${A.id}`,
		`ms-notes-${A.id}`,
		`MS-NOTES:${A.id}`,
		`ms-notes:${A.id.toUpperCase()}`,
		`ms-notes:${A.id} `,
		` ms-notes:${A.id}`,
		`ms-notes:${A.id}\n`,
		`ms-notes:${A.id}:extra`,
		`ms-notes:${A.id}/../x`,
		`x/ms-notes:${A.id}`,
		`ms-notes:${A.id.slice(0, 35)}`,
		`ms-notes:${A.id}0`,
		`ms-notes:${A.id.replace(/-/g, '')}`,
		'ms-notes:zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'
	];
	test.each(badNames.map((name) => ({ name: JSON.stringify(name), raw: name })))(
		'$name → none, even for the platform administrator',
		async ({ raw }) => {
			for (const actor of Object.values(ACTORS)) {
				expect(await docAccess(actor, raw, resolveMs)).toBe('none');
			}
		}
	);

	test('the resolver is only asked for a well-formed id, and a missing microstructure is none', async () => {
		const asked: string[] = [];
		const spy = async (id: string) => {
			asked.push(id);
			return null;
		};
		expect(await docAccess(ACTORS.platformAdmin, `ms-notes:${A.id}`, spy)).toBe('none');
		expect(await docAccess(ACTORS.platformAdmin, `pps:${A.id}`, spy)).toBe('none');
		expect(await docAccess(ACTORS.platformAdmin, 'ms-notes:not-a-uuid', spy)).toBe('none');
		expect(asked).toEqual([A.id]);
	});
});

describe('roomAccess', () => {
	const rows = ACTOR_KEYS.flatMap((actor) =>
		(['A', 'B', 'C'] as MsKey[]).map((m) => ({ actor, ms: m, expected: MICROSTRUCTURE_VIEW[actor][m] }))
	);
	test.each(rows)('$actor joins ms:$ms → $expected', async ({ actor, ms: m, expected }) => {
		expect(await roomAccess(ACTORS[actor], `ms:${MS[m].id}`, resolveMs)).toBe(expected);
	});

	test.each(ACTOR_KEYS)('%s may join its own user room and nobody else’s', async (key) => {
		const actor = ACTORS[key];
		expect(await roomAccess(actor, `user:${actor.userId}`, resolveMs)).toBe(true);
		for (const other of Object.values(ACTORS)) {
			if (other.userId === actor.userId) continue;
			expect(await roomAccess(actor, `user:${other.userId}`, resolveMs)).toBe(false);
		}
	});

	const junkRooms = [
		'',
		'ms:',
		'user:',
		`ms:${UNKNOWN_MS}`,
		`ms:${A.id} `,
		`ms:${A.id}x`,
		`MS:${A.id}`,
		`ms-notes:${A.id}`,
		`ms:${A.id.toUpperCase()}`,
		`ms:${A.id}\n`,
		`room:${A.id}`,
		`network:${NET1}`,
		`user:${uid(1)} `,
		`user:${uid(1)}x`,
		`user:user:${uid(1)}`
	];
	test.each(junkRooms.map((room) => ({ room: JSON.stringify(room), raw: room })))(
		'$room is refused to everyone but its owner',
		async ({ raw }) => {
			for (const actor of Object.values(ACTORS)) {
				expect(await roomAccess(actor, raw, resolveMs)).toBe(false);
			}
		}
	);
});

describe('requiresTwoFactor', () => {
	test.each(ACTOR_KEYS.map((actor) => ({ actor, expected: REQUIRES_TWO_FACTOR[actor] })))(
		'$actor → $expected',
		({ actor, expected }) => {
			expect(requiresTwoFactor(ACTORS[actor])).toBe(expected);
		}
	);
});

// ---------------------------------------------------------------------------------------------
// loadActor, against a real database
// ---------------------------------------------------------------------------------------------
describe('loadActor', () => {
	let t: TestDb;
	beforeAll(async () => {
		t = await createTestDb();
	});
	afterAll(async () => {
		await t?.close();
	});

	test('keeps active memberships only: ended, ending today and not-yet-started ones are ignored', async () => {
		const db = t.db;
		// Dates come from the database, which decides what "today" is.
		const { rows } = await sql<{ yesterday: string; today: string; tomorrow: string; lastYear: string }>`
			select (current_date - 1)::text as yesterday, current_date::text as today,
				(current_date + 1)::text as tomorrow, (current_date - 365)::text as "lastYear"`.execute(db);
		const { yesterday, today, tomorrow, lastYear } = rows[0];

		const net1 = await createNetwork(db, { name: 'Réseau 1', territory: '' });
		const net2 = await createNetwork(db, { name: 'Réseau 2', territory: '' });
		const net3 = await createNetwork(db, { name: 'Réseau 3', territory: '' });
		const mk = (networkId: string, name: string) =>
			createMicrostructure(db, { networkId, name, programmes: ['MSMA'], practiceKind: 'cabinet', city: 'Strasbourg' });
		const active = await mk(net1, 'Active');
		const endedPast = await mk(net1, 'Ended last week');
		const endedToday = await mk(net1, 'Ended today');
		const future = await mk(net1, 'Starts tomorrow');
		const archived = await mk(net1, 'Archived');
		const startsToday = await mk(net2, 'Starts today');
		const endsTomorrow = await mk(net2, 'Ends tomorrow');
		await db.updateTable('microstructure').set({ archived_at: new Date() }).where('id', '=', archived).execute();

		const user = await createUser(db, {
			email: 'loadactor@example.org',
			firstName: 'Lou',
			lastName: 'Actor',
			profession: 'psychologue',
			password: 'a-long-enough-password'
		});
		const add = (m: Parameters<typeof addMembership>[1]) => addMembership(db, m);
		await add({ userId: user, microstructureId: active, role: 'soignant', createdBy: null, startsOn: lastYear });
		await add({ userId: user, microstructureId: startsToday, role: 'secretariat', createdBy: null, startsOn: today });
		const m3 = await add({ userId: user, microstructureId: endsTomorrow, role: 'coordination', createdBy: null, startsOn: lastYear });
		await db.updateTable('membership').set({ ends_on: tomorrow }).where('id', '=', m3).execute();
		const m1 = await add({ userId: user, microstructureId: endedPast, role: 'coordination', createdBy: null, startsOn: lastYear });
		await db.updateTable('membership').set({ ends_on: yesterday }).where('id', '=', m1).execute();
		const m2 = await add({ userId: user, microstructureId: endedToday, role: 'coordination', createdBy: null, startsOn: lastYear });
		expect(await endMembership(db, m2, user)).toBe(true);
		await add({ userId: user, microstructureId: future, role: 'coordination', createdBy: null, startsOn: tomorrow });
		await add({ userId: user, microstructureId: archived, role: 'soignant', createdBy: null, startsOn: lastYear });
		// Network memberships: one active, one ended, one not started.
		await add({ userId: user, networkId: net2, role: 'coordination_medicale', createdBy: null, startsOn: lastYear });
		const n1 = await add({ userId: user, networkId: net1, role: 'admin', createdBy: null, startsOn: lastYear });
		expect(await endMembership(db, n1, user)).toBe(true);
		await add({ userId: user, networkId: net3, role: 'admin', createdBy: null, startsOn: tomorrow });

		const actor = await loadActor(db, user);
		expect(actor.userId).toBe(user);
		expect(actor.platformAdmin).toBe(false);
		const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
		expect([...actor.microstructures].sort(byId)).toEqual(
			[
				{ id: active, networkId: net1, role: 'soignant' },
				{ id: startsToday, networkId: net2, role: 'secretariat' },
				{ id: endsTomorrow, networkId: net2, role: 'coordination' }
			].sort(byId)
		);
		expect(actor.networks).toEqual([{ id: net2, role: 'coordination_medicale' }]);

		// The decisions follow: no rights left from the ended or future memberships.
		expect(can(actor, 'microstructure.manage_members', { microstructure: { id: endedToday, networkId: net1 } })).toBe(false);
		expect(can(actor, 'microstructure.view', { microstructure: { id: future, networkId: net1 } })).toBe(false);
		expect(can(actor, 'network.manage', { networkId: net1 })).toBe(false);
		expect(can(actor, 'network.view', { networkId: net3 })).toBe(false);
	});

	test('platform_admin comes from the user row; an unknown user has no rights at all', async () => {
		const admin = await createUser(t.db, {
			email: 'root@example.org',
			firstName: 'Root',
			lastName: 'Admin',
			profession: 'autre',
			password: 'a-long-enough-password',
			platformAdmin: true
		});
		expect(await loadActor(t.db, admin)).toEqual({ userId: admin, platformAdmin: true, microstructures: [], networks: [] });
		const ghost = '99999999-9999-4999-8999-999999999999';
		expect(await loadActor(t.db, ghost)).toEqual({ userId: ghost, platformAdmin: false, microstructures: [], networks: [] });
	});
});
