// Professions and roles as stored in the database (labels live in the i18n messages).
import type { MembershipRole } from './server/db/schema';
export const PROFESSIONS = [
	'medecin_generaliste',
	'psychologue',
	'travailleur_social',
	'psychiatre',
	'infirmier',
	'coordinateur_medical',
	'coordinateur_administratif',
	'secretariat',
	'autre'
] as const;

export const MICROSTRUCTURE_ROLES = ['soignant', 'coordination', 'secretariat'] as const satisfies readonly MembershipRole[];
export const NETWORK_ROLES = ['coordination_medicale', 'coordination_administrative', 'admin'] as const satisfies readonly MembershipRole[];
