// The one place where permissions are decided. Everything (pages, form actions, socket.io rooms,
// Yjs documents) asks this module; rules are derived from the actor's active memberships only.
import { sql, type ExpressionBuilder } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Db } from '../db/index.ts';
import type { Database, MicrostructureRole, NetworkRole } from '../db/schema.ts';

export interface Actor {
	userId: string;
	platformAdmin: boolean;
	/** Active memberships in a microstructure, with that microstructure's network. */
	microstructures: { id: string; networkId: string; role: MicrostructureRole }[];
	/** Active memberships in a network (coordination or administration). */
	networks: { id: string; role: NetworkRole }[];
}

export interface MicrostructureRef {
	id: string;
	networkId: string;
}

export type Action =
	| 'microstructure.view'
	| 'microstructure.manage_members'
	/** Patients of a microstructure: list, record, timeline, pathway steps. */
	| 'patient.read'
	| 'patient.write'
	/** The NIR, for billing only. */
	| 'patient.nir'
	/** Who consulted a patient record. */
	| 'patient.access_log'
	/** RGPD: anonymise a patient who has left. */
	| 'patient.anonymise'
	/** RCPs of a microstructure: sessions, agenda, live workspace, decisions, minutes. */
	| 'rcp.view'
	/** The schedule of a microstructure's RCPs (dates, places, visio link, status), never a patient. */
	| 'rcp.schedule.read'
	| 'rcp.organise'
	/** The microstructure's override of its network's RCP template. */
	| 'rcp.template'
	/** The network's default RCP template. */
	| 'network.rcp_template'
	| 'network.view'
	| 'network.manage'
	| 'network.audit'
	| 'network.create'
	/** Reset the lost second factor of a person who works in the network. */
	| 'user.reset_second_factor'
	/** A microstructure's agenda: appointments (patient name, time, professional, room), nothing clinical. */
	| 'booking.read'
	/** Book, move or cancel an appointment, and manage the waiting list, for a patient of the microstructure. */
	| 'booking.book'
	/** Mark an appointment "venu", "excusé" or "absent non excusé" (resource: the appointment's professional). */
	| 'booking.mark_attendance'
	/** A professional's permanences in a microstructure, and one-off room changes (resource: the professional). */
	| 'permanence.manage'
	/** A microstructure's sites and rooms. */
	| 'room.manage'
	/** A professional's absences, across every microstructure they work in (resource: the professional and their networks). */
	| 'absence.manage'
	/** The programmes' yearly consultation budgets (one national table). */
	| 'budget.manage'
	/** A network's cockpit: indicators, comparisons and their CSV, drift alerts (resource: the network). */
	| 'cockpit.view'
	/** Acknowledge a drift alert, set the network's alert thresholds. */
	| 'cockpit.alerts'
	/** The cockpit across every network (national coordination). */
	| 'cockpit.national'
	/** A network's billing: tariffs, checks, export runs and their CSV with the NIR. */
	| 'billing.manage'
	/** Pseudonymised evaluation export and the yearly activity report of a network. */
	| 'cockpit.reports';

export type Resource =
	| { microstructure: MicrostructureRef; professionalId?: string }
	| { networkId: string }
	| { professionalId: string; networkIds: string[] }
	| Record<string, never>;

export type DocAccess = 'rw' | 'ro' | 'none';

const COORDINATION_ROLES: NetworkRole[] = ['coordination_medicale', 'coordination_administrative'];

function directRole(actor: Actor, ms: MicrostructureRef): MicrostructureRole | undefined {
	return actor.microstructures.find((m) => m.id === ms.id)?.role;
}

function networkRoles(actor: Actor, networkId: string): NetworkRole[] {
	return actor.networks.filter((n) => n.id === networkId).map((n) => n.role);
}

function coordinatesNetwork(actor: Actor, networkId: string): boolean {
	return networkRoles(actor, networkId).some((r) => COORDINATION_ROLES.includes(r));
}

