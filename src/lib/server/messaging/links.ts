// Links shared into a patient's thread: a version of their PPS ("Partager dans le fil de l'équipe"
// on a version) or the compte-rendu of a closed RCP that discussed them (from the compte-rendu).
// A message stores only { type, id }; whoever opens it goes through /messages/lien/<type>/<id>,
// which sends them to the page itself, and that page checks their access as always.
import type { Db } from '../db/index.ts';
import type { MessageLink } from '../db/schema.ts';
import type { Actor } from '../access/policy.ts';
import { can, conversationAccess } from '../access/policy.ts';
import { resolvePatientRef } from '../pps/pps.ts';
import { isUuid } from '../org/microstructures.ts';
import type { OpenedConversation } from './conversations.ts';

/** What an entry point hands to the thread (`?lien=`): a PPS version by its number, or an RCP by its id. */
export type ShareRequest = { type: 'pps_version'; number: number } | { type: 'rcp_report'; sessionId: string };

/** The link, ready to be sent, and what the composer shows of it. */
export type Shareable = { link: MessageLink } & ({ type: 'pps_version'; number: number } | { type: 'rcp_report'; on: string });

const PPS = /^pps:([1-9]\d{0,5})$/;
const RCP = /^rcp:([0-9a-f-]{36})$/i;

export function parseShareRequest(value: string | null | undefined): ShareRequest | null {
	if (!value) return null;
	const pps = PPS.exec(value);
	if (pps) return { type: 'pps_version', number: Number(pps[1]) };
	const rcp = RCP.exec(value);
	return rcp && isUuid(rcp[1]) ? { type: 'rcp_report', sessionId: rcp[1].toLowerCase() } : null;
}

/** The request as a query value (the inverse of parseShareRequest). */
export const shareParam = (r: ShareRequest) => (r.type === 'pps_version' ? `pps:${r.number}` : `rcp:${r.sessionId}`);

/** Of these patients, those whose thread the actor may write in (where "Partager dans le fil de l'équipe" is offered). */
export async function sharingPatients(db: Db, actor: Actor, patientIds: string[]): Promise<Set<string>> {
	const ids = [...new Set(patientIds)];
	const refs = await Promise.all(ids.map((id) => resolvePatientRef(db, id)));
	return new Set(ids.filter((_, i) => refs[i] !== null && conversationAccess(actor, { kind: 'patient', patient: refs[i]! }) === 'rw'));
}

/** The link a request names, if it is one of this patient's: else null (the composer then shows none). */
export async function shareable(db: Db, patientId: string, request: ShareRequest): Promise<Shareable | null> {
	const found = await ofPatient(db, patientId, request.type === 'pps_version' ? { type: 'pps_version', number: request.number } : { type: 'rcp_report', id: request.sessionId });
	if (!found) return null;
	return found.type === 'pps_version' ? { type: 'pps_version', number: found.number, link: { type: 'pps_version', id: found.id } } : { type: 'rcp_report', on: found.on, link: { type: 'rcp_report', id: found.id } };
}

/**
 * A link sent into a conversation must point at something of that patient, in their own thread.
 * Null when it does; else the French refusal. (Who opens it is checked again by the page.)
 */
export async function linkProblem(db: Db, c: Pick<OpenedConversation, 'row'>, link: MessageLink): Promise<string | null> {
	if (c.row.kind !== 'patient' || !c.row.patient_id) return 'Un compte rendu ou une version du PPS se partage dans le fil du patient.';
	if (!isUuid(link.id)) return 'Ce lien ne concerne pas ce patient.';
	return (await ofPatient(db, c.row.patient_id, link)) ? null : 'Ce lien ne concerne pas ce patient.';
}

/**
 * The one lookup behind both: a version of this patient's PPS (by id or number), or a closed RCP
 * that discussed them (a passage).
 */
async function ofPatient(
	db: Db,
	patientId: string,
	what: { type: 'pps_version'; id?: string; number?: number } | { type: 'rcp_report'; id: string }
): Promise<{ type: 'pps_version'; id: string; number: number } | { type: 'rcp_report'; id: string; on: string } | null> {
	if (what.type === 'pps_version') {
		const v = await db
			.selectFrom('pps_version')
			.select(['id', 'number'])
			.where('patient_id', '=', patientId)
			.$if(what.id !== undefined, (q) => q.where('id', '=', what.id!))
			.$if(what.number !== undefined, (q) => q.where('number', '=', what.number!))
			.executeTakeFirst();
		return v ? { type: 'pps_version', id: v.id, number: v.number } : null;
	}
	const r = await db
		.selectFrom('rcp_passage as r')
		.innerJoin('rcp_session as s', 's.id', 'r.session_id')
		.select(['s.id', 'r.on_date'])
		.where('r.session_id', '=', what.id)
		.where('r.patient_id', '=', patientId)
		.where('s.status', '=', 'cloturee')
		.executeTakeFirst();
	return r ? { type: 'rcp_report', id: r.id, on: r.on_date } : null;
}

/**
 * Where a shared link leads, for this actor: the version's page if they may read the patient's
 * thread (the care team and coordination), the compte-rendu if they may see the RCP's
 * microstructure. Null otherwise, and for what does not exist: the same 404 either way.
 */
export async function linkTarget(db: Db, actor: Actor, type: string, id: string): Promise<string | null> {
	if (!isUuid(id)) return null;
	if (type === 'pps_version') {
		const v = await db.selectFrom('pps_version').select(['patient_id', 'number']).where('id', '=', id).executeTakeFirst();
		const patient = v && (await resolvePatientRef(db, v.patient_id));
		if (!v || !patient || conversationAccess(actor, { kind: 'patient', patient }) === 'none') return null;
		return `/ms/${patient.microstructure.id}/patients/${v.patient_id}/pps/versions/${v.number}`;
	}
	if (type === 'rcp_report') {
		const s = await db
			.selectFrom('rcp_session as s')
			.innerJoin('microstructure as ms', 'ms.id', 's.microstructure_id')
			.select(['s.id', 'ms.id as ms_id', 'ms.network_id'])
			.where('s.id', '=', id)
			.where('s.status', '=', 'cloturee')
			.executeTakeFirst();
		if (!s || !can(actor, 'rcp.view', { microstructure: { id: s.ms_id, networkId: s.network_id } })) return null;
		return `/ms/${s.ms_id}/rcp/${s.id}/compte-rendu`;
	}
	return null;
}
