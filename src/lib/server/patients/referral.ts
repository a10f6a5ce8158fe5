// Referral means a team: orienting a patient to the psychologist and/or the social worker puts the
// microstructure's professional of that profession in the patient's care team and tells them. When
// several could take it, the person who orients chooses — nobody is added by default; until then
// the record asks. Who can take a referral is care-team.ts's rule (shared with the demo).
import { inTransaction, type Db } from '../db/index.ts';
import type { Orientation, Patient, Profession } from '../db/schema.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import type { MicrostructureRef } from '../access/policy.ts';
import { fr } from '../../i18n/fr.ts';
import { fill } from '../../i18n/index.ts';
import { notify } from '../notifications/notifications.ts';
import { nudgeUsers, reauthorizeUser } from '../live.ts';
import { ORIENTATION_PROFESSIONS, professionalsForOrientation, type Professional } from './care-team.ts';

/** The professions a referral can name (those of the orientations). */
export const REFERRAL_PROFESSIONS = ['psychologue', 'travailleur_social'] as const satisfies readonly Profession[];
export type ReferralProfession = (typeof REFERRAL_PROFESSIONS)[number];

/** The professional chosen, per profession, when several could take the referral. */
export type ReferralPicks = Partial<Record<ReferralProfession, string>>;

export interface ReferralPlan {
	/** Who joins the care team. */
	add: string[];
	/** Professions with several candidates and no choice: the record asks. */
	pending: ReferralProfession[];
	/** Professions the orientation names but nobody of which works in the microstructure. */
	missing: ReferralProfession[];
}

/**
 * Who an orientation puts in the care team: for each profession it names, the one professional of
 * the microstructure, or the one picked among several; a profession already represented in the team
 * is left as it is. A pick that is not a candidate is refused (the form offered only candidates).
 */
export async function planReferral(
	db: Db,
	microstructureId: string,
	orientation: Orientation,
	picks: ReferralPicks = {},
	team: string[] = []
): Promise<{ ok: true; plan: ReferralPlan } | { ok: false; profession: ReferralProfession }> {
	const candidates = await professionalsForOrientation(db, microstructureId, orientation);
	const plan: ReferralPlan = { add: [], pending: [], missing: [] };
	for (const profession of ORIENTATION_PROFESSIONS[orientation] as ReferralProfession[]) {
		const mine = candidates.filter((c) => c.profession === profession);
		const pick = picks[profession];
		if (pick !== undefined && !mine.some((c) => c.id === pick)) return { ok: false, profession };
		if (mine.length === 0) plan.missing.push(profession);
		else if (mine.some((c) => team.includes(c.id))) continue;
		else if (pick) plan.add.push(pick);
		else if (mine.length === 1) plan.add.push(mine[0].id);
		else plan.pending.push(profession);
	}
	return { ok: true, plan };
}

/**
 * Adds the referred professionals to the care team and notifies those who were not in it yet
 * ("Nouvelle orientation", to them only), as steps of the caller's transaction. Returns who joined:
 * after the commit, call `afterReferral` with them.
 */
export async function addReferred(
	trx: Db,
	patient: { id: string; code: string; microstructure_id: string },
	userIds: string[],
	byUserId: string
): Promise<string[]> {
	if (userIds.length === 0) return [];
	const joined = await trx
		.insertInto('patient_team_member')
		.values([...new Set(userIds)].map((user_id) => ({ patient_id: patient.id, user_id })))
		.onConflict((oc) => oc.columns(['patient_id', 'user_id']).doNothing())
		.returning('user_id')
		.execute();
	const told = joined.map((r) => r.user_id).filter((id) => id !== byUserId);
	if (told.length) {
		const by = await trx.selectFrom('app_user').select(['first_name', 'last_name']).where('id', '=', byUserId).executeTakeFirst();
		await notify(trx, told, {
			kind: 'orientation',
			title: fill(fr.referral.notificationTitle, { code: patient.code }),
			body: fill(fr.referral.notificationBody, { by: by ? `${by.first_name} ${by.last_name}` : '—' }),
			link: `/ms/${patient.microstructure_id}/patients/${patient.id}`
		});
	}
	return joined.map((r) => r.user_id);
}