function administersNetwork(actor: Actor, networkId: string): boolean {
	return actor.platformAdmin || networkRoles(actor, networkId).includes('admin');
}

export function can(actor: Actor, action: Action, resource: Resource = {}): boolean {
	switch (action) {
		case 'network.create':
			return actor.platformAdmin;
		case 'network.view':
		case 'network.manage':
		case 'network.audit':
		case 'user.reset_second_factor': {
			if (!('networkId' in resource)) return false;
			if (action === 'network.view') {
				return administersNetwork(actor, resource.networkId) || networkRoles(actor, resource.networkId).length > 0;
			}
			return administersNetwork(actor, resource.networkId);
		}
		case 'network.rcp_template':
			if (!('networkId' in resource)) return false;
			return administersNetwork(actor, resource.networkId) || coordinatesNetwork(actor, resource.networkId);
		case 'rcp.view':
		case 'rcp.schedule.read':
		case 'rcp.organise':
		case 'rcp.template': {
			if (!('microstructure' in resource)) return false;
			const ms = resource.microstructure;
			const role = directRole(actor, ms);
			// RCP agendas name patients: the same need-to-know as patient records.
			if (action === 'rcp.template') return role === 'coordination' || coordinatesNetwork(actor, ms.networkId) || administersNetwork(actor, ms.networkId);
			const team = role === 'soignant' || role === 'coordination' || coordinatesNetwork(actor, ms.networkId);
			// The secretariat books rooms and answers the phone: it knows when and where the team meets,
			// never who is discussed.
			if (action === 'rcp.schedule.read') return team || role === 'secretariat';
			return team;
		}
		case 'patient.read':
		case 'patient.write':
		case 'patient.nir':
		case 'patient.access_log':
		case 'patient.anonymise': {
			if (!('microstructure' in resource)) return false;
			const ms = resource.microstructure;
			const role = directRole(actor, ms);
			const roles = networkRoles(actor, ms.networkId);
			const billing = roles.includes('coordination_administrative');
			// Need-to-know: the care team and the coordinators, never the secretariat or a bare admin.
			const careOrCoordination = role === 'soignant' || role === 'coordination' || coordinatesNetwork(actor, ms.networkId);
			if (action === 'patient.read' || action === 'patient.write') return careOrCoordination;
			if (action === 'patient.nir') return billing;
			if (action === 'patient.access_log') return role === 'coordination' || coordinatesNetwork(actor, ms.networkId);
			return billing || role === 'coordination';
		}
		case 'booking.read':
		case 'booking.book':
		case 'booking.mark_attendance':
		case 'permanence.manage':
		case 'room.manage': {
			if (!('microstructure' in resource)) return false;
			const ms = resource.microstructure;
			const role = directRole(actor, ms);
			const coordination = role === 'coordination' || coordinatesNetwork(actor, ms.networkId);
			// The secretariat books and sees who comes when (it answers the patients' calls), nothing clinical.
			if (action === 'booking.read' || action === 'booking.book') return role === 'soignant' || role === 'secretariat' || coordination;
			if (action === 'room.manage') return role === 'secretariat' || coordination;
			// Only the professional who held the appointment, or the coordination correcting it, says whether the patient came;
			// professionals keep control of their own availability, which the coordination plans with them.
			const self = role === 'soignant' && resource.professionalId === actor.userId;
			return self || coordination;
		}
		case 'absence.manage': {
			if (!('professionalId' in resource) || !('networkIds' in resource)) return false;
			// networkIds are where the person holds permanences (a permanence profession): none, and
			// there is nothing an absence would cancel, so nobody records one, themselves included.
			if (resource.networkIds.length === 0) return false;
			return resource.professionalId === actor.userId || resource.networkIds.some((id) => coordinatesNetwork(actor, id));
		}
		case 'budget.manage':
		case 'cockpit.national':
			return actor.platformAdmin;
		case 'cockpit.view':
		case 'cockpit.alerts':
		case 'cockpit.reports':
		case 'billing.manage': {
			if (!('networkId' in resource)) return false;
			// Billing is the administrative coordination's job (it alone sees the NIR); indicators, alerts
			// and reports belong to both coordinators. A bare network admin runs accounts, not care.
			if (action === 'billing.manage') return networkRoles(actor, resource.networkId).includes('coordination_administrative');
			return coordinatesNetwork(actor, resource.networkId);
		}
		case 'microstructure.view':
		case 'microstructure.manage_members': {
			if (!('microstructure' in resource)) return false;
			const ms = resource.microstructure;
			const role = directRole(actor, ms);
			if (action === 'microstructure.view') {
				return role !== undefined || networkRoles(actor, ms.networkId).length > 0 || actor.platformAdmin;
			}
			return role === 'coordination' || coordinatesNetwork(actor, ms.networkId) || administersNetwork(actor, ms.networkId);
		}
	}
}

