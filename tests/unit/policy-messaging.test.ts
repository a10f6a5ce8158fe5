// The messaging part of the authorization matrix (src/lib/server/access/policy.ts), written out as
// tables like tests/unit/policy.test.ts: who reads and writes each kind of conversation (a patient's
// thread, open or closed; a microstructure's team conversation; direct and group conversations),
// who may start a direct conversation with whom, and that conversationScope (the lists the SQL
// queries filter on) says exactly what conversationAccess says, conversation by conversation.
import { describe, expect, test } from 'vitest';
import {
	conversationAccess,
	conversationScope,
	mayWriteDirectly,
	networksOf,
	type Actor,
	type ConversationRef,
	type CorrespondentRef,
	type DocAccess
} from '../../src/lib/server/access/policy.ts';
import { A, B, C, NET1, NET2, uid, ACTORS as BASE_ACTORS } from '../helpers/policy-fixture.ts';

// ---------------------------------------------------------------------------------------------
// Actors: the shared fixture, plus a GP of A outside the patient's care team and a clinician of
// another network's microstructure (C).
// ---------------------------------------------------------------------------------------------

const ACTORS = {
	...BASE_ACTORS,
	gpNotInTeam: { userId: uid(10), platformAdmin: false, microstructures: [{ id: A.id, networkId: NET1, role: 'soignant' }], networks: [] },
	memberOfC: { userId: uid(11), platformAdmin: false, microstructures: [{ id: C.id, networkId: NET2, role: 'soignant' }], networks: [] }
} satisfies Record<string, Actor>;
type Who = keyof typeof ACTORS;
const WHO = Object.keys(ACTORS) as Who[];

// The care team of A's patients: the GP and the psychologist (who also works in B). The secretariat
// is put in a care team by mistake on one patient: the thread still stays closed to it.
const teamA = [ACTORS.gp.userId, ACTORS.psychologist.userId];

const CONVERSATIONS = {
	patientA: { kind: 'patient', patient: { microstructure: A, careTeam: teamA, closed: false } },
	patientAClosed: { kind: 'patient', patient: { microstructure: A, careTeam: teamA, closed: true } },
	patientAWithSecretariat: { kind: 'patient', patient: { microstructure: A, careTeam: [...teamA, ACTORS.secretariat.userId], closed: false } },
	patientB: { kind: 'patient', patient: { microstructure: B, careTeam: [ACTORS.psychologist.userId], closed: false } },
	// The GP of A named in the care team of a patient of another network: the care team alone gives nothing.
	patientC: { kind: 'patient', patient: { microstructure: C, careTeam: [ACTORS.memberOfC.userId, ACTORS.gp.userId], closed: false } },
	teamA: { kind: 'team', microstructure: A },
	teamB: { kind: 'team', microstructure: B },
	teamC: { kind: 'team', microstructure: C },
	directMember: { kind: 'direct', members: [ACTORS.gp.userId, ACTORS.psychologist.userId] },
	group: { kind: 'group', members: [ACTORS.gp.userId, ACTORS.secretariat.userId, ACTORS.networkAdmin.userId, ACTORS.memberOfC.userId] }
} satisfies Record<string, ConversationRef>;
type Conv = keyof typeof CONVERSATIONS;

const __ = 'none' as const;
const RW = 'rw' as const;
const RO = 'ro' as const;

// ---------------------------------------------------------------------------------------------
// Expected matrix
// ---------------------------------------------------------------------------------------------

// A patient's thread: the care team (CSP L1110-4), the microstructure's coordination and the
// network's coordinators; not the other clinicians of the microstructure, never the secretariat,
// a bare administrator or the platform administrator. A patient who has left: read only.
// The team conversation: every member of the microstructure (the secretariat included) and the
// network's coordinators. Direct and group conversations: their members, whoever they are.
const ACCESS: Record<Who, Record<Conv, DocAccess>> = {
	//                    patientA  closed  +secr.  patientB  patientC  teamA  teamB  teamC  direct  group
	gp:                    row(RW,  RO,     RW,     __,       __,       RW,    __,    __,    RW,     RW),
	gpNotInTeam:           row(__,  __,     __,     __,       __,       RW,    __,    __,    __,     __),
	psychologist:          row(RW,  RO,     RW,     RW,       __,       RW,    RW,    __,    RW,     __),
	secretariat:           row(__,  __,     __,     __,       __,       RW,    __,    __,    __,     RW),
	msCoordination:        row(RW,  RO,     RW,     __,       __,       RW,    __,    __,    __,     __),
	networkMedical:        row(RW,  RO,     RW,     RW,       __,       RW,    RW,    __,    __,     __),
	networkAdministrative: row(RW,  RO,     RW,     RW,       __,       RW,    RW,    __,    __,     __),
	networkAdmin:          row(__,  __,     __,     __,       __,       __,    __,    __,    __,     RW),
	platformAdmin:         row(__,  __,     __,     __,       __,       __,    __,    __,    __,     __),
	outsider:              row(__,  __,     __,     __,       __,       __,    __,    __,    __,     __),
	memberOfC:             row(__,  __,     __,     __,       RW,       __,    __,    RW,    __,     RW)
};

