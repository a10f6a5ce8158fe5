// Who cares for a patient once they are oriented (issue "Referral means a team"): the orientation
// chosen at inclusion names the professions the patient is referred to, and the microstructure's
// professionals of those professions join the care team beside the GP who included them. One rule,
// used by real inclusions and re-orientations as well as by the demo.
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { Orientation, Profession } from '../db/schema.ts';
import { parisToday } from './lifecycle.ts';

/** The professions each orientation refers the patient to. */
export const ORIENTATION_PROFESSIONS: Record<Orientation, readonly Profession[]> = {
	psychologue: ['psychologue'],
	travailleur_social: ['travailleur_social'],
	les_deux: ['psychologue', 'travailleur_social']
};

export interface Professional {
	id: string;
	first_name: string;
	last_name: string;
	profession: Profession;
}

/**
 * The microstructure's professionals an orientation refers the patient to: its active care-team
 * members (`soignant`, membership running on `on`, account not disabled) whose profession the
 * orientation names, ordered by name. Several of one profession are all returned: the caller
 * decides whether they all join or asks which one. Empty when the microstructure has nobody of
 * that profession (the inclusion then says so rather than promising a referral).
 */
export async function professionalsForOrientation(db: Db, microstructureId: string, orientation: Orientation, on: string = parisToday()): Promise<Professional[]> {
	return db
		.selectFrom('membership as m')
		.innerJoin('app_user as u', 'u.id', 'm.user_id')
		.select(['u.id', 'u.first_name', 'u.last_name', 'u.profession'])
		.distinct()
		.where('m.microstructure_id', '=', microstructureId)
		.where('m.role', '=', 'soignant')
		.where('u.profession', 'in', [...ORIENTATION_PROFESSIONS[orientation]])
		.where('u.disabled_at', 'is', null)
		.where(sql<boolean>`m.starts_on <= ${on}::date and (m.ends_on is null or m.ends_on > ${on}::date)`)
		.orderBy('u.last_name')
		.orderBy('u.first_name')
		.orderBy('u.id')
		.execute();
}

/**
 * The care team an inclusion starts with: the person who includes the patient, then every
 * professional the orientation refers them to (see professionalsForOrientation), without duplicates.
 */
export async function careTeamForOrientation(db: Db, microstructureId: string, includedBy: string, orientation: Orientation, on: string = parisToday()): Promise<string[]> {
	const referred = await professionalsForOrientation(db, microstructureId, orientation, on);
	return [...new Set([includedBy, ...referred.map((p) => p.id)])];
}