/** What the policy needs to know about a patient to decide on its PPS. */
export interface PatientRef {
	microstructure: MicrostructureRef;
	careTeam: string[];
	/** A patient who has left: the plan is kept for reading only. */
	closed: boolean;
}

/**
 * Why a shared document opens read-only for an actor, so that the page can say it and, when it can
 * be fixed, how (null: the actor edits, or does not see the document at all).
 */
export type ReadOnlyReason =
	/** A clinician or the coordination of the microstructure, outside the patient's care team: may ask to join it. */
	| 'not_in_team'
	/** The patient has left (sorti, transféré): the plan is kept as it was. */
	| 'patient_left'
	/** The network's coordinators follow every microstructure's plans without being in their care teams. */
	| 'network_coordination'
	/** The secretariat reads the team's notes without editing them. */
	| 'secretariat'
	/** A network administrator without a coordination role reads the team's notes. */
	| 'administration'
	/** The RCP session is closed or cancelled: its case notes belong to the minutes. */
	| 'session_closed';

/** A decision on a shared document: the access, and why it is read-only when it is. */
export interface DocDecision {
	access: DocAccess;
	reason: ReadOnlyReason | null;
}

const NONE: DocDecision = { access: 'none', reason: null };
const RW: DocDecision = { access: 'rw', reason: null };
const ro = (reason: ReadOnlyReason): DocDecision => ({ access: 'ro', reason });

/** May the actor ask to be added to a care team to lift this read-only (the team then decides)? */
export function mayAskToJoinTeam(decision: DocDecision): boolean {
	return decision.reason === 'not_in_team';
}

/**
 * The PPS: the patient's care team edits it; whoever may read the patient (other clinicians of the
 * microstructure, its coordination, the network's coordinators) reads it; nobody else. A patient who
 * has left keeps a read-only plan. Only the microstructure's members can join a care team, so only
 * they are told to ask for it.
 */
export function ppsDecision(actor: Actor, patient: PatientRef): DocDecision {
	if (!can(actor, 'patient.read', { microstructure: patient.microstructure })) return NONE;
	if (patient.closed) return ro('patient_left');
	if (patient.careTeam.includes(actor.userId)) return RW;
	const role = directRole(actor, patient.microstructure);
	return ro(role === 'soignant' || role === 'coordination' ? 'not_in_team' : 'network_coordination');
}

export function ppsAccess(actor: Actor, patient: PatientRef): DocAccess {
	return ppsDecision(actor, patient).access;
}

/** What the policy needs to know about an RCP session, for one actor. */
export interface RcpSessionRef {
	microstructure: MicrostructureRef;
	status: 'planifiee' | 'en_cours' | 'cloturee' | 'annulee';
	/** When the actor is an invited guest: the agenda items they are invited to; otherwise null. */
	guestItems: string[] | null;
}

