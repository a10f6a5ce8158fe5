// The PPS around its live Yjs document: who may open it, its JSON projection kept in PostgreSQL,
// validated versions (immutable snapshots), restore, and the FHIR export of a version.
import * as Y from 'yjs';
import { sql } from 'kysely';
import { inTransaction, type Db } from '../db/index.ts';
import type { Patient } from '../db/schema.ts';
import type { MicrostructureRef, PatientRef } from '../access/policy.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { isUuid } from '../org/microstructures.ts';
import { project, type PpsProjection } from '../../pps/model.ts';

export const ppsDocName = (patientId: string) => `pps:${patientId}`;

export async function resolvePatientRef(db: Db, patientId: string): Promise<PatientRef | null> {
	if (!isUuid(patientId)) return null;
	const patient = await db
		.selectFrom('patient as p')
		.innerJoin('microstructure as ms', 'ms.id', 'p.microstructure_id')
		.select(['p.id', 'p.state', 'p.anonymised_at', 'ms.id as ms_id', 'ms.network_id'])
		.where('p.id', '=', patientId)
		.executeTakeFirst();
	if (!patient) return null;
	const team = await db.selectFrom('patient_team_member').select('user_id').where('patient_id', '=', patientId).execute();
	return {
		microstructure: { id: patient.ms_id, networkId: patient.network_id },
		careTeam: team.map((t) => t.user_id),
		closed: patient.state === 'sorti' || patient.state === 'transfere' || patient.anonymised_at !== null
	};
}

export async function saveProjection(db: Db, patientId: string, projection: PpsProjection): Promise<void> {
	const json = JSON.stringify(projection);
	await db
		.insertInto('pps')
		.values({ patient_id: patientId, projection: json })
		.onConflict((oc) => oc.column('patient_id').doUpdateSet({ projection: json, updated_at: sql<Date>`now()` }))
		.execute();
}

export function getProjection(db: Db, patientId: string) {
	return db.selectFrom('pps').select(['projection', 'updated_at']).where('patient_id', '=', patientId).executeTakeFirst();
}

export function listVersions(db: Db, patientId: string) {
	return db
		.selectFrom('pps_version as v')
		.leftJoin('app_user as u', 'u.id', 'v.created_by')
		.select(['v.id', 'v.number', 'v.created_at', 'v.rcp_id', 'u.first_name', 'u.last_name'])
		.where('v.patient_id', '=', patientId)
		.orderBy('v.number', 'desc')
		.execute();
}

export function getVersion(db: Db, patientId: string, number: number) {
	return db
		.selectFrom('pps_version as v')
		.leftJoin('app_user as u', 'u.id', 'v.created_by')
		.select(['v.id', 'v.number', 'v.created_at', 'v.projection', 'v.snapshot', 'v.rcp_id', 'u.first_name', 'u.last_name'])
		.where('v.patient_id', '=', patientId)
		.where('v.number', '=', number)
		.executeTakeFirst();
}

/** Freezes the current document as the next version (snapshot + projection), audited. */
export async function validateVersion(
	db: Db,
	ctx: AuditContext & { actorId: string },
	ms: MicrostructureRef,
	patientId: string,
	doc: Y.Doc,
	rcpId: string | null = null
): Promise<number> {
	const snapshot = Y.encodeStateAsUpdate(doc);
	const projection = project(doc);
	const number = await inTransaction(db, async (trx) => {
		// Serialise concurrent validations of the same PPS on the patient row.
		await trx.selectFrom('patient').select('id').where('id', '=', patientId).forUpdate().executeTakeFirst();
		const last = await trx.selectFrom('pps_version').select((eb) => eb.fn.max('number').as('n')).where('patient_id', '=', patientId).executeTakeFirst();
		const next = Number(last?.n ?? 0) + 1;
		await trx
			.insertInto('pps_version')
			.values({ patient_id: patientId, number: next, snapshot, projection: JSON.stringify(projection), created_by: ctx.actorId, rcp_id: rcpId })
			.execute();
		return next;
	});
	await saveProjection(db, patientId, projection);
	await audit(db, ctx, { action: 'pps.validated', targetType: 'patient', targetId: patientId, microstructureId: ms.id, networkId: ms.networkId, details: { version: number } });
	return number;
}

const FHIR_STATUS: Record<string, string> = { a_faire: 'not-started', en_cours: 'in-progress', fait: 'completed', abandonne: 'cancelled' };

/** A FHIR R4 bundle (CarePlan + Goals + CareTeam) for one validated version. */
export function fhirBundle(
	patient: Pick<Patient, 'id' | 'code'>,
	version: { number: number; created_at: Date; projection: PpsProjection },
	team: { id: string; first_name: string; last_name: string; profession: string }[],
	base: string
) {
	const p = version.projection;
	const goals = [
		...(p.goals ? [{ id: 'goal-patient', text: p.goals, note: 'Objectifs du patient, dans ses mots' }] : []),
		...p.objectives.map((o) => ({ id: `goal-${o.id}`, text: o.text, note: o.domain }))
	];
	const patientRef = { reference: `Patient/${patient.id}`, display: patient.code };
	const name = (id: string) => {
		const m = team.find((t) => t.id === id);
		return m ? `${m.first_name} ${m.last_name}` : id;
	};
	return {
		resourceType: 'Bundle',
		type: 'collection',
		timestamp: version.created_at.toISOString(),
		entry: [
			{
				fullUrl: `${base}/CarePlan/pps-${patient.id}-v${version.number}`,
				resource: {
					resourceType: 'CarePlan',
					id: `pps-${patient.id}-v${version.number}`,
					status: 'active',
					intent: 'plan',
					title: `Plan personnalisé de santé — version ${version.number}`,
					subject: patientRef,
					created: version.created_at.toISOString(),
					...(p.reviewDate ? { period: { end: p.reviewDate } } : {}),
					careTeam: [{ reference: `#careteam` }],
					...(p.coordinator ? { author: { display: name(p.coordinator) } } : {}),
					goal: goals.map((g) => ({ reference: `Goal/${g.id}` })),
					addresses: [],
					note: [
						...p.problems.map((pr) => ({ text: `Besoin (${pr.domain}) : ${pr.text}` })),
						...(p.crisis ? [{ text: `En cas de difficulté : ${p.crisis}` }] : []),
						...(p.evaluation ? [{ text: `Critères d'évaluation : ${p.evaluation}` }] : []),
						...p.entretiens.map((e) => ({ text: `Entretiens : ${name(e.professional)} — ${e.frequency}` }))
					],
					activity: p.actions.map((a) => ({
						detail: {
							status: FHIR_STATUS[a.status] ?? 'not-started',
							description: a.what,
							...(a.due ? { scheduledString: a.due } : {}),
							...(a.owner ? { performer: [{ display: name(a.owner) }] } : {})
						}
					})),
					contained: [
						{
							resourceType: 'CareTeam',
							id: 'careteam',
							subject: patientRef,
							participant: team.map((m) => ({ role: [{ text: m.profession }], member: { display: `${m.first_name} ${m.last_name}` } }))
						}
					]
				}
			},
			...goals.map((g) => ({
				fullUrl: `${base}/Goal/${g.id}`,
				resource: { resourceType: 'Goal', id: g.id, lifecycleStatus: 'active', description: { text: g.text }, subject: patientRef, note: g.note ? [{ text: g.note }] : [] }
			}))
		]
	};
}
