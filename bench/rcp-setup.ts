// The live RCPs the realtime benchmarks drive (bench/rcp-live-server.ts, bench/scale-out.ts): one
// microstructure per RCP, in the demo networks, with its own 8 participants (3 GPs, a
// psychologist, a social worker, a psychiatrist, a nurse, all `soignant`, and a `coordination`
// member), 9 included patients, and one RCP session today with those 9 cases and 2 organisational
// points, started by participant 0 (the animator). One login session per participant.
import type { Db } from '../src/lib/server/db/index.ts';
import type { Profession } from '../src/lib/server/db/schema.ts';
import { createMicrostructure } from '../src/lib/server/org/microstructures.ts';
import { createUser } from '../src/lib/server/org/users.ts';
import { addMembership } from '../src/lib/server/org/memberships.ts';
import { createSession, generateSessionToken } from '../src/lib/server/auth/session.ts';
import { createPatient } from '../src/lib/server/patients/patients.ts';
import { addDays, parisToday } from '../src/lib/server/patients/lifecycle.ts';
import { createSession as createRcpSession, addCase, addOrganisationPoint, getSession } from '../src/lib/server/rcp/sessions.ts';
import { startSession } from '../src/lib/server/rcp/live.ts';

const CASES = 9;

/** The 8 participants of each RCP; participant 0 animates. */
export const TEAM: { profession: Profession; role: 'soignant' | 'coordination' }[] = [
	{ profession: 'medecin_generaliste', role: 'soignant' },
	{ profession: 'medecin_generaliste', role: 'soignant' },
	{ profession: 'medecin_generaliste', role: 'soignant' },
	{ profession: 'psychologue', role: 'soignant' },
	{ profession: 'travailleur_social', role: 'soignant' },
	{ profession: 'psychiatre', role: 'soignant' },
	{ profession: 'infirmier', role: 'soignant' },
	{ profession: 'coordinateur_medical', role: 'coordination' }
];
export const ANIMATOR = 0;

/** What the clients of a benchmark need to know about one RCP. */
export interface SessionSpec {
	id: string;
	microstructureId: string;
	items: { id: string; kind: string }[];
	animator: number;
	/** `session=<token>` of each participant, in TEAM order */
	cookies: string[];
}

/** What the benchmark itself needs besides (ids of the people and patients, for further setup). */
export interface RcpSetup {
	spec: SessionSpec;
	networkId: string;
	userIds: string[];
	patientIds: string[];
}

/** Sets up RCP number `r` (0-based; names and e-mails are unique per number within a database). */
export async function setUpRcp(db: Db, networkIds: string[], r: number): Promise<RcpSetup> {
	const today = parisToday();
	const included = addDays(today, -200);
	const networkId = networkIds[r % networkIds.length];
	const msId = await createMicrostructure(db, {
		networkId,
		name: `Microstructure RCP de charge n°${r + 1}`,
		programmes: ['MSMA'],
		practiceKind: 'msp',
		city: 'Strasbourg'
	});
	const ms = { id: msId, networkId };
	const users: string[] = [];
	for (const [p, member] of TEAM.entries()) {
		const userId = await createUser(db, {
			email: `bench.rcp${r + 1}.p${p + 1}@example.fr`,
			firstName: 'Participant',
			lastName: `Banc ${r + 1}-${p + 1}`,
			profession: member.profession,
			password: `Bench-password-2026-${r}-${p}`
		});
		await addMembership(db, { userId, microstructureId: msId, role: member.role, createdBy: null, startsOn: '2025-09-01' });
		users.push(userId);
	}
	const ctx = { actorId: users[ANIMATOR], ip: '127.0.0.1' };
	const patients: string[] = [];
	for (let i = 0; i < CASES; i++) {
		const created = await createPatient(
			db,
			ctx,
			ms,
			{
				identity: { lastName: `Banc${r + 1}x${i + 1}`, firstName: 'Alex', birthDate: '1980-01-01', sex: i % 2 ? 'F' : 'M', phone: null, email: null },
				programme: 'MSMA',
				motif: i % 3 === 0 ? 'addiction' : i % 3 === 1 ? 'precarite' : 'sante_mentale',
				orientationOrigin: 'medecin_ms',
				medecinTraitant: null,
				start: { kind: 'include', on: included, orientation: 'les_deux', consent: { on: included, method: 'oral_atteste' } }
			},
			today
		);
		if (!created.ok) throw new Error(`createPatient: ${created.error}`);
		patients.push(created.id);
	}
	// Today, 12:00–13:30 (startSession does not look at the clock).
	const sessionId = await createRcpSession(db, ctx, ms, { title: `RCP de charge n°${r + 1}`, date: today, startTime: '12:00', endTime: '13:30', roomId: null, visioUrl: null, programme: null });
	const session = await getSession(db, sessionId);
	if (!session) throw new Error('RCP session not found');
	for (const patientId of patients) {
		if (!(await addCase(db, session, patientId, [{ code: 'manual' }], users[ANIMATOR]))) throw new Error('addCase refused');
	}
	await addOrganisationPoint(db, session, 'organisation_ms', 'Permanences du mois prochain', users[ANIMATOR]);
	await addOrganisationPoint(db, session, 'organisation_pec', 'Lien avec le CSAPA', users[ANIMATOR]);
	if (!(await startSession(db, ctx, ms, sessionId))) throw new Error('startSession refused');
	const items = await db.selectFrom('rcp_item').select(['id', 'kind']).where('session_id', '=', sessionId).orderBy('position').execute();
	const cookies: string[] = [];
	for (const userId of users) {
		const token = generateSessionToken();
		await createSession(db, token, userId, { twoFactorVerified: true });
		cookies.push(`session=${token}`);
	}
	return { spec: { id: sessionId, microstructureId: msId, items, animator: ANIMATOR, cookies }, networkId, userIds: users, patientIds: patients };
}

/** RCPs 0..count-1, two at a time: password hashing (argon2) dominates and the machine has two cores. */
export async function setUpRcps(db: Db, networkIds: string[], count: number): Promise<RcpSetup[]> {
	const all: RcpSetup[] = [];
	for (let r = 0; r < count; r += 2) all.push(...(await Promise.all([r, r + 1].filter((i) => i < count).map((i) => setUpRcp(db, networkIds, i)))));
	return all;
}
