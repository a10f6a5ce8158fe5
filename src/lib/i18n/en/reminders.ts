import type { PlanningMessages } from '../planning.ts';

export const reminders: PlanningMessages['reminders'] = {
	title: 'Reminders',
	smsUnavailable: 'SMS reminders are not sent: no SMS provider is configured.',
	saved: 'Contact and reminder consent saved.',
	page: {
		title: 'Appointment reminders',
		back: 'Back to the record',
		intro: 'With the patient’s agreement, a reminder goes 48 h before each appointment and on the morning itself. It only gives the date, the time, the practice’s address and the number to cancel: never the motive, the programme or the profession.',
		consentTitle: 'Contact and consent',
		email: 'Patient’s e-mail address',
		phone: 'Patient’s mobile phone',
		reminderEmail: 'The patient agrees to e-mail reminders',
		reminderSms: 'The patient agrees to SMS reminders',
		save: 'Save',
		readOnly: 'Only carers and the coordination may change the consent.',
		upcoming: 'Reminders of the next appointments',
		none: 'No reminder planned.',
		columns: { appointment: 'Appointment', channel: 'Channel', kind: 'When', due: 'Sending', status: 'Status' },
		channels: { email: 'E-mail', sms: 'SMS' },
		kinds: { j_moins_2: '48 h before', matin: 'That morning' },
		statuses: { prevu: 'Planned', envoye: 'Sent', annule: 'Cancelled', non_envoye: 'Not sent' }
	},
	feed: {
		title: 'My calendar on my phone',
		intro: 'A private link to your appointments, your permanences in all your microstructures and the RCPs you attend, to add as a subscription in your phone’s calendar app. Patients appear by their code and initials, never by name.',
		none: 'You have no calendar link.',
		active: 'Link active since {date}.',
		lastUsed: 'Last read by a calendar: {date}.',
		neverUsed: 'No calendar has read it yet.',
		create: 'Create my calendar link',
		regenerate: 'Replace the link',
		regenerateQuestion: 'The old link will stop working. Continue?',
		regenerateConfirm: 'Replace',
		revoke: 'Delete the link',
		revokeQuestion: 'Subscribed calendars will receive nothing more. Delete the link?',
		revokeConfirm: 'Delete',
		cancel: 'Cancel',
		created: 'Your calendar link is ready.',
		urlLabel: 'Subscription link (shown only once)',
		urlHelp: 'Copy it now into your calendar app ("Add subscription" or "From URL"). It is not kept in clear and will not be shown again: if lost, replace it. Do not share it.',
		revoked: 'The calendar link is deleted.',
		nothingToRevoke: 'You had no calendar link.'
	}
};