function row(...access: DocAccess[]): Record<Conv, DocAccess> {
	const keys = Object.keys(CONVERSATIONS) as Conv[];
	if (access.length !== keys.length) throw new Error('one access per conversation');
	return Object.fromEntries(keys.map((k, i) => [k, access[i]])) as Record<Conv, DocAccess>;
}

describe('conversationAccess', () => {
	const rows = WHO.flatMap((who) => (Object.keys(CONVERSATIONS) as Conv[]).map((conv) => ({ who, conv, expected: ACCESS[who][conv] })));
	test.each(rows)('$who on $conv → $expected', ({ who, conv, expected }) => {
		expect(conversationAccess(ACTORS[who], CONVERSATIONS[conv])).toBe(expected);
	});

	test('leaving the care team closes the thread at once; joining opens it', () => {
		const before: ConversationRef = { kind: 'patient', patient: { microstructure: A, careTeam: teamA, closed: false } };
		const after: ConversationRef = { kind: 'patient', patient: { microstructure: A, careTeam: [ACTORS.psychologist.userId, ACTORS.gpNotInTeam.userId], closed: false } };
		expect(conversationAccess(ACTORS.gp, before)).toBe('rw');
		expect(conversationAccess(ACTORS.gp, after)).toBe('none');
		expect(conversationAccess(ACTORS.gpNotInTeam, after)).toBe('rw');
	});

	test('a disabled account or an ended membership has no memberships left: nothing at all', () => {
		const ended: Actor = { userId: ACTORS.gp.userId, platformAdmin: false, microstructures: [], networks: [] };
		for (const conv of Object.keys(CONVERSATIONS) as Conv[]) {
			const ref = CONVERSATIONS[conv];
			// Direct and group conversations are their members' (the messaging layer drops disabled accounts).
			expect(conversationAccess(ended, ref), conv).toBe(ref.kind === 'direct' || ref.kind === 'group' ? 'rw' : 'none');
		}
	});

	test('a microstructure of the same id in another network gives nothing (the network comes with the microstructure)', () => {
		const forged: ConversationRef = { kind: 'team', microstructure: { id: C.id, networkId: NET1 } };
		expect(conversationAccess(ACTORS.networkMedical, forged)).toBe('rw'); // the network's coordinator reads NET1's teams…
		expect(conversationAccess(ACTORS.gp, forged)).toBe('none'); // …but a member of A is not a member of C.
	});
});

// ---------------------------------------------------------------------------------------------
// conversationScope: the same rules, as the lists the queries filter on
// ---------------------------------------------------------------------------------------------

/** What the SQL of conversations.ts (readable()) decides from the scope, for one conversation. */
function readableByScope(actor: Actor, ref: ConversationRef): boolean {
	const scope = conversationScope(actor);
	switch (ref.kind) {
		case 'team':
			return scope.teamMicrostructures.includes(ref.microstructure.id) || scope.coordinatedNetworks.includes(ref.microstructure.networkId);
		case 'patient': {
			const ms = ref.patient.microstructure;
			return (
				scope.allPatientThreads.includes(ms.id) ||
				scope.coordinatedNetworks.includes(ms.networkId) ||
				(scope.careTeamThreads.includes(ms.id) && ref.patient.careTeam.includes(actor.userId))
			);
		}
		default:
			return ref.members.includes(actor.userId);
	}
}