export type RcpAccess = { level: 'team' | 'guest'; readOnly: boolean } | { level: 'none' };

/**
 * An RCP session: the microstructure's care team and coordinators take part; an invited guest sees
 * only the items they are invited to; nobody else learns it exists. A closed session is read-only.
 */
export function rcpAccess(actor: Actor, session: RcpSessionRef): RcpAccess {
	const readOnly = session.status === 'cloturee' || session.status === 'annulee';
	if (can(actor, 'rcp.view', { microstructure: session.microstructure })) return { level: 'team', readOnly };
	if (session.guestItems !== null) return { level: 'guest', readOnly };
	return { level: 'none' };
}

/** May the actor see this agenda item of a session they have access to? */
export function rcpItemVisible(access: RcpAccess, session: RcpSessionRef, itemId: string): boolean {
	if (access.level === 'team') return true;
	return access.level === 'guest' && (session.guestItems ?? []).includes(itemId);
}

/** An agenda item's case notes: whoever sees the item writes them until the session is closed. */
export function rcpNotesDecision(actor: Actor, session: RcpSessionRef, itemId: string): DocDecision {
	const access = rcpAccess(actor, session);
	if (!rcpItemVisible(access, session, itemId)) return NONE;
	return access.level !== 'none' && access.readOnly ? ro('session_closed') : RW;
}

export function rcpNotesAccess(actor: Actor, session: RcpSessionRef, itemId: string): DocAccess {
	return rcpNotesDecision(actor, session, itemId).access;
}

/**
 * Access to a shared Yjs document, by document name, with the reason when it is read-only. Unknown
 * kinds are refused. The resolvers turn ids into what the rules need (or null when they do not exist).
 */
export async function docDecision(
	actor: Actor,
	docName: string,
	resolveMicrostructure: (id: string) => Promise<MicrostructureRef | null>,
	resolvePatient: (id: string) => Promise<PatientRef | null> = async () => null,
	resolveRcpItem: (itemId: string, userId: string) => Promise<RcpSessionRef | null> = async () => null
): Promise<DocDecision> {
	const notes = /^rcp-notes:([0-9a-f-]{36})$/.exec(docName);
	if (notes) {
		const session = await resolveRcpItem(notes[1], actor.userId);
		return session ? rcpNotesDecision(actor, session, notes[1]) : NONE;
	}
	const pps = /^pps:([0-9a-f-]{36})$/.exec(docName);
	if (pps) {
		const patient = await resolvePatient(pps[1]);
		return patient ? ppsDecision(actor, patient) : NONE;
	}
	const match = /^ms-notes:([0-9a-f-]{36})$/.exec(docName);
	if (!match) return NONE;
	const ms = await resolveMicrostructure(match[1]);
	if (!ms) return NONE;
	const role = directRole(actor, ms);
	if (role === 'soignant' || role === 'coordination' || coordinatesNetwork(actor, ms.networkId)) return RW;
	if (role === 'secretariat') return ro('secretariat');
	if (administersNetwork(actor, ms.networkId)) return ro('administration');
	return NONE;
}

/** Access to a shared Yjs document (see docDecision), for the live layer. */
export async function docAccess(...args: Parameters<typeof docDecision>): Promise<DocAccess> {
	return (await docDecision(...args)).access;
}

/** May the actor join this socket.io room? Users are put in their own room by the server. */
export async function roomAccess(
	actor: Actor,
	room: string,
	resolveMicrostructure: (id: string) => Promise<MicrostructureRef | null>,
	resolveRcpSession: (sessionId: string, userId: string) => Promise<RcpSessionRef | null> = async () => null
): Promise<boolean> {
	if (room === `user:${actor.userId}`) return true;
	const rcp = /^rcp:([0-9a-f-]{36})$/.exec(room);
	if (rcp) {
		const session = await resolveRcpSession(rcp[1], actor.userId);
		return session !== null && rcpAccess(actor, session).level !== 'none';
	}
	const match = /^ms:([0-9a-f-]{36})$/.exec(room);
	if (!match) return false;
	const ms = await resolveMicrostructure(match[1]);
	return ms !== null && can(actor, 'microstructure.view', { microstructure: ms });
}

