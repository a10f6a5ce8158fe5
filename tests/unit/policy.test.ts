// The authorization matrix, decided by src/lib/server/access/policy.ts: every role × resource ×
// action, written out as tables so that a change of rule shows up as a precise failing row.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSession, generateSessionToken, validateSessionToken } from '../../src/lib/server/auth/session.ts';
import { sql } from 'kysely';
import {
	can,
	canResetSecondFactor,
	docAccess,
	docDecision,
	loadActor,
	mayAskToJoinTeam,
	ppsAccess,
	ppsDecision,
	rcpNotesDecision,
	requiresTwoFactor,
	roomAccess,
	type Action,
	type Actor,
	type DocAccess,
	type DocDecision,
	type PatientRef
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

// The cockpit (indicators, alerts, reports): the network's two coordinators. Billing (with the
// NIR): the administrative coordination only. Never a bare network administrator, nor the
// platform administrator, who has the national view instead.
const COCKPIT: Record<ActorKey, PerNet> = {
	gp: net(false, false),
	psychologist: net(false, false),
	secretariat: net(false, false),
	msCoordination: net(false, false),
	networkMedical: net(true, false),
	networkAdministrative: net(true, false),
	networkAdmin: net(false, false),
	platformAdmin: net(false, false),
	outsider: net(false, false)
};
const BILLING: Record<ActorKey, PerNet> = { ...COCKPIT, networkMedical: net(false, false) };

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

// The RCP schedule (full matrix in rcp-policy.test.ts) widens RCP viewing by the secretariat of the
// microstructure and nobody else: whoever reads it without viewing the RCPs reads no patient there.
describe('can: rcp.schedule.read adds the secretariat and nothing else', () => {
	const rows = ACTOR_KEYS.flatMap((actor) => (['A', 'B', 'C'] as MsKey[]).map((m) => ({ actor, ms: m })));
	test.each(rows)('$actor on $ms', ({ actor, ms: m }) => {
		const a = ACTORS[actor];
		const schedule = can(a, 'rcp.schedule.read', { microstructure: MS[m] });
		const view = can(a, 'rcp.view', { microstructure: MS[m] });
		const secretariat = a.microstructures.some((x) => x.id === MS[m].id && x.role === 'secretariat');
		expect(schedule).toBe(view || secretariat);
		if (schedule && !view) expect(can(a, 'patient.read', { microstructure: MS[m] })).toBe(false);
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
	test.each(netRows(NETWORK_ADMINISTER))('user.reset_second_factor: $actor on $network → $expected', ({ actor, network, expected }) => {
		expect(can(ACTORS[actor], 'user.reset_second_factor', { networkId: NETWORK_IDS[network] })).toBe(expected);
	});
	for (const action of ['cockpit.view', 'cockpit.alerts', 'cockpit.reports'] as const) {
		test.each(netRows(COCKPIT))(`${action}: $actor on $network → $expected`, ({ actor, network, expected }) => {
			expect(can(ACTORS[actor], action, { networkId: NETWORK_IDS[network] })).toBe(expected);
			// A microstructure is not a network: the cockpit is never decided on one.
			expect(can(ACTORS[actor], action, { microstructure: MS.A })).toBe(false);
		});
	}
	test.each(netRows(BILLING))('billing.manage: $actor on $network → $expected', ({ actor, network, expected }) => {
		expect(can(ACTORS[actor], 'billing.manage', { networkId: NETWORK_IDS[network] })).toBe(expected);
	});
	test.each(ACTOR_KEYS.map((actor) => ({ actor, expected: actor === 'platformAdmin' })))('cockpit.national: $actor → $expected', ({ actor, expected }) => {
		expect(can(ACTORS[actor], 'cockpit.national')).toBe(expected);
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
		'patient.anonymise',
		'rcp.schedule.read'
	];
	const networkActions: Action[] = ['network.view', 'network.manage', 'network.audit', 'user.reset_second_factor'];
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
		// The secretariat's schedule of A is no window on A's patients.
		expect(can(actor, 'rcp.schedule.read', { microstructure: A })).toBe(true);
		expect(can(actor, 'patient.read', { microstructure: A })).toBe(false);
		expect(can(actor, 'rcp.view', { microstructure: A })).toBe(false);
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

// ---------------------------------------------------------------------------------------------
// The PPS, and why a document is read-only: the decision carries the reason the page shows.
// ---------------------------------------------------------------------------------------------

const rw: DocDecision = { access: 'rw', reason: null };
const none: DocDecision = { access: 'none', reason: null };
const roFor = (reason: DocDecision['reason']): DocDecision => ({ access: 'ro', reason });

/** Patients: in A with the GP as care team, the same one after leaving, in B with no team, in C. */
const PATIENTS: Record<string, PatientRef> = {
	inA: { microstructure: A, careTeam: [uid(1)], closed: false },
	leftA: { microstructure: A, careTeam: [uid(1)], closed: true },
	inB: { microstructure: B, careTeam: [], closed: false },
	inC: { microstructure: C, careTeam: [uid(1), uid(2)], closed: false }
};

const PPS_DECISION: Record<ActorKey, Record<keyof typeof PATIENTS, DocDecision>> = {
	gp: { inA: rw, leftA: roFor('patient_left'), inB: none, inC: none },
	// A clinician of the microstructure outside the care team reads, and may ask to join it.
	psychologist: { inA: roFor('not_in_team'), leftA: roFor('patient_left'), inB: roFor('not_in_team'), inC: none },
	secretariat: { inA: none, leftA: none, inB: none, inC: none },
	msCoordination: { inA: roFor('not_in_team'), leftA: roFor('patient_left'), inB: none, inC: none },
	// The network's coordinators read every plan of their network; they are in no care team.
	networkMedical: { inA: roFor('network_coordination'), leftA: roFor('patient_left'), inB: roFor('network_coordination'), inC: none },
	networkAdministrative: { inA: roFor('network_coordination'), leftA: roFor('patient_left'), inB: roFor('network_coordination'), inC: none },
	networkAdmin: { inA: none, leftA: none, inB: none, inC: none },
	platformAdmin: { inA: none, leftA: none, inB: none, inC: none },
	outsider: { inA: none, leftA: none, inB: none, inC: none }
};

describe('ppsDecision: access and why it is read-only', () => {
	const rows = ACTOR_KEYS.flatMap((actor) => Object.keys(PATIENTS).map((patient) => ({ actor, patient, expected: PPS_DECISION[actor][patient as keyof typeof PATIENTS] })));
	test.each(rows)('$actor on the plan of $patient → $expected.access ($expected.reason)', async ({ actor, patient, expected }) => {
		const ref = PATIENTS[patient];
		expect(ppsDecision(ACTORS[actor], ref)).toEqual(expected);
		expect(ppsAccess(ACTORS[actor], ref)).toBe(expected.access);
		// The live layer decides by document name through the same rule.
		expect(await docDecision(ACTORS[actor], `pps:${'a'.repeat(8)}-aaaa-4aaa-8aaa-${'a'.repeat(12)}`, resolveMs, async () => ref)).toEqual(expected);
		// "Demander l'accès" is offered exactly when joining the care team would lift the read-only.
		expect(mayAskToJoinTeam(ppsDecision(ACTORS[actor], ref))).toBe(expected.reason === 'not_in_team');
	});

	test('a member of the care team of a patient of another network gets nothing', () => {
		const stranger: PatientRef = { microstructure: C, careTeam: [ACTORS.gp.userId], closed: false };
		expect(ppsDecision(ACTORS.gp, stranger)).toEqual(none);
	});
});

const NOTES_DECISION: Record<ActorKey, Record<MsKey, DocDecision>> = {
	gp: { A: rw, B: none, C: none },
	psychologist: { A: rw, B: rw, C: none },
	secretariat: { A: roFor('secretariat'), B: none, C: none },
	msCoordination: { A: rw, B: none, C: none },
	networkMedical: { A: rw, B: rw, C: none },
	networkAdministrative: { A: rw, B: rw, C: none },
	networkAdmin: { A: roFor('administration'), B: roFor('administration'), C: none },
	platformAdmin: { A: roFor('administration'), B: roFor('administration'), C: roFor('administration') },
	outsider: { A: none, B: none, C: none }
};

describe('docDecision: ms-notes documents say why they are read-only', () => {
	const rows = ACTOR_KEYS.flatMap((actor) => (['A', 'B', 'C'] as MsKey[]).map((m) => ({ actor, ms: m, expected: NOTES_DECISION[actor][m] })));
	test.each(rows)('$actor on ms-notes:$ms → $expected.access ($expected.reason)', async ({ actor, ms: m, expected }) => {
		expect(await docDecision(ACTORS[actor], `ms-notes:${MS[m].id}`, resolveMs)).toEqual(expected);
		// Same access as the matrix above: the reason adds to the decision, never changes it.
		expect(expected.access).toBe(NOTES_ACCESS[actor][m]);
		expect(mayAskToJoinTeam(expected)).toBe(false);
	});

	test('an RCP’s case notes are read-only once the session is over, and say so', () => {
		const ITEM = 'e1e1e1e1-e1e1-4e1e-8e1e-e1e1e1e1e1e1';
		for (const status of ['planifiee', 'en_cours'] as const) expect(rcpNotesDecision(ACTORS.gp, { microstructure: A, status, guestItems: null }, ITEM)).toEqual(rw);
		for (const status of ['cloturee', 'annulee'] as const) expect(rcpNotesDecision(ACTORS.gp, { microstructure: A, status, guestItems: null }, ITEM)).toEqual(roFor('session_closed'));
		expect(rcpNotesDecision(ACTORS.secretariat, { microstructure: A, status: 'cloturee', guestItems: null }, ITEM)).toEqual(none);
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

describe('canResetSecondFactor', () => {
	// A person of net1 (a GP of A), of net2 only (in C), a platform administrator, and net1's admin.
	const gpOfNet1 = { userId: uid(1), platformAdmin: false, networkIds: [NET1] };
	const personOfNet2 = { userId: uid(30), platformAdmin: false, networkIds: [NET2] };
	const platform = { userId: uid(8), platformAdmin: true, networkIds: [] };
	const otherPlatform = { userId: uid(31), platformAdmin: true, networkIds: [NET1] };
	const adminOfNet1 = { userId: uid(7), platformAdmin: false, networkIds: [NET1] };
	test.each([
		['networkAdmin', gpOfNet1, true],
		['networkAdmin', personOfNet2, false],
		['networkAdmin', otherPlatform, false],
		['networkAdmin', adminOfNet1, false],
		['networkMedical', gpOfNet1, false],
		['msCoordination', gpOfNet1, false],
		['platformAdmin', personOfNet2, true],
		['platformAdmin', otherPlatform, true],
		['platformAdmin', platform, false],
		['outsider', gpOfNet1, false]
	] as const)('%s on %o → %s', (actor, target, expected) => {
		expect(canResetSecondFactor(ACTORS[actor], { ...target, networkIds: [...target.networkIds] })).toBe(expected);
	});
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
		// The session check reads the same actor with the session, in one statement (pages, upgrades).
		const token = generateSessionToken();
		await createSession(db, token, user, { twoFactorVerified: true });
		const checked = (await validateSessionToken(db, token)).actor!;
		expect({ ...checked, microstructures: [...checked.microstructures].sort(byId), networks: checked.networks }).toEqual({
			...actor,
			microstructures: [...actor.microstructures].sort(byId)
		});

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

// ---------------------------------------------------------------------------------------------
// Booking: appointments (booking.read, booking.book, booking.mark_attendance).
// ---------------------------------------------------------------------------------------------

// The agenda and booking: the care team, the secretariat (it answers the patients' calls) and the
// coordinators; never a bare administrator or the platform administrator.
const BOOKING_READ_BOOK: Record<ActorKey, PerMs> = {
	gp: ms(true, false, false),
	psychologist: ms(true, true, false),
	secretariat: ms(true, false, false),
	msCoordination: ms(true, false, false),
	networkMedical: ms(true, true, false),
	networkAdministrative: ms(true, true, false),
	networkAdmin: ms(false, false, false),
	platformAdmin: ms(false, false, false),
	outsider: ms(false, false, false)
};

// Whether the patient came: the appointment's own professional where they work, or the coordination.
const MARK_OWN_ATTENDANCE: Record<ActorKey, PerMs> = {
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

// Someone else's appointment: the coordination only (a colleague of the team cannot say it).
const MARK_OTHERS_ATTENDANCE: Record<ActorKey, PerMs> = {
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

describe('can: booking actions (appointments)', () => {
	const rows = (['booking.read', 'booking.book'] as Action[]).flatMap((action) => msRows(BOOKING_READ_BOOK).map((row) => ({ action, ...row })));
	test.each(rows)('$action: $actor on $ms → $expected', ({ action, actor, ms: m, expected }) => {
		expect(can(ACTORS[actor], action, { microstructure: MS[m] })).toBe(expected);
	});
	test.each(msRows(MARK_OWN_ATTENDANCE))('booking.mark_attendance, own appointment: $actor on $ms → $expected', ({ actor, ms: m, expected }) => {
		expect(can(ACTORS[actor], 'booking.mark_attendance', { microstructure: MS[m], professionalId: ACTORS[actor].userId })).toBe(expected);
	});
	test.each(msRows(MARK_OTHERS_ATTENDANCE))("booking.mark_attendance, someone else's appointment: $actor on $ms → $expected", ({ actor, ms: m, expected }) => {
		expect(can(ACTORS[actor], 'booking.mark_attendance', { microstructure: MS[m], professionalId: uid(99) })).toBe(expected);
		// Without the professional: never (the rule needs to know whose appointment it is).
		if (!ACTORS[actor].microstructures.some((x) => x.id === MS[m].id && x.role === 'coordination') && !ACTORS[actor].networks.some((n) => n.id === MS[m].networkId && n.role !== 'admin')) {
			expect(can(ACTORS[actor], 'booking.mark_attendance', { microstructure: MS[m] })).toBe(false);
		}
	});
	test('the secretariat books and reads the agenda but never reads a patient record', () => {
		expect(can(ACTORS.secretariat, 'booking.book', { microstructure: A })).toBe(true);
		expect(can(ACTORS.secretariat, 'patient.read', { microstructure: A })).toBe(false);
	});
	test.each(['booking.read', 'booking.book', 'booking.mark_attendance'] as Action[])('%s with a resource of the wrong kind is refused', (action) => {
		expect(can(ACTORS.networkMedical, action, { networkId: NET1 })).toBe(false);
		expect(can(ACTORS.psychologist, action, { professionalId: ACTORS.psychologist.userId, networkIds: [NET1] })).toBe(false);
		expect(can(ACTORS.gp, action, {})).toBe(false);
	});
});

// Permanences, rooms and absences (booking/permanences.ts, rooms.ts, absences.ts). The professional
// keeps control of their own availability, which the coordination plans with them; the secretariat
// books rooms but does not set anyone's permanences; absences follow the professional across the
// networks they work in.
describe('can: permanences, rooms and absences', () => {
	const PSY = ACTORS.psychologist.userId;
	const PERMANENCE_MANAGE_OF_PSY: Record<ActorKey, PerMs> = {
		gp: ms(false, false, false),
		psychologist: ms(true, true, false),
		secretariat: ms(false, false, false),
		msCoordination: ms(true, false, false),
		networkMedical: ms(true, true, false),
		networkAdministrative: ms(true, true, false),
		networkAdmin: ms(false, false, false),
		platformAdmin: ms(false, false, false),
		outsider: ms(false, false, false)
	};
	const ROOM_MANAGE: Record<ActorKey, PerMs> = {
		gp: ms(false, false, false),
		psychologist: ms(false, false, false),
		secretariat: ms(true, false, false),
		msCoordination: ms(true, false, false),
		networkMedical: ms(true, true, false),
		networkAdministrative: ms(true, true, false),
		networkAdmin: ms(false, false, false),
		platformAdmin: ms(false, false, false),
		outsider: ms(false, false, false)
	};
	const ABSENCE_MANAGE_OF_PSY: Record<ActorKey, PerNet> = {
		gp: net(false, false),
		psychologist: net(true, true),
		secretariat: net(false, false),
		msCoordination: net(false, false),
		networkMedical: net(true, false),
		networkAdministrative: net(true, false),
		networkAdmin: net(false, false),
		platformAdmin: net(false, false),
		outsider: net(false, false)
	};
	for (const actor of ACTOR_KEYS) {
		for (const key of ['A', 'B', 'C'] as MsKey[]) {
			test(`permanence.manage of the psychologist: ${actor} in ${key}`, () => {
				expect(can(ACTORS[actor], 'permanence.manage', { microstructure: MS[key], professionalId: PSY })).toBe(PERMANENCE_MANAGE_OF_PSY[actor][key]);
			});
			test(`room.manage: ${actor} in ${key}`, () => {
				expect(can(ACTORS[actor], 'room.manage', { microstructure: MS[key] })).toBe(ROOM_MANAGE[actor][key]);
			});
		}
		for (const n of ['net1', 'net2'] as const) {
			test(`absence.manage of the psychologist working in ${n}: ${actor}`, () => {
				expect(can(ACTORS[actor], 'absence.manage', { professionalId: PSY, networkIds: [NETWORK_IDS[n]] })).toBe(ABSENCE_MANAGE_OF_PSY[actor][n]);
			});
		}
	}
	test('a professional manages no one else’s permanences, and nobody manages a professional left unnamed but the coordination', () => {
		expect(can(ACTORS.psychologist, 'permanence.manage', { microstructure: A, professionalId: ACTORS.gp.userId })).toBe(false);
		expect(can(ACTORS.psychologist, 'permanence.manage', { microstructure: A })).toBe(false);
		expect(can(ACTORS.msCoordination, 'permanence.manage', { microstructure: A })).toBe(true);
		expect(can(ACTORS.psychologist, 'absence.manage', { professionalId: ACTORS.gp.userId, networkIds: [NET1] })).toBe(false);
		// Someone without permanences (a GP, the secretariat: no network where they hold one) records no absence, not even their own.
		expect(can(ACTORS.gp, 'absence.manage', { professionalId: ACTORS.gp.userId, networkIds: [] })).toBe(false);
		expect(can(ACTORS.networkMedical, 'absence.manage', { professionalId: ACTORS.gp.userId, networkIds: [] })).toBe(false);
		// The wrong kind of resource is refused.
		expect(can(ACTORS.networkMedical, 'absence.manage', { microstructure: A, professionalId: PSY })).toBe(false);
		expect(can(ACTORS.networkMedical, 'room.manage', { networkId: NET1 })).toBe(false);
	});
});
