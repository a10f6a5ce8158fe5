// Asking the care team: a professional who reads a PPS without being in the patient's care team
// asks to join it ("Demander l'accès"); the team (and the GP who included the patient) is notified
// and adds them in one click, through the care-team change and its live re-check. And from the
// inclusion form, a user who found the same person followed in another microstructure asks for the
// record's transfer, without learning anything more about it. Each request is audited and throttled:
// one per person, patient and kind a day, decided by one atomic statement.
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import { inTransaction } from '../db/index.ts';
import type { Patient } from '../db/schema.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import type { MicrostructureRef } from '../access/policy.ts';
import { fr } from '../../i18n/fr.ts';
import { fill } from '../../i18n/index.ts';
import { notify } from '../notifications/notifications.ts';
import { nudgeUsers, reauthorizeUser } from '../live.ts';
import { eligibleTeamMembers } from './patients.ts';
import { matchingRecords, type IdentityProbe } from './duplicates.ts';
import type { NirKeys } from './nir.ts';

/** A request may be repeated once this much time has passed (or once it was answered). */
export const REQUEST_THROTTLE = '1 day';

/**
 * Records a request unless the same one is pending since less than a day: true when it is new
 * (then notify), false when it is a repeat. One statement, so concurrent repeats count once.
 */
async function recordRequest(trx: Db, kind: 'access' | 'transfer', patientId: string, userId: string, details: Record<string, unknown> = {}): Promise<boolean> {
	const row = await trx
		.insertInto('patient_request')
		.values({ kind, patient_id: patientId, user_id: userId, details: JSON.stringify(details) })
		.onConflict((oc) =>
			oc
				.columns(['kind', 'patient_id', 'user_id'])
				.doUpdateSet({ requested_at: sql<Date>`now()`, resolved_at: null, resolved_by: null, details: JSON.stringify(details) })
				.where(sql<boolean>`patient_request.resolved_at is not null or patient_request.requested_at < now() - ${REQUEST_THROTTLE}::interval`)
		)
		.returning('requested_at')
		.executeTakeFirst();
	return row !== undefined;
}

/** The pending access request of this person for this patient, if any. */
export async function pendingAccessRequest(db: Db, patientId: string, userId: string): Promise<Date | null> {
	const row = await db
		.selectFrom('patient_request')
		.select('requested_at')
		.where('kind', '=', 'access')
		.where('patient_id', '=', patientId)
		.where('user_id', '=', userId)
		.where('resolved_at', 'is', null)
		.executeTakeFirst();
	return row?.requested_at ?? null;
}

/** The pending access requests for a patient, with who asked (for the record's one-click answer). */
export function pendingAccessRequests(db: Db, patientId: string) {
	return db
		.selectFrom('patient_request as r')
		.innerJoin('app_user as u', 'u.id', 'r.user_id')
		.select(['u.id', 'u.first_name', 'u.last_name', 'u.profession', 'r.requested_at'])
		.where('r.kind', '=', 'access')
		.where('r.patient_id', '=', patientId)
		.where('r.resolved_at', 'is', null)
		.orderBy('r.requested_at')
		.execute();
}

/**
 * Who hears of an access request: the care team and the GP who included the patient (if they still
 * work here); when there is nobody, the microstructure's coordination.
 */
async function teamToAsk(trx: Db, msId: string, patient: Pick<Patient, 'id' | 'created_by'>, requester: string): Promise<string[]> {
	const eligible = await eligibleTeamMembers(trx, msId);
	const team = (await trx.selectFrom('patient_team_member').select('user_id').where('patient_id', '=', patient.id).execute()).map((r) => r.user_id);
	const asked = [...new Set([...team, ...(patient.created_by && eligible.has(patient.created_by) ? [patient.created_by] : [])])].filter((id) => id !== requester);
	if (asked.length) return asked;
	const coordination = await trx
		.selectFrom('membership')
		.select('user_id')
		.where('microstructure_id', '=', msId)
		.where('role', '=', 'coordination')
		.where(sql<boolean>`starts_on <= current_date and (ends_on is null or ends_on > current_date)`)
		.execute();
	return coordination.map((r) => r.user_id).filter((id) => id !== requester);
}

export type AccessRequestResult = { ok: true } | { ok: false; reason: 'already' | 'nobody' };

/**
 * "Demander l'accès": the caller has checked with the policy that the requester reads this PPS
 * because they are not in the care team (and may join it).
 */
export async function requestAccess(db: Db, ctx: AuditContext & { actorId: string }, ms: MicrostructureRef, patient: Pick<Patient, 'id' | 'code' | 'created_by'>): Promise<AccessRequestResult> {
	const outcome = await inTransaction(db, async (trx) => {
		const asked = await teamToAsk(trx, ms.id, patient, ctx.actorId);
		if (asked.length === 0) return { ok: false as const, reason: 'nobody' as const };
		if (!(await recordRequest(trx, 'access', patient.id, ctx.actorId))) return { ok: false as const, reason: 'already' as const };
		const me = await trx.selectFrom('app_user').select(['first_name', 'last_name', 'profession']).where('id', '=', ctx.actorId).executeTakeFirstOrThrow();
		await notify(trx, asked, {
			kind: 'access_request',
			title: fill(fr.readOnly.requestTitle, { code: patient.code }),
			body: fill(fr.readOnly.requestBody, { name: `${me.first_name} ${me.last_name}`, profession: fr.professions[me.profession] }),
			// The record lists the request with its "Ajouter à l'équipe"; `demande` names who asked.
			link: `/ms/${ms.id}/patients/${patient.id}?demande=${ctx.actorId}#equipe`
		});
		return { ok: true as const, asked };
	});
	if (!outcome.ok) return outcome;
	await audit(db, ctx, { action: 'patient.access_requested', targetType: 'patient', targetId: patient.id, microstructureId: ms.id, networkId: ms.networkId, details: { asked: outcome.asked.length } });
	nudgeUsers(outcome.asked);
	return { ok: true };
}

