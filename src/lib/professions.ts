// Professions and roles as stored in the database (labels live in the i18n messages).
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

export const MICROSTRUCTURE_ROLES = ['soignant', 'coordination', 'secretariat'] as const;
export const NETWORK_ROLES = ['coordination_medicale', 'coordination_administrative', 'admin'] as const;