/** What the policy needs to know about a conversation (messaging). */
export type ConversationRef =
	| { kind: 'patient'; patient: PatientRef }
	| { kind: 'team'; microstructure: MicrostructureRef }
	| { kind: 'direct' | 'group'; members: string[] };

/**
 * A conversation. A patient's thread is shared by what the law calls the care team (CSP L1110-4):
 * the patient's care-team members, the microstructure's coordination and the network's
 * coordinators — not every clinician of the microstructure, and never the secretariat. Whoever
 * leaves the care team loses the thread at once. The thread of a patient who has left is kept for
 * reading. A team conversation gathers the microstructure's members (the secretariat included, it
 * organises) and its network's coordinators. Direct and group conversations belong to their members.
 */
export function conversationAccess(actor: Actor, conversation: ConversationRef): DocAccess {
	switch (conversation.kind) {
		case 'patient': {
			const { patient } = conversation;
			const ms = patient.microstructure;
			if (!can(actor, 'patient.read', { microstructure: ms })) return 'none';
			const coordination = directRole(actor, ms) === 'coordination' || coordinatesNetwork(actor, ms.networkId);
			if (!coordination && !patient.careTeam.includes(actor.userId)) return 'none';
			return patient.closed ? 'ro' : 'rw';
		}
		case 'team': {
			const ms = conversation.microstructure;
			return directRole(actor, ms) !== undefined || coordinatesNetwork(actor, ms.networkId) ? 'rw' : 'none';
		}
		case 'direct':
		case 'group':
			return conversation.members.includes(actor.userId) ? 'rw' : 'none';
	}
}

/**
 * The conversations an actor reads, as lists the messaging queries filter on (the same rules as
 * conversationAccess, for many conversations at once).
 */
export interface ConversationScope {
	/** Microstructures whose team conversation the actor reads. */
	teamMicrostructures: string[];
	/** Microstructures whose every patient thread the actor reads (coordination). */
	allPatientThreads: string[];
	/** Microstructures where the actor reads the threads of the patients whose care team they are in. */
	careTeamThreads: string[];
	/** Networks whose microstructures' team conversations and patient threads the actor reads (coordinators). */
	coordinatedNetworks: string[];
}

export function conversationScope(actor: Actor): ConversationScope {
	return {
		teamMicrostructures: actor.microstructures.map((m) => m.id),
		allPatientThreads: actor.microstructures.filter((m) => m.role === 'coordination').map((m) => m.id),
		careTeamThreads: actor.microstructures.filter((m) => m.role === 'soignant').map((m) => m.id),
		coordinatedNetworks: [...new Set(actor.networks.filter((n) => COORDINATION_ROLES.includes(n.role)).map((n) => n.id))]
	};
}

/** What the policy needs to know about a person one would write to directly. */
export interface CorrespondentRef {
	userId: string;
	microstructureIds: string[];
	networkIds: string[];
}

/** Direct and group conversations are between professionals who share a microstructure or a network. */
export function mayWriteDirectly(actor: Actor, other: CorrespondentRef): boolean {
	if (other.userId === actor.userId) return false;
	if (actor.microstructures.some((m) => other.microstructureIds.includes(m.id))) return true;
	return networksOf(actor).some((id) => other.networkIds.includes(id));
}

/** What the policy needs to know about a person whose second factor an administrator would reset. */
export interface AccountRef {
	userId: string;
	platformAdmin: boolean;
	/** Networks the person works in (network memberships and their microstructures' networks). */
	networkIds: string[];
}

/**
 * Resetting a lost second factor: the platform administrator for anyone, a network's administrators
 * for the people of that network; never one's own (that is the account page), and a platform
 * administrator's only by a platform administrator.
 */
