// The one place where permissions are decided. Everything (pages, form actions, socket.io rooms,
// Yjs documents) asks this module; rules are derived from the actor's active memberships only.
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { MicrostructureRole, NetworkRole } from '../db/schema.ts';

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
	| 'rcp.organise'
	/** The microstructure's override of its network's RCP template. */
	| 'rcp.template'
	/** The network's default RCP template. */
	| 'network.rcp_template'
	| 'network.view'
	| 'network.manage'
	| 'network.audit'
	| 'network.create';

export type Resource = { microstructure: MicrostructureRef } | { networkId: string } | Record<string, never>;

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
		case 'network.audit': {
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
		case 'rcp.organise':
		case 'rcp.template': {
			if (!('microstructure' in resource)) return false;
			const ms = resource.microstructure;
			const role = directRole(actor, ms);
			// RCP agendas name patients: the same need-to-know as patient records.
			if (action === 'rcp.template') return role === 'coordination' || coordinatesNetwork(actor, ms.networkId) || administersNetwork(actor, ms.networkId);
			return role === 'soignant' || role === 'coordination' || coordinatesNetwork(actor, ms.networkId);
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
 * The PPS: the patient's care team edits it; whoever may read the patient (other clinicians of the
 * microstructure, its coordination, the network's coordinators) reads it; nobody else.
 */
export function ppsAccess(actor: Actor, patient: PatientRef): DocAccess {
	if (!can(actor, 'patient.read', { microstructure: patient.microstructure })) return 'none';
	if (!patient.closed && patient.careTeam.includes(actor.userId)) return 'rw';
	return 'ro';
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
export function rcpNotesAccess(actor: Actor, session: RcpSessionRef, itemId: string): DocAccess {
	const access = rcpAccess(actor, session);
	if (!rcpItemVisible(access, session, itemId)) return 'none';
	return access.level !== 'none' && access.readOnly ? 'ro' : 'rw';
}

/**
 * Access to a shared Yjs document, by document name. Unknown kinds are refused.
 * The resolvers turn ids into what the rules need (or null when they do not exist).
 */
export async function docAccess(
	actor: Actor,
	docName: string,
	resolveMicrostructure: (id: string) => Promise<MicrostructureRef | null>,
	resolvePatient: (id: string) => Promise<PatientRef | null> = async () => null,
	resolveRcpItem: (itemId: string, userId: string) => Promise<RcpSessionRef | null> = async () => null
): Promise<DocAccess> {
	const notes = /^rcp-notes:([0-9a-f-]{36})$/.exec(docName);
	if (notes) {
		const session = await resolveRcpItem(notes[1], actor.userId);
		return session ? rcpNotesAccess(actor, session, notes[1]) : 'none';
	}
	const pps = /^pps:([0-9a-f-]{36})$/.exec(docName);
	if (pps) {
		const patient = await resolvePatient(pps[1]);
		return patient ? ppsAccess(actor, patient) : 'none';
	}
	const match = /^ms-notes:([0-9a-f-]{36})$/.exec(docName);
	if (!match) return 'none';
	const ms = await resolveMicrostructure(match[1]);
	if (!ms) return 'none';
	const role = directRole(actor, ms);
	if (role === 'soignant' || role === 'coordination' || coordinatesNetwork(actor, ms.networkId)) return 'rw';
	if (role === 'secretariat' || administersNetwork(actor, ms.networkId)) return 'ro';
	return 'none';
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
	const rows = await db
		.selectFrom('app_user as u')
		.leftJoin('membership as m', (j) => j.onRef('m.user_id', '=', 'u.id').on(activeMembership))
		.leftJoin('microstructure as ms', (j) => j.onRef('ms.id', '=', 'm.microstructure_id').on('ms.archived_at', 'is', null))
		.select(['u.platform_admin', 'm.role', 'm.network_id', 'ms.id as ms_id', 'ms.network_id as ms_network_id'])
		.where('u.id', '=', userId)
		.execute();
	return {
		userId,
		platformAdmin: rows[0]?.platform_admin ?? false,
		microstructures: rows.filter((r) => r.ms_id).map((r) => ({ id: r.ms_id!, networkId: r.ms_network_id!, role: r.role as MicrostructureRole })),
		networks: rows.filter((r) => r.network_id).map((r) => ({ id: r.network_id!, role: r.role as NetworkRole }))
	};
}

// A membership is active from its start date until the day before its end date.
const activeMembership = sql<boolean>`m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)`;