/** Once the transaction is committed: the new members' open tabs hear of it, their live access is re-checked. */
export async function afterReferral(joined: string[]): Promise<void> {
	if (joined.length === 0) return;
	nudgeUsers(joined);
	await Promise.all(joined.map((userId) => reauthorizeUser(userId)));
}

export interface ReferralStatus {
	profession: ReferralProfession;
	/** Members of the care team of this profession. */
	inTeam: Professional[];
	/** Who could take the referral in the microstructure (when nobody of the profession is in the team). */
	candidates: Professional[];
}

/** For an oriented patient, each profession the orientation names, who holds it in the team, who could. */
export async function referralStatus(db: Db, microstructureId: string, orientation: Orientation | null, team: string[]): Promise<ReferralStatus[]> {
	if (!orientation) return [];
	const candidates = await professionalsForOrientation(db, microstructureId, orientation);
	const members = team.length
		? await db
				.selectFrom('app_user')
				.select(['id', 'first_name', 'last_name', 'profession'])
				.where('id', 'in', team)
				.where('profession', 'in', [...ORIENTATION_PROFESSIONS[orientation]])
				.orderBy('last_name')
				.execute()
		: [];
	return (ORIENTATION_PROFESSIONS[orientation] as ReferralProfession[]).map((profession) => {
		const inTeam = members.filter((m) => m.profession === profession);
		return { profession, inTeam, candidates: inTeam.length ? [] : candidates.filter((c) => c.profession === profession) };
	});
}

/** The candidates per profession in a microstructure, for the inclusion form's choice. */
export async function referralCandidates(db: Db, microstructureId: string): Promise<Record<ReferralProfession, Professional[]>> {
	const all = await professionalsForOrientation(db, microstructureId, 'les_deux');
	return { psychologue: all.filter((p) => p.profession === 'psychologue'), travailleur_social: all.filter((p) => p.profession === 'travailleur_social') };
}

/** Reads the picks of a form: `referTo_psychologue`, `referTo_travailleur_social` (empty: no pick). */
export function readPicks(form: FormData): { ok: true; picks: ReferralPicks } | { ok: false; profession: ReferralProfession } {
	const picks: ReferralPicks = {};
	for (const profession of REFERRAL_PROFESSIONS) {
		const value = form.get(`referTo_${profession}`);
		if (value === null || value === '') continue;
		if (typeof value !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value)) return { ok: false, profession };
		picks[profession] = value;
	}
	return { ok: true, picks };
}

/**
 * "À qui orienter ce patient ?": the person who chose among several professionals of a profession the
 * orientation names adds that one to the care team (told, live access re-checked), audited.
 */
export async function referPatient(
	db: Db,
	ctx: AuditContext & { actorId: string },
	ms: MicrostructureRef,
	patient: Pick<Patient, 'id' | 'code' | 'orientation' | 'state'>,
	profession: ReferralProfession,
	userId: string
): Promise<{ ok: true; joined: string[] } | { ok: false; error: string }> {
	if (!patient.orientation || !(ORIENTATION_PROFESSIONS[patient.orientation] as readonly string[]).includes(profession) || (patient.state !== 'inclus' && patient.state !== 'en_suivi')) {
		return { ok: false, error: fr.referral.invalid };
	}
	const orientation = patient.orientation;
	const joined = await inTransaction(db, async (trx) => {
		const planned = await planReferral(trx, ms.id, orientation, { [profession]: userId });
		if (!planned.ok) return null;
		return addReferred(trx, { id: patient.id, code: patient.code, microstructure_id: ms.id }, [userId], ctx.actorId);
	});
	if (!joined) return { ok: false, error: fr.referral.invalid };
	await audit(db, ctx, { action: 'patient.referred', targetType: 'patient', targetId: patient.id, microstructureId: ms.id, networkId: ms.networkId, details: { profession, joined: joined.length } });
	await afterReferral(joined);
	return { ok: true, joined };
}
