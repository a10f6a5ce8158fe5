// The RCP part of the authorization matrix (src/lib/server/access/policy.ts), written out as tables
// like tests/unit/policy.test.ts: who may view/organise a microstructure's RCPs and edit its
// template, who edits the network's template; session access for the team, an invited guest and a
// stranger, read-only once closed; the case notes (rcp-notes:<itemId> documents) and the session
// rooms (rcp:<sessionId>) through their resolvers.
import { describe, expect, test } from 'vitest';
import {
	can,
	docAccess,
	rcpAccess,
	rcpItemVisible,
	rcpNotesAccess,
	roomAccess,
	type Action,
	type Actor,
	type DocAccess,
	type MicrostructureRef,
	type RcpSessionRef
} from '../../src/lib/server/access/policy.ts';
import { NET1, NET2, A, B, C, MS, uid, ACTORS, ACTOR_KEYS, MS_KEYS, ms, net, NETWORK_IDS, type ActorKey, type PerMs, type PerNet } from '../helpers/policy-fixture.ts';

// ---------------------------------------------------------------------------------------------
// Expected matrices
// ---------------------------------------------------------------------------------------------

// RCP agendas name patients: the same need-to-know as patient records. Viewing and organising go
// together (any clinician of the team prepares the agenda); never the secretariat or a bare admin.
const RCP_VIEW_ORGANISE: Record<ActorKey, PerMs> = {
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

// The schedule (dates, places, visio link, status): whoever takes part, and the microstructure's
// secretariat, which books the rooms; it names no patient. Not a bare administrator.
const RCP_SCHEDULE_READ: Record<ActorKey, PerMs> = {
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

// The microstructure's own template: its coordination, the network's coordinators and
// administrators (a template names no patient).
const RCP_TEMPLATE: Record<ActorKey, PerMs> = {
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


const NETWORK_RCP_TEMPLATE: Record<ActorKey, PerNet> = {
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

function msRows(matrix: Record<ActorKey, PerMs>) {
	return ACTOR_KEYS.flatMap((actor) => MS_KEYS.map((m) => ({ actor, ms: m, expected: matrix[actor][m] })));
}

describe('can: RCP actions', () => {
	const table: [Action, Record<ActorKey, PerMs>][] = [
		['rcp.view', RCP_VIEW_ORGANISE],
		['rcp.schedule.read', RCP_SCHEDULE_READ],
		['rcp.organise', RCP_VIEW_ORGANISE],
		['rcp.template', RCP_TEMPLATE]
	];
	const rows = table.flatMap(([action, matrix]) => msRows(matrix).map((row) => ({ action, ...row })));
	test.each(rows)('$action: $actor on $ms → $expected', ({ action, actor, ms: m, expected }) => {
		expect(can(ACTORS[actor], action, { microstructure: MS[m] })).toBe(expected);
	});

	const netRows = ACTOR_KEYS.flatMap((actor) => (['net1', 'net2'] as const).map((n) => ({ actor, network: n, expected: NETWORK_RCP_TEMPLATE[actor][n] })));
	test.each(netRows)('network.rcp_template: $actor on $network → $expected', ({ actor, network, expected }) => {
		expect(can(ACTORS[actor], 'network.rcp_template', { networkId: NETWORK_IDS[network] })).toBe(expected);
	});

	test.each(ACTOR_KEYS)('%s: a resource of the wrong kind is refused', (key) => {
		const actor = ACTORS[key];
		for (const action of ['rcp.view', 'rcp.schedule.read', 'rcp.organise', 'rcp.template'] as Action[]) {
			expect(can(actor, action), `${action} without resource`).toBe(false);
			expect(can(actor, action, { networkId: NET1 }), `${action} on a network`).toBe(false);
		}
		expect(can(actor, 'network.rcp_template'), 'network.rcp_template without resource').toBe(false);
		expect(can(actor, 'network.rcp_template', { microstructure: A }), 'network.rcp_template on a microstructure').toBe(false);
	});

	test('a coordinator of net2 who is secretariat in A still cannot see A’s RCPs, but sees C’s', () => {
		const actor: Actor = {
			userId: uid(20),
			platformAdmin: false,
			microstructures: [{ id: A.id, networkId: NET1, role: 'secretariat' }],
			networks: [{ id: NET2, role: 'coordination_medicale' }]
		};
		expect(can(actor, 'rcp.view', { microstructure: A })).toBe(false);
		expect(can(actor, 'rcp.schedule.read', { microstructure: A })).toBe(true);
		expect(can(actor, 'rcp.view', { microstructure: C })).toBe(true);
		expect(can(actor, 'rcp.schedule.read', { microstructure: B })).toBe(false);
		expect(can(actor, 'network.rcp_template', { networkId: NET1 })).toBe(false);
		expect(can(actor, 'network.rcp_template', { networkId: NET2 })).toBe(true);
	});
});

// ---------------------------------------------------------------------------------------------
// Sessions, items and case notes
// ---------------------------------------------------------------------------------------------
const ITEM_1 = 'e1e1e1e1-e1e1-4e1e-8e1e-e1e1e1e1e1e1';
const ITEM_2 = 'e2e2e2e2-e2e2-4e2e-8e2e-e2e2e2e2e2e2';
const STATUSES: RcpSessionRef['status'][] = ['planifiee', 'en_cours', 'cloturee', 'annulee'];
const isClosed = (status: RcpSessionRef['status']) => status === 'cloturee' || status === 'annulee';

/** A session of A as seen by someone who is not invited as a guest. */
const session = (status: RcpSessionRef['status'], m: MicrostructureRef = A): RcpSessionRef => ({ microstructure: m, status, guestItems: null });
/** The same session, for a guest invited to `items`. */
const asGuest = (status: RcpSessionRef['status'], items: string[], m: MicrostructureRef = A): RcpSessionRef => ({ microstructure: m, status, guestItems: items });

describe('rcpAccess', () => {
	const teamOfA: ActorKey[] = ['gp', 'psychologist', 'msCoordination', 'networkMedical', 'networkAdministrative'];
	const notTeamOfA: ActorKey[] = ['secretariat', 'networkAdmin', 'platformAdmin', 'outsider'];

	test.each(STATUSES.flatMap((status) => teamOfA.map((actor) => ({ actor, status }))))('$actor takes part in a $status session of A as team', ({ actor, status }) => {
		expect(rcpAccess(ACTORS[actor], session(status))).toEqual({ level: 'team', readOnly: isClosed(status) });
	});

	test.each(STATUSES.flatMap((status) => notTeamOfA.map((actor) => ({ actor, status }))))('$actor learns nothing of a $status session of A', ({ actor, status }) => {
		expect(rcpAccess(ACTORS[actor], session(status))).toEqual({ level: 'none' });
	});

	test('a clinician of another microstructure is a stranger; a member of both is team in both', () => {
		expect(rcpAccess(ACTORS.gp, session('en_cours', B))).toEqual({ level: 'none' });
		expect(rcpAccess(ACTORS.networkMedical, session('en_cours', C))).toEqual({ level: 'none' });
		expect(rcpAccess(ACTORS.psychologist, session('en_cours', B))).toEqual({ level: 'team', readOnly: false });
	});

	test.each(STATUSES)('an invited guest of a %s session is a guest, read-only once it is over', (status) => {
		for (const key of notTeamOfA) {
			expect(rcpAccess(ACTORS[key], asGuest(status, [ITEM_1])), key).toEqual({ level: 'guest', readOnly: isClosed(status) });
		}
		// Invited to nothing (yet): still a guest, who will see no item.
		expect(rcpAccess(ACTORS.outsider, asGuest(status, []))).toEqual({ level: 'guest', readOnly: isClosed(status) });
	});

	test('a team member listed as a guest remains team (and sees everything)', () => {
		const ref = asGuest('en_cours', [ITEM_1]);
		expect(rcpAccess(ACTORS.gp, ref)).toEqual({ level: 'team', readOnly: false });
		expect(rcpItemVisible(rcpAccess(ACTORS.gp, ref), ref, ITEM_2)).toBe(true);
	});
});

describe('rcpItemVisible', () => {
	test('the team sees every item; a guest only the items they are invited to; a stranger none', () => {
		const team = session('en_cours');
		expect(rcpItemVisible({ level: 'team', readOnly: false }, team, ITEM_1)).toBe(true);
		expect(rcpItemVisible({ level: 'team', readOnly: true }, team, ITEM_2)).toBe(true);
		const guest = asGuest('en_cours', [ITEM_1]);
		expect(rcpItemVisible({ level: 'guest', readOnly: false }, guest, ITEM_1)).toBe(true);
		expect(rcpItemVisible({ level: 'guest', readOnly: false }, guest, ITEM_2)).toBe(false);
		expect(rcpItemVisible({ level: 'none' }, guest, ITEM_1)).toBe(false);
		expect(rcpItemVisible({ level: 'none' }, team, ITEM_1)).toBe(false);
	});
});

describe('rcpNotesAccess', () => {
	test.each(STATUSES)('the team writes the notes of every item of a %s session until it is over', (status) => {
		const expected: DocAccess = isClosed(status) ? 'ro' : 'rw';
		for (const key of ['gp', 'msCoordination', 'networkMedical'] as ActorKey[]) {
			expect(rcpNotesAccess(ACTORS[key], session(status), ITEM_1), key).toBe(expected);
			expect(rcpNotesAccess(ACTORS[key], session(status), ITEM_2), key).toBe(expected);
		}
	});

	test.each(STATUSES)('a guest of a %s session: only the invited items, read-only once it is over', (status) => {
		const ref = asGuest(status, [ITEM_1]);
		expect(rcpNotesAccess(ACTORS.outsider, ref, ITEM_1)).toBe(isClosed(status) ? 'ro' : 'rw');
		expect(rcpNotesAccess(ACTORS.outsider, ref, ITEM_2)).toBe('none');
	});

	test.each(STATUSES)('strangers get none on a %s session', (status) => {
		for (const key of ['secretariat', 'networkAdmin', 'platformAdmin', 'outsider'] as ActorKey[]) {
			expect(rcpNotesAccess(ACTORS[key], session(status), ITEM_1), key).toBe('none');
		}
		expect(rcpNotesAccess(ACTORS.gp, session(status, B), ITEM_1)).toBe('none');
	});
});

// ---------------------------------------------------------------------------------------------
// Documents and rooms through resolvers
// ---------------------------------------------------------------------------------------------

/**
 * A small world for the resolvers: items 1 and 2 belong to a live session of A, item 3 to a
 * closed session of A, item 4 to a live session of C. The outsider is a guest of the live session
 * of A, invited to item 1.
 */
const SESSION_LIVE = 'f1f1f1f1-f1f1-4f1f-8f1f-f1f1f1f1f1f1';
const SESSION_CLOSED = 'f2f2f2f2-f2f2-4f2f-8f2f-f2f2f2f2f2f2';
const SESSION_C = 'f3f3f3f3-f3f3-4f3f-8f3f-f3f3f3f3f3f3';
const ITEM_3 = 'e3e3e3e3-e3e3-4e3e-8e3e-e3e3e3e3e3e3';
const ITEM_4 = 'e4e4e4e4-e4e4-4e4e-8e4e-e4e4e4e4e4e4';
const UNKNOWN = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';

const SESSIONS: Record<string, { microstructure: MicrostructureRef; status: RcpSessionRef['status'] }> = {
	[SESSION_LIVE]: { microstructure: A, status: 'en_cours' },
	[SESSION_CLOSED]: { microstructure: A, status: 'cloturee' },
	[SESSION_C]: { microstructure: C, status: 'en_cours' }
};
const ITEMS: Record<string, string> = { [ITEM_1]: SESSION_LIVE, [ITEM_2]: SESSION_LIVE, [ITEM_3]: SESSION_CLOSED, [ITEM_4]: SESSION_C };
const GUESTS: Record<string, Record<string, string[]>> = { [SESSION_LIVE]: { [ACTORS.outsider.userId]: [ITEM_1] }, [SESSION_CLOSED]: { [ACTORS.outsider.userId]: [ITEM_3] } };

const asked: string[] = [];
async function resolveSession(sessionId: string, userId: string): Promise<RcpSessionRef | null> {
	asked.push(sessionId);
	const s = SESSIONS[sessionId];
	return s ? { ...s, guestItems: GUESTS[sessionId]?.[userId] ?? null } : null;
}
async function resolveItem(itemId: string, userId: string): Promise<RcpSessionRef | null> {
	asked.push(itemId);
	return ITEMS[itemId] ? resolveSession(ITEMS[itemId], userId) : null;
}
const noMs = async () => null;
const noPatient = async () => null;
const notes = (itemId: string) => `rcp-notes:${itemId}`;

describe('docAccess: rcp-notes documents', () => {
	const EXPECTED: Record<ActorKey, Record<string, DocAccess>> = {
		gp: { [ITEM_1]: 'rw', [ITEM_2]: 'rw', [ITEM_3]: 'ro', [ITEM_4]: 'none' },
		psychologist: { [ITEM_1]: 'rw', [ITEM_2]: 'rw', [ITEM_3]: 'ro', [ITEM_4]: 'none' },
		secretariat: { [ITEM_1]: 'none', [ITEM_2]: 'none', [ITEM_3]: 'none', [ITEM_4]: 'none' },
		msCoordination: { [ITEM_1]: 'rw', [ITEM_2]: 'rw', [ITEM_3]: 'ro', [ITEM_4]: 'none' },
		networkMedical: { [ITEM_1]: 'rw', [ITEM_2]: 'rw', [ITEM_3]: 'ro', [ITEM_4]: 'none' },
		networkAdministrative: { [ITEM_1]: 'rw', [ITEM_2]: 'rw', [ITEM_3]: 'ro', [ITEM_4]: 'none' },
		networkAdmin: { [ITEM_1]: 'none', [ITEM_2]: 'none', [ITEM_3]: 'none', [ITEM_4]: 'none' },
		platformAdmin: { [ITEM_1]: 'none', [ITEM_2]: 'none', [ITEM_3]: 'none', [ITEM_4]: 'none' },
		// The guest: the invited item of the live session, read-only once that session is closed.
		outsider: { [ITEM_1]: 'rw', [ITEM_2]: 'none', [ITEM_3]: 'ro', [ITEM_4]: 'none' }
	};
	const rows = Object.entries(EXPECTED).flatMap(([actor, perItem]) =>
		Object.entries(perItem).map(([item, expected]) => ({ actor: actor as ActorKey, item: `item ${[ITEM_1, ITEM_2, ITEM_3, ITEM_4].indexOf(item) + 1}`, id: item, expected }))
	);
	test.each(rows)('$actor on rcp-notes of $item → $expected', async ({ actor, id, expected }) => {
		expect(await docAccess(ACTORS[actor], notes(id), noMs, noPatient, resolveItem)).toBe(expected);
	});

	test('an unknown item, or no resolver, is none even for the platform administrator', async () => {
		for (const actor of Object.values(ACTORS)) {
			expect(await docAccess(actor, notes(UNKNOWN), noMs, noPatient, resolveItem)).toBe('none');
			expect(await docAccess(actor, notes(ITEM_1), noMs, noPatient)).toBe('none');
		}
	});

	test('the resolver gets the item id and the actor; only for a well-formed name', async () => {
		const calls: [string, string][] = [];
		const spy = async (itemId: string, userId: string) => {
			calls.push([itemId, userId]);
			return resolveItem(itemId, userId);
		};
		const bad = [
			'rcp-notes:',
			'rcp-notes:not-a-uuid',
			`rcp-notes:${ITEM_1.toUpperCase()}`,
			`rcp-notes:${ITEM_1} `,
			`rcp-notes:${ITEM_1}:x`,
			`rcp-notes:${ITEM_1.slice(0, 35)}`,
			` rcp-notes:${ITEM_1}`,
			`RCP-NOTES:${ITEM_1}`,
			`rcp-note:${ITEM_1}`,
			`rcp:${SESSION_LIVE}`
		];
		for (const name of bad) expect(await docAccess(ACTORS.gp, name, noMs, noPatient, spy), name).toBe('none');
		expect(calls).toEqual([]);
		expect(await docAccess(ACTORS.gp, notes(ITEM_1), noMs, noPatient, spy)).toBe('rw');
		expect(calls).toEqual([[ITEM_1, ACTORS.gp.userId]]);
	});

	test('an rcp-notes name never reaches the microstructure or patient resolvers', async () => {
		const other: string[] = [];
		const msSpy = async (id: string) => (other.push(id), A);
		const patientSpy = async (id: string) => (other.push(id), { microstructure: A, careTeam: [ACTORS.gp.userId], closed: false });
		expect(await docAccess(ACTORS.secretariat, notes(ITEM_1), msSpy, patientSpy, resolveItem)).toBe('none');
		expect(other).toEqual([]);
	});
});

describe('roomAccess: rcp rooms', () => {
	const room = (sessionId: string) => `rcp:${sessionId}`;
	const EXPECTED: Record<ActorKey, Record<string, boolean>> = {
		gp: { [SESSION_LIVE]: true, [SESSION_CLOSED]: true, [SESSION_C]: false },
		psychologist: { [SESSION_LIVE]: true, [SESSION_CLOSED]: true, [SESSION_C]: false },
		secretariat: { [SESSION_LIVE]: false, [SESSION_CLOSED]: false, [SESSION_C]: false },
		msCoordination: { [SESSION_LIVE]: true, [SESSION_CLOSED]: true, [SESSION_C]: false },
		networkMedical: { [SESSION_LIVE]: true, [SESSION_CLOSED]: true, [SESSION_C]: false },
		networkAdministrative: { [SESSION_LIVE]: true, [SESSION_CLOSED]: true, [SESSION_C]: false },
		networkAdmin: { [SESSION_LIVE]: false, [SESSION_CLOSED]: false, [SESSION_C]: false },
		platformAdmin: { [SESSION_LIVE]: false, [SESSION_CLOSED]: false, [SESSION_C]: false },
		// A guest joins the room of the sessions they are invited to.
		outsider: { [SESSION_LIVE]: true, [SESSION_CLOSED]: true, [SESSION_C]: false }
	};
	const names: Record<string, string> = { [SESSION_LIVE]: 'live A', [SESSION_CLOSED]: 'closed A', [SESSION_C]: 'live C' };
	const rows = ACTOR_KEYS.flatMap((actor) => Object.entries(EXPECTED[actor]).map(([id, expected]) => ({ actor, session: names[id], id, expected })));
	test.each(rows)('$actor joins the room of the $session session → $expected', async ({ actor, id, expected }) => {
		expect(await roomAccess(ACTORS[actor], room(id), noMs, resolveSession)).toBe(expected);
	});

	test('an unknown session, or no resolver, is refused to everyone', async () => {
		for (const actor of Object.values(ACTORS)) {
			expect(await roomAccess(actor, room(UNKNOWN), noMs, resolveSession)).toBe(false);
			expect(await roomAccess(actor, room(SESSION_LIVE), noMs)).toBe(false);
		}
	});

	test('malformed rcp rooms are refused without asking the resolver', async () => {
		asked.length = 0;
		const junk = ['rcp:', 'rcp:x', `rcp:${SESSION_LIVE} `, `rcp:${SESSION_LIVE.toUpperCase()}`, `RCP:${SESSION_LIVE}`, `rcp:${SESSION_LIVE}:x`, `rcp-notes:${ITEM_1}`, `x:rcp:${SESSION_LIVE}`];
		for (const r of junk) {
			for (const actor of Object.values(ACTORS)) expect(await roomAccess(actor, r, noMs, resolveSession), r).toBe(false);
		}
		expect(asked).toEqual([]);
	});
});
