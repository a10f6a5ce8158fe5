// French messages of the reminders and calendar-feed pages (one file per domain, so that the
// dictionary grows without every feature editing the same file). fr.ts assembles them.
export const reminders = {
	title: 'Rappels',
	/** The booking screen, when a patient agreed to SMS reminders but no provider is configured. */
	smsUnavailable: 'Les rappels par SMS ne sont pas envoyés\u00a0: aucun fournisseur SMS n’est configuré.',
	saved: 'Contact et consentement aux rappels enregistrés.',
	page: {
		title: 'Rappels de rendez-vous',
		back: 'Retour au dossier',
		intro: 'Avec l’accord du patient, un rappel part 48\u00a0h avant chaque rendez-vous et le matin même. Il ne dit que la date, l’heure, l’adresse du cabinet et le numéro pour annuler\u00a0: jamais le motif, le programme ni la profession.',
		consentTitle: 'Contact et consentement',
		email: 'Adresse e-mail du patient',
		phone: 'Téléphone portable du patient',
		reminderEmail: 'Le patient accepte les rappels par e-mail',
		reminderSms: 'Le patient accepte les rappels par SMS',
		save: 'Enregistrer',
		readOnly: 'Seuls les soignants et la coordination peuvent modifier le consentement.',
		upcoming: 'Rappels des prochains rendez-vous',
		none: 'Aucun rappel prévu.',
		columns: { appointment: 'Rendez-vous', channel: 'Canal', kind: 'Moment', due: 'Envoi', status: 'État' },
		channels: { email: 'E-mail', sms: 'SMS' } as Record<string, string>,
		kinds: { j_moins_2: '48\u00a0h avant', matin: 'Le matin même' } as Record<string, string>,
		statuses: { prevu: 'Prévu', envoye: 'Envoyé', annule: 'Annulé', non_envoye: 'Non envoyé' } as Record<string, string>
	},
	feed: {
		title: 'Mon agenda sur mon téléphone',
		intro: 'Un lien privé vers vos rendez-vous, vos permanences dans toutes vos microstructures et les RCP auxquelles vous participez, à ajouter comme abonnement dans l’application agenda de votre téléphone. Les patients y figurent par leur code et leurs initiales, jamais par leur nom.',
		none: 'Vous n’avez pas de lien d’agenda.',
		active: 'Lien actif depuis le {date}.',
		lastUsed: 'Dernière lecture par un agenda\u00a0: {date}.',
		neverUsed: 'Aucun agenda ne l’a encore lu.',
		create: 'Créer mon lien d’agenda',
		regenerate: 'Remplacer le lien',
		regenerateQuestion: 'L’ancien lien cessera de fonctionner. Continuer\u00a0?',
		regenerateConfirm: 'Remplacer',
		revoke: 'Supprimer le lien',
		revokeQuestion: 'Les agendas abonnés ne recevront plus rien. Supprimer le lien\u00a0?',
		revokeConfirm: 'Supprimer',
		cancel: 'Annuler',
		created: 'Votre lien d’agenda est prêt.',
		urlLabel: 'Lien d’abonnement (affiché une seule fois)',
		urlHelp: 'Copiez-le maintenant dans votre application agenda («\u00a0Ajouter un abonnement\u00a0» ou «\u00a0À partir d’une URL\u00a0»). Il n’est pas conservé en clair et ne sera plus affiché\u00a0: en cas de perte, remplacez-le. Ne le partagez pas.',
		revoked: 'Le lien d’agenda est supprimé.',
		nothingToRevoke: 'Vous n’aviez pas de lien d’agenda.'
	}
};