describe('conversationScope agrees with conversationAccess', () => {
	const rows = WHO.flatMap((who) => (Object.keys(CONVERSATIONS) as Conv[]).map((conv) => ({ who, conv })));
	test.each(rows)('$who on $conv', ({ who, conv }) => {
		expect(readableByScope(ACTORS[who], CONVERSATIONS[conv])).toBe(conversationAccess(ACTORS[who], CONVERSATIONS[conv]) !== 'none');
	});

	test('the secretariat reads its team conversation and no patient thread', () => {
		const scope = conversationScope(ACTORS.secretariat);
		expect(scope).toEqual({ teamMicrostructures: [A.id], allPatientThreads: [], careTeamThreads: [], coordinatedNetworks: [] });
	});

	test('a bare network administrator reads nothing through the scope', () => {
		expect(conversationScope(ACTORS.networkAdmin)).toEqual({ teamMicrostructures: [], allPatientThreads: [], careTeamThreads: [], coordinatedNetworks: [] });
	});
});

// ---------------------------------------------------------------------------------------------
// mayWriteDirectly: professionals who share a microstructure or a network
// ---------------------------------------------------------------------------------------------

const correspondent = (who: Who): CorrespondentRef => ({
	userId: ACTORS[who].userId,
	microstructureIds: ACTORS[who].microstructures.map((m) => m.id),
	networkIds: networksOf(ACTORS[who])
});

// Rows: who writes; columns: to whom. Self is always refused (a conversation with oneself is not one).
const DIRECT: Record<Who, Partial<Record<Who, boolean>>> = {
	// Shares A with the psychologist and the secretariat, NET1 with B's people and the network's roles.
	gp: { gp: false, gpNotInTeam: true, psychologist: true, secretariat: true, networkMedical: true, networkAdmin: true, platformAdmin: false, outsider: false, memberOfC: false },
	// The psychologist of A and B shares B with nobody else here, NET1 with everyone of NET1.
	psychologist: { gp: true, psychologist: false, secretariat: true, networkMedical: true, networkAdmin: true, platformAdmin: false, outsider: false, memberOfC: false },
	secretariat: { gp: true, psychologist: true, secretariat: false, networkAdmin: true, memberOfC: false, outsider: false },
	// A network role alone: shares the network with every member of its microstructures.
	networkMedical: { gp: true, psychologist: true, networkAdmin: true, networkMedical: false, memberOfC: false, outsider: false, platformAdmin: false },
	networkAdmin: { gp: true, networkMedical: true, networkAdmin: false, memberOfC: false },
	// The platform administrator works in no network: nobody to write to directly.
	platformAdmin: { gp: false, networkAdmin: false, memberOfC: false, platformAdmin: false },
	outsider: { gp: false, memberOfC: false, outsider: false },
	memberOfC: { gp: false, psychologist: false, networkMedical: false, memberOfC: false, outsider: false },
	gpNotInTeam: { gp: true, memberOfC: false },
	msCoordination: { gp: true, networkAdministrative: true, memberOfC: false },
	networkAdministrative: { gp: true, msCoordination: true, memberOfC: false }
};

describe('mayWriteDirectly', () => {
	const rows = WHO.flatMap((who) => Object.entries(DIRECT[who]).map(([to, expected]) => ({ who, to: to as Who, expected: expected! })));
	test.each(rows)('$who → $to: $expected', ({ who, to, expected }) => {
		expect(mayWriteDirectly(ACTORS[who], correspondent(to))).toBe(expected);
	});

	test('sharing only a microstructure is enough (its network is not needed in the reference)', () => {
		const other: CorrespondentRef = { userId: uid(20), microstructureIds: [A.id], networkIds: [] };
		expect(mayWriteDirectly(ACTORS.gp, other)).toBe(true);
	});

	test('sharing only a network is enough; another network is not', () => {
		expect(mayWriteDirectly(ACTORS.gp, { userId: uid(21), microstructureIds: [B.id], networkIds: [NET1] })).toBe(true);
		expect(mayWriteDirectly(ACTORS.gp, { userId: uid(22), microstructureIds: [C.id], networkIds: [NET2] })).toBe(false);
	});

	test('a person with no memberships at all (disabled, ended) cannot be written to', () => {
		for (const who of WHO) expect(mayWriteDirectly(ACTORS[who], { userId: uid(23), microstructureIds: [], networkIds: [] }), who).toBe(false);
	});
});
