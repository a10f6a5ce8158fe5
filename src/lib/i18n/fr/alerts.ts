// French messages of the coordinator's alerts (issue 14); fr.ts assembles them. The detection job
// writes its notifications in French from `notify` below (the server has no reader's locale).
export const alerts = {
	title: 'Alertes',
	intro: 'Les microstructures qui dérivent, vérifiées chaque matin à 6\u00a0h\u00a0: pourquoi, et quoi faire. Une alerte disparaît d’elle-même quand la situation est rétablie.',
	checkNow: 'Vérifier maintenant',
	checking: 'Vérification…',
	checked: 'Vérification faite. Nouvelles alertes\u00a0: {raised}\u00a0; résolues\u00a0: {resolved}.',
	openTitle: 'Alertes à traiter',
	openCount: 'Alertes à traiter\u00a0: {n}',
	none: 'Aucune dérive\u00a0: toutes les microstructures du réseau sont dans les seuils.',
	acknowledgedTitle: 'Prises en compte',
	acknowledgedNone: 'Aucune alerte prise en compte en cours.',
	acknowledgedBy: 'Prise en compte par {name} le {at}.',
	resolvedTitle: 'Résolues récemment',
	resolvedHelp: 'Les alertes dont la situation s’est rétablie ces 30 derniers jours.',
	resolvedNone: 'Aucune alerte résolue ces 30 derniers jours.',
	resolvedOn: 'Résolue le {at}',
	raisedOn: 'Signalée le {at}',
	acknowledge: 'Marquer comme pris en compte',
	acknowledged: 'Alerte marquée comme prise en compte. Elle reste listée à part jusqu’à ce que la situation soit rétablie.',
	notFound: 'Alerte introuvable ou déjà résolue.',
	alreadyAcknowledged: 'Cette alerte était déjà prise en compte.',
	kinds: {
		no_inclusion: 'Pas d’inclusion',
		rcp_missing: 'RCP en retard',
		no_social_orientation: 'Pas d’orientation vers le travailleur social',
		absence_uncovered: 'Absence non couverte',
		renewals_overdue: 'Renouvellements en retard',
		first_contact_waiting: 'Premiers contacts en attente'
	},
	why: {
		no_inclusion: 'Dernière inclusion le {last}, il y a {days}\u00a0jours (seuil\u00a0: {threshold}\u00a0jours).',
		no_inclusion_never: 'Aucune inclusion depuis le début de l’activité le {since}, il y a {days}\u00a0jours (seuil\u00a0: {threshold}\u00a0jours).',
		rcp_missing: 'Dernière RCP clôturée le {last}, il y a {days}\u00a0jours (au plus {limit}\u00a0jours).',
		rcp_missing_never: 'Aucune RCP clôturée depuis le début de l’activité le {since}, il y a {days}\u00a0jours (au plus {limit}\u00a0jours).',
		rcp_frequency: 'La trame prévoit une RCP {frequency}.',
		no_social_orientation: {
			one: 'Une inclusion ces {window} derniers jours, non orientée vers le travailleur social.',
			many: '{inclusions} inclusions ces {window} derniers jours, aucune orientée vers le travailleur social.'
		},
		no_social_orientation_last: 'Dernière orientation vers le travailleur social le {last}.',
		absence_uncovered: 'Absence de {professional} du {from} au {until}\u00a0: {appointments} rendez-vous à déplacer.',
		renewals_overdue: {
			one: 'Un patient dont le renouvellement est dépassé (il était dû le {oldest}).',
			many: '{patients} patients dont le renouvellement est dépassé (le plus ancien était dû le {oldest}).'
		},
		first_contact_waiting: {
			one: 'Un patient inclus depuis plus de {threshold}\u00a0jours sans premier contact (inclus le {oldest}).',
			many: '{patients} patients inclus depuis plus de {threshold}\u00a0jours sans premier contact (inclusion la plus ancienne le {oldest}).'
		}
	},
	todo: {
		no_inclusion: 'Voir la file active',
		rcp_missing: 'Planifier une RCP',
		no_social_orientation: 'Voir les permanences',
		absence_uncovered: 'Voir les rendez-vous à déplacer',
		renewals_overdue: 'Voir les renouvellements',
		first_contact_waiting: 'Voir les patients sans premier contact'
	},
	frequencies: {
		hebdomadaire: 'hebdomadaire',
		bimensuelle: 'tous les quinze jours',
		mensuelle: 'mensuelle',
		bimestrielle: 'tous les deux mois',
		trimestrielle: 'trimestrielle'
	},
	thresholds: {
		title: 'Seuils du réseau',
		help: 'Les seuils s’appliquent à toutes les microstructures du réseau. Un nombre entier de jours dans chaque champ.',
		save: 'Enregistrer les seuils',
		saved: 'Seuils enregistrés. Ils s’appliquent dès la prochaine vérification (lancée à l’instant).',
		range: 'Indiquez un nombre entier de jours entre {min} et {max}.',
		fields: {
			noInclusionDays: 'Sans inclusion depuis plus de (jours)',
			rcpDays: 'Sans RCP clôturée depuis plus de (jours)',
			socialOrientationDays: 'Sans orientation vers le travailleur social depuis plus de (jours)',
			absenceHorizonDays: 'Absences commençant dans les (jours)',
			renewalGraceDays: 'Renouvellement dépassé de plus de (jours)',
			firstContactDays: 'Inclus sans premier contact depuis plus de (jours)'
		},
		hints: {
			noInclusionDays: 'Par défaut 60.',
			rcpDays: 'Par défaut 42 (six semaines)\u00a0; la fréquence minimale de la trame s’applique si elle est plus courte.',
			socialOrientationDays: 'Par défaut 90, quand il y a eu des inclusions sur la période.',
			absenceHorizonDays: 'Par défaut 30.',
			renewalGraceDays: 'Par défaut 0\u00a0: dès le lendemain de l’échéance.',
			firstContactDays: 'Par défaut 30.'
		}
	},
	notify: {
		title: {
			no_inclusion: 'Alerte — {ms}\u00a0: aucune inclusion depuis {days}\u00a0jours',
			rcp_missing: 'Alerte — {ms}\u00a0: aucune RCP clôturée depuis {days}\u00a0jours',
			no_social_orientation: 'Alerte — {ms}\u00a0: aucune orientation vers le travailleur social depuis {window}\u00a0jours',
			absence_uncovered: 'Alerte — {ms}\u00a0: absence non couverte, {appointments} rendez-vous à déplacer',
			renewals_overdue: { one: 'Alerte — {ms}\u00a0: un renouvellement en retard', many: 'Alerte — {ms}\u00a0: {patients} renouvellements en retard' },
			first_contact_waiting: {
				one: 'Alerte — {ms}\u00a0: un patient sans premier contact depuis plus de {threshold}\u00a0jours',
				many: 'Alerte — {ms}\u00a0: {patients} patients sans premier contact depuis plus de {threshold}\u00a0jours'
			}
		},
		body: 'Voir pourquoi et quoi faire dans les alertes du réseau.'
	}
};
