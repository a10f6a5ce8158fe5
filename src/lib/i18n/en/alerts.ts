import type { CockpitMessages } from '../cockpit.ts';

export const alerts: CockpitMessages['alerts'] = {
	title: 'Alerts',
	intro: 'Microstructures drifting, checked every morning at 6 am: why, and what to do. An alert goes away by itself once the situation is back to normal.',
	checkNow: 'Check now',
	checking: 'Checking…',
	checked: 'Check done. New alerts: {raised}; resolved: {resolved}.',
	openTitle: 'Alerts to handle',
	openCount: 'Alerts to handle: {n}',
	none: 'No drift: every microstructure of the network is within the thresholds.',
	acknowledgedTitle: 'Acknowledged',
	acknowledgedNone: 'No acknowledged alert still open.',
	acknowledgedBy: 'Acknowledged by {name} on {at}.',
	resolvedTitle: 'Recently resolved',
	resolvedHelp: 'Alerts whose situation went back to normal in the last 30 days.',
	resolvedNone: 'No alert resolved in the last 30 days.',
	resolvedOn: 'Resolved on {at}',
	raisedOn: 'Raised on {at}',
	acknowledge: 'Mark as acknowledged',
	acknowledged: 'Alert marked as acknowledged. It stays listed apart until the situation is back to normal.',
	notFound: 'Alert not found or already resolved.',
	alreadyAcknowledged: 'This alert was already acknowledged.',
	kinds: {
		no_inclusion: 'No inclusion',
		rcp_missing: 'RCP overdue',
		no_social_orientation: 'No referral to the social worker',
		absence_uncovered: 'Absence not covered',
		renewals_overdue: 'Renewals overdue',
		first_contact_waiting: 'First contacts waiting'
	},
	why: {
		no_inclusion: 'Last inclusion on {last}, {days} days ago (threshold: {threshold} days).',
		no_inclusion_never: 'No inclusion since activity started on {since}, {days} days ago (threshold: {threshold} days).',
		rcp_missing: 'Last closed RCP on {last}, {days} days ago (at most {limit} days).',
		rcp_missing_never: 'No closed RCP since activity started on {since}, {days} days ago (at most {limit} days).',
		rcp_frequency: 'The template plans a {frequency} RCP.',
		no_social_orientation: {
			one: 'One inclusion in the last {window} days, not referred to the social worker.',
			many: '{inclusions} inclusions in the last {window} days, none referred to the social worker.'
		},
		no_social_orientation_last: 'Last referral to the social worker on {last}.',
		absence_uncovered: '{professional} away from {from} to {until}: appointments to move: {appointments}.',
		renewals_overdue: {
			one: 'One patient past their renewal date (due on {oldest}).',
			many: '{patients} patients past their renewal date (the oldest was due on {oldest}).'
		},
		first_contact_waiting: {
			one: 'One patient included more than {threshold} days ago without a first contact (included on {oldest}).',
			many: '{patients} patients included more than {threshold} days ago without a first contact (oldest inclusion on {oldest}).'
		}
	},
	todo: {
		no_inclusion: 'See the active patients',
		rcp_missing: 'Plan an RCP',
		no_social_orientation: 'See the permanences',
		absence_uncovered: 'See the appointments to move',
		renewals_overdue: 'See the renewals',
		first_contact_waiting: 'See the patients without a first contact'
	},
	frequencies: {
		hebdomadaire: 'weekly',
		bimensuelle: 'fortnightly',
		mensuelle: 'monthly',
		bimestrielle: 'two-monthly',
		trimestrielle: 'quarterly'
	},
	thresholds: {
		title: 'Network thresholds',
		help: 'The thresholds apply to every microstructure of the network. A whole number of days in each field.',
		save: 'Save the thresholds',
		saved: 'Thresholds saved. They apply from the next check (run just now).',
		range: 'Enter a whole number of days between {min} and {max}.',
		fields: {
			noInclusionDays: 'No inclusion for more than (days)',
			rcpDays: 'No closed RCP for more than (days)',
			socialOrientationDays: 'No referral to the social worker for more than (days)',
			absenceHorizonDays: 'Absences starting within (days)',
			renewalGraceDays: 'Renewal overdue by more than (days)',
			firstContactDays: 'Included without a first contact for more than (days)'
		},
		hints: {
			noInclusionDays: 'Default 60.',
			rcpDays: 'Default 42 (six weeks); the template’s minimum frequency applies when shorter.',
			socialOrientationDays: 'Default 90, when there were inclusions in the period.',
			absenceHorizonDays: 'Default 30.',
			renewalGraceDays: 'Default 0: from the day after the due date.',
			firstContactDays: 'Default 30.'
		}
	},
	notify: {
		title: {
			no_inclusion: 'Alert — {ms}: no inclusion for {days} days',
			rcp_missing: 'Alert — {ms}: no closed RCP for {days} days',
			no_social_orientation: 'Alert — {ms}: no referral to the social worker for {window} days',
			absence_uncovered: 'Alert — {ms}: absence not covered, appointments to move: {appointments}',
			renewals_overdue: { one: 'Alert — {ms}: one renewal overdue', many: 'Alert — {ms}: {patients} renewals overdue' },
			first_contact_waiting: {
				one: 'Alert — {ms}: one patient without a first contact for more than {threshold} days',
				many: 'Alert — {ms}: {patients} patients without a first contact for more than {threshold} days'
			}
		},
		body: 'See why and what to do in the network’s alerts.'
	}
};