export type GrantResult = { ok: true; name: string } | { ok: false; reason: 'not_eligible' | 'already_in'; name?: string };

/**
 * "Ajouter à l'équipe": adds one member of the microstructure to the care team (the team change,
 * audited as such), answers their pending request and tells them; their open PPS becomes editable
 * at once (live re-check after the commit).
 */
export async function grantAccess(db: Db, ctx: AuditContext & { actorId: string }, ms: MicrostructureRef, patient: Pick<Patient, 'id' | 'code'>, userId: string): Promise<GrantResult> {
	const outcome = await inTransaction(db, async (trx) => {
		const person = await trx.selectFrom('app_user').select(['first_name', 'last_name']).where('id', '=', userId).executeTakeFirst();
		if (!person || !(await eligibleTeamMembers(trx, ms.id)).has(userId)) return { ok: false as const, reason: 'not_eligible' as const };
		const name = `${person.first_name} ${person.last_name}`;
		const added = await trx
			.insertInto('patient_team_member')
			.values({ patient_id: patient.id, user_id: userId })
			.onConflict((oc) => oc.columns(['patient_id', 'user_id']).doNothing())
			.returning('user_id')
			.executeTakeFirst();
		const answered = await trx
			.updateTable('patient_request')
			.set({ resolved_at: new Date(), resolved_by: ctx.actorId })
			.where('kind', '=', 'access')
			.where('patient_id', '=', patient.id)
			.where('user_id', '=', userId)
			.where('resolved_at', 'is', null)
			.executeTakeFirst();
		if (!added) return { ok: false as const, reason: 'already_in' as const, name };
		if (userId !== ctx.actorId) {
			await notify(trx, [userId], { kind: 'access_granted', title: fill(fr.readOnly.grantedTitle, { code: patient.code }), link: `/ms/${ms.id}/patients/${patient.id}/pps` });
		}
		return { ok: true as const, name, answered: Number(answered.numUpdatedRows) > 0 };
	});
	if (!outcome.ok) return outcome;
	await audit(db, ctx, { action: 'patient.team_changed', targetType: 'patient', targetId: patient.id, microstructureId: ms.id, networkId: ms.networkId, details: { added: 1 } });
	await audit(db, ctx, { action: 'patient.access_granted', targetType: 'patient', targetId: patient.id, microstructureId: ms.id, networkId: ms.networkId, details: { user: userId, answered: outcome.answered } });
	nudgeUsers([userId]);
	await reauthorizeUser(userId);
	return { ok: true, name: outcome.name };
}

export type TransferRequestResult = { ok: true } | { ok: false; reason: 'none' | 'already' };

/**
 * "Demander le transfert", from the inclusion form: the records of this identity in the network's
 * other microstructures are looked up again (the form carries no id), and each one's care team and
 * the network's coordinators are told that this microstructure asks for it. The requester learns
 * nothing more than that the request left.
 */
export async function requestTransfer(
	db: Db,
	ctx: AuditContext & { actorId: string },
	ms: MicrostructureRef & { name: string },
	probe: IdentityProbe,
	keys: NirKeys | null
): Promise<TransferRequestResult> {
	const outcome = await inTransaction(db, async (trx) => {
		const records = (await matchingRecords(trx, ms.networkId, probe, keys)).filter((r) => r.microstructure_id !== ms.id && r.state !== 'transfere');
		if (records.length === 0) return { ok: false as const, reason: 'none' as const };
		const me = await trx.selectFrom('app_user').select(['first_name', 'last_name']).where('id', '=', ctx.actorId).executeTakeFirstOrThrow();
		const coordinators = await trx
			.selectFrom('membership')
			.select('user_id')
			.where('network_id', '=', ms.networkId)
			.where('role', 'in', ['coordination_medicale', 'coordination_administrative'])
			.where(sql<boolean>`starts_on <= current_date and (ends_on is null or ends_on > current_date)`)
			.execute();
		const told = new Set<string>();
		const asked: string[] = [];
		for (const record of records) {
			if (!(await recordRequest(trx, 'transfer', record.id, ctx.actorId, { to: ms.id }))) continue;
			asked.push(record.id);
			const team = (await trx.selectFrom('patient_team_member').select('user_id').where('patient_id', '=', record.id).execute()).map((r) => r.user_id);
			const recipients = [...new Set([...team, ...coordinators.map((c) => c.user_id)])].filter((id) => id !== ctx.actorId);
			await notify(trx, recipients, {
				kind: 'transfer_request',
				title: fill(fr.duplicates.transferNotificationTitle, { code: record.code, ms: ms.name }),
				body: fill(fr.duplicates.transferNotificationBody, { name: `${me.first_name} ${me.last_name}`, ms: ms.name }),
				link: `/ms/${record.microstructure_id}/patients/${record.id}`
			});
			for (const id of recipients) told.add(id);
		}
		if (asked.length === 0) return { ok: false as const, reason: 'already' as const };
		return { ok: true as const, asked, told: [...told] };
	});
	if (!outcome.ok) return outcome;
	// Audited on the records asked for (their microstructure's log), and as the requester's act.
	await audit(db, ctx, { action: 'patient.transfer_requested', targetType: 'microstructure', targetId: ms.id, microstructureId: ms.id, networkId: ms.networkId, details: { records: outcome.asked } });
	nudgeUsers(outcome.told);
	return { ok: true };
}