export function canResetSecondFactor(actor: Actor, target: AccountRef): boolean {
	if (target.userId === actor.userId) return false;
	if (actor.platformAdmin) return true;
	if (target.platformAdmin) return false;
	return target.networkIds.some((networkId) => can(actor, 'user.reset_second_factor', { networkId }));
}

/** The networks an actor works in, for `AccountRef.networkIds`. */
export function networksOf(actor: Actor): string[] {
	return [...new Set([...actor.networks.map((n) => n.id), ...actor.microstructures.map((m) => m.networkId)])];
}

/** Coordinators and administrators must use two-factor authentication. */
export function requiresTwoFactor(actor: Actor): boolean {
	return (
		actor.platformAdmin ||
		actor.networks.length > 0 ||
		actor.microstructures.some((m) => m.role === 'coordination')
	);
}

/** The actor's permissions in one query (it runs on every page, socket event and upgrade). */
export async function loadActor(db: Db, userId: string): Promise<Actor> {
	return (await loadActors(db, [userId])).get(userId)!;
}

/** Several actors in one query (e.g. who may read the conversation a message goes to). */
export async function loadActors(db: Db, userIds: string[]): Promise<Map<string, Actor>> {
	const ids = [...new Set(userIds)];
	const actors = new Map<string, Actor>(ids.map((userId) => [userId, { userId, platformAdmin: false, microstructures: [], networks: [] }]));
	if (ids.length === 0) return actors;
	const rows = await db
		.selectFrom('app_user as u')
		.leftJoin('membership as m', (j) => j.onRef('m.user_id', '=', 'u.id').on(activeMembership))
		.leftJoin('microstructure as ms', (j) => j.onRef('ms.id', '=', 'm.microstructure_id').on('ms.archived_at', 'is', null))
		.select(['u.id', 'u.platform_admin', 'm.role', 'm.network_id', 'ms.id as ms_id', 'ms.network_id as ms_network_id'])
		.where('u.id', 'in', ids)
		.execute();
	for (const r of rows) {
		const actor = actors.get(r.id)!;
		actor.platformAdmin = r.platform_admin;
		addMembership(actor, r);
	}
	return actors;
}

/** One active membership as the queries below read it. */
export interface MembershipRow {
	role: string | null;
	network_id: string | null;
	ms_id: string | null;
	ms_network_id: string | null;
}

function addMembership(actor: Actor, r: MembershipRow): void {
	if (r.ms_id) actor.microstructures.push({ id: r.ms_id, networkId: r.ms_network_id!, role: r.role as MicrostructureRole });
	if (r.network_id) actor.networks.push({ id: r.network_id, role: r.role as NetworkRole });
}

/**
 * The active memberships of the user `u` of an enclosing query, as a JSON array column: the session
 * check reads the session, its user and their memberships in one round trip (every page asks it).
 */
export function actorMemberships(eb: ExpressionBuilder<Database & { u: Database['app_user'] }, 'u'>) {
	return jsonArrayFrom(
		eb
			.selectFrom('membership as m')
			.leftJoin('microstructure as ms', (j) => j.onRef('ms.id', '=', 'm.microstructure_id').on('ms.archived_at', 'is', null))
			.select(['m.role', 'm.network_id', 'ms.id as ms_id', 'ms.network_id as ms_network_id'])
			.whereRef('m.user_id', '=', 'u.id')
			.where(activeMembership)
	);
}

/** The actor from its user and the rows of actorMemberships. */
export function actorFrom(userId: string, platformAdmin: boolean, memberships: MembershipRow[]): Actor {
	const actor: Actor = { userId, platformAdmin, microstructures: [], networks: [] };
	for (const r of memberships) addMembership(actor, r);
	return actor;
}

// A membership is active from its start date until the day before its end date (on `m`).
export const activeMembership = sql<boolean>`m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)`;
