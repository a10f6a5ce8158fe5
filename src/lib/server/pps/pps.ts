// The PPS around its live Yjs document: who may open it, its JSON projection kept in PostgreSQL,
// validated versions (immutable snapshots) and restore. The FHIR export of a version is fhir.ts.
import * as Y from 'yjs';
import { sql } from 'kysely';
import { inTransaction, type Db } from '../db/index.ts';
import type { MicrostructureRef, PatientRef } from '../access/policy.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { isUuid } from '../org/microstructures.ts';
import { storableJson } from '../input.ts';
import { project, type PpsProjection } from '../../pps/model.ts';

export { fhirBundle } from './fhir.ts';

export const ppsDocName = (patientId: string) => `pps:${patientId}`;

export async function resolvePatientRef(db: Db, patientId: string): Promise<PatientRef | null> {
	return (await resolvePatientRefs(db, [patientId]))[0];
}

/**
 * resolvePatientRef for several patients in one round trip, in the order asked (null where there is
 * none): the PPS upgrades of a connection storm are read together (realtime/attach.ts).
 */
export async function resolvePatientRefs(db: Db, patientIds: string[]): Promise<(PatientRef | null)[]> {
	const ids = [...new Set(patientIds.filter(isUuid))];
	if (ids.length === 0) return patientIds.map(() => null);
	const rows = await db
		.selectFrom('patient as p')
		.innerJoin('microstructure as ms', 'ms.id', 'p.microstructure_id')
		.select((eb) => [
			'p.id',
			'p.state',
			'p.anonymised_at',
			'ms.id as ms_id',
			'ms.network_id',
			eb.fn<string[]>('array', [eb.selectFrom('patient_team_member as t').select('t.user_id').whereRef('t.patient_id', '=', 'p.id')]).as('team')
		])
		.where('p.id', 'in', ids)
		.execute();
	const byId = new Map(rows.map((r) => [r.id, patientRefFrom(r)]));
	return patientIds.map((id) => byId.get(id) ?? null);
}

/** What the policy decides a patient's documents on, from the patient's row (also read inside larger queries). */
export function patientRefFrom(p: { ms_id: string; network_id: string; state: string; anonymised_at: Date | null; team: string[] }): PatientRef {
	return {
		microstructure: { id: p.ms_id, networkId: p.network_id },
		careTeam: p.team,
		closed: p.state === 'sorti' || p.state === 'transfere' || p.anonymised_at !== null
	};
}

export async function saveProjection(db: Db, patientId: string, projection: PpsProjection): Promise<void> {
	await saveProjections(db, [{ patientId, projection }]);
}

/** Several patients' projections in one statement (the live documents' projections of a moment). */
export async function saveProjections(db: Db, projections: { patientId: string; projection: PpsProjection }[]): Promise<void> {
	// The latest of each patient: one statement may not update a row twice.
	const latest = new Map(projections.map((p) => [p.patientId, storableJson(p.projection)]));
	if (latest.size === 0) return;
	await db
		.insertInto('pps')
		.values([...latest].map(([patient_id, projection]) => ({ patient_id, projection })))
		.onConflict((oc) => oc.column('patient_id').doUpdateSet({ projection: (eb) => eb.ref('excluded.projection'), updated_at: sql<Date>`now()` }))
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

/**
 * A version's projection as JSON text, for a document built off the event loop (parsing it here
 * would cost the loop what the worker is there to take), or only its size when over `maxBytes`.
 * The text is made once (`offset 0` keeps the lateral subquery from being inlined twice): with the
 * embedded database, PostgreSQL itself runs on the event loop.
 */
export async function getVersionJson(db: Db, patientId: string, number: number, maxBytes: number) {
	const { rows } = await sql<{ number: number; created_at: Date; bytes: number; json: string | null }>`
		select v.number, v.created_at, octet_length(t.json) as bytes, case when octet_length(t.json) <= ${maxBytes} then t.json end as json
		from pps_version v cross join lateral (select v.projection::text as json offset 0) t
		where v.patient_id = ${patientId} and v.number = ${number}`.execute(db);
	return rows[0];
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
			.values({ patient_id: patientId, number: next, snapshot, projection: storableJson(projection), created_by: ctx.actorId, rcp_id: rcpId })
			.execute();
		return next;
	});
	await saveProjection(db, patientId, projection);
	await audit(db, ctx, { action: 'pps.validated', targetType: 'patient', targetId: patientId, microstructureId: ms.id, networkId: ms.networkId, details: { version: number } });
	return number;
}
