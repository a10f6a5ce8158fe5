// The care pathway as an explicit state machine: orienté → inclus → en suivi → (renouvelé each
// year) → sorti, plus transfert and ré-inclusion. Pure functions: every channel (form action,
// socket, RCP decision later) goes through `applyAction`, which refuses invalid steps in French.
import type { ConsentMethod, ExitReason, Orientation, Patient, PatientState } from '../db/schema.ts';
import { parisDay } from '../../i18n/formatters.ts';

/** The pathway part of a patient record: what the state machine reads and writes. */
export type Pathway = Pick<
	Patient,
	| 'state'
	| 'oriented_on'
	| 'included_on'
	| 'renewal_due_on'
	| 'first_contact_on'
	| 'last_contact_on'
	| 'exited_on'
	| 'exit_reason'
	| 'consent_on'
	| 'consent_method'
	| 'orientation'
>;

export interface Consent {
	on: string;
	method: ConsentMethod;
}

export type Action =
	| { kind: 'include'; on: string; orientation: Orientation; consent: Consent }
	| { kind: 'first_contact'; on: string }
	| { kind: 'contact'; on: string }
	| { kind: 'renew'; on: string }
	| { kind: 'exit'; on: string; reason: ExitReason; detail?: string }
	| { kind: 'transfer'; on: string; toMicrostructureId: string }
	| { kind: 'reinclude'; on: string; orientation: Orientation; consent: Consent };

export type ActionKind = Action['kind'];

/** Which states each action may start from. */
export const ALLOWED_FROM: Record<ActionKind, PatientState[]> = {
	include: ['oriente'],
	first_contact: ['inclus'],
	contact: ['en_suivi'],
	renew: ['inclus', 'en_suivi'],
	exit: ['oriente', 'inclus', 'en_suivi'],
	transfer: ['inclus', 'en_suivi'],
	reinclude: ['sorti']
};

export const STATE_LABELS: Record<PatientState, string> = {
	oriente: 'orienté',
	inclus: 'inclus',
	en_suivi: 'en suivi',
	sorti: 'sorti',
	transfere: 'transféré'
};

const ACTION_LABELS: Record<ActionKind, string> = {
	include: "L'inclusion",
	first_contact: 'Le premier contact',
	contact: 'Un contact',
	renew: 'Le renouvellement',
	exit: 'La fin de suivi',
	transfer: 'Le transfert',
	reinclude: 'La ré-inclusion'
};

/** A renewal may be recorded up to this many days before its due date. */
export const RENEWAL_WINDOW_DAYS = 60;

export type Result =
	| { ok: true; patch: Partial<Pathway>; event: { kind: ActionKind; occurred_on: string; details: Record<string, unknown> } }
	| { ok: false; error: string };

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export function isIsoDate(value: string): boolean {
	if (!ISO_DATE.test(value)) return false;
	const d = new Date(`${value}T00:00:00Z`);
	return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** The same day `years` later (29 February becomes 28 February). */
export function addYears(date: string, years: number): string {
	const [y, m, d] = date.split('-').map(Number);
	const target = new Date(Date.UTC(y + years, m - 1, d));
	if (target.getUTCMonth() !== m - 1) target.setUTCDate(0);
	return target.toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
	const d = new Date(`${date}T00:00:00Z`);
	d.setUTCDate(d.getUTCDate() + days);
	return d.toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): number {
	return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** Today in France, as 'YYYY-MM-DD'. */
export function parisToday(now = new Date()): string {
	return parisDay(now);
}

function latest(...dates: (string | null)[]): string | null {
	return dates.filter((d): d is string => d !== null).sort().at(-1) ?? null;
}

export const EMPTY_PATHWAY: Pathway = {
	state: 'oriente',
	oriented_on: null,
	included_on: null,
	renewal_due_on: null,
	first_contact_on: null,
	last_contact_on: null,
	exited_on: null,
	exit_reason: null,
	consent_on: null,
	consent_method: null,
	orientation: null
};

/** A new record: oriented only, or included at once (the usual GP flow). */
export function startPathway(
	start: { kind: 'orient'; on: string } | Extract<Action, { kind: 'include' }>,
	today: string
): { ok: true; pathway: Pathway; event: { kind: string; occurred_on: string; details: Record<string, unknown> } } | { ok: false; error: string } {
	if (!isIsoDate(start.on)) return { ok: false, error: 'Date invalide.' };
	if (start.on > today) return { ok: false, error: 'La date ne peut pas être dans le futur.' };
	const oriented: Pathway = { ...EMPTY_PATHWAY, oriented_on: start.on };
	if (start.kind === 'orient') return { ok: true, pathway: oriented, event: { kind: 'orient', occurred_on: start.on, details: {} } };
	const result = applyAction(oriented, start, today);
	if (!result.ok) return result;
	return { ok: true, pathway: { ...oriented, ...result.patch }, event: result.event };
}

function checkConsent(consent: Consent, on: string, today: string): string | null {
	if (!isIsoDate(consent.on)) return 'Date du consentement invalide.';
	if (consent.on > today) return 'Le consentement ne peut pas être daté dans le futur.';
	if (consent.on > on) return "Le consentement doit être recueilli au plus tard le jour de l'inclusion.";
	return null;
}

export function applyAction(p: Pathway, action: Action, today: string): Result {
	if (!ALLOWED_FROM[action.kind].includes(p.state)) {
		return { ok: false, error: `${ACTION_LABELS[action.kind]} n'est pas possible pour un patient ${STATE_LABELS[p.state]}.` };
	}
	if (!isIsoDate(action.on)) return { ok: false, error: 'Date invalide.' };
	if (action.on > today) return { ok: false, error: 'La date ne peut pas être dans le futur.' };
	const floor =
		action.kind === 'reinclude' ? p.exited_on : latest(p.oriented_on, p.included_on, p.first_contact_on, p.last_contact_on);
	if (floor && action.on < floor) {
		return { ok: false, error: `La date ne peut pas précéder la dernière étape du parcours (${floor}).` };
	}
	switch (action.kind) {
		case 'include':
		case 'reinclude': {
			const consentError = checkConsent(action.consent, action.on, today);
			if (consentError) return { ok: false, error: consentError };
			return {
				ok: true,
				patch: {
					state: 'inclus',
					included_on: action.on,
					renewal_due_on: addYears(action.on, 1),
					orientation: action.orientation,
					consent_on: action.consent.on,
					consent_method: action.consent.method,
					first_contact_on: null,
					last_contact_on: null,
					exited_on: null,
					exit_reason: null
				},
				event: { kind: action.kind, occurred_on: action.on, details: { orientation: action.orientation, consent: action.consent } }
			};
		}
		case 'first_contact':
			return {
				ok: true,
				patch: { state: 'en_suivi', first_contact_on: action.on, last_contact_on: action.on },
				event: { kind: 'first_contact', occurred_on: action.on, details: {} }
			};
		case 'contact':
			return { ok: true, patch: { last_contact_on: action.on }, event: { kind: 'contact', occurred_on: action.on, details: {} } };
		case 'renew': {
			const due = p.renewal_due_on!;
			if (daysBetween(action.on, due) > RENEWAL_WINDOW_DAYS) {
				return { ok: false, error: `Le renouvellement n'est possible qu'à partir de ${RENEWAL_WINDOW_DAYS} jours avant l'échéance (${due}).` };
			}
			return { ok: true, patch: { renewal_due_on: addYears(due, 1) }, event: { kind: 'renew', occurred_on: action.on, details: { period_from: due } } };
		}
		case 'exit':
			if (action.reason === 'autre' && !action.detail?.trim()) return { ok: false, error: 'Précisez le motif de fin de suivi.' };
			return {
				ok: true,
				patch: { state: 'sorti', exited_on: action.on, exit_reason: action.reason, renewal_due_on: null },
				event: { kind: 'exit', occurred_on: action.on, details: { reason: action.reason, ...(action.detail?.trim() ? { detail: action.detail.trim() } : {}) } }
			};
		case 'transfer':
			return {
				ok: true,
				patch: { state: 'transfere', exited_on: action.on, renewal_due_on: null },
				event: { kind: 'transfer', occurred_on: action.on, details: { to: action.toMicrostructureId } }
			};
	}
}

/** Invariants every stored pathway satisfies (checked by the property tests). */
export function pathwayProblems(p: Pathway): string[] {
	const problems: string[] = [];
	const active = p.state === 'inclus' || p.state === 'en_suivi';
	if (active && (!p.included_on || !p.renewal_due_on || !p.consent_on || !p.orientation)) problems.push('active without inclusion data');
	if (active && p.exited_on) problems.push('active with an exit date');
	if (p.state === 'en_suivi' && !p.first_contact_on) problems.push('en suivi without first contact');
	if (p.state === 'inclus' && p.first_contact_on) problems.push('inclus with a first contact');
	if (p.state === 'sorti' && (!p.exited_on || !p.exit_reason)) problems.push('sorti without exit');
	if (p.state === 'transfere' && !p.exited_on) problems.push('transferred without date');
	if (!active && p.renewal_due_on) problems.push('renewal due while inactive');
	if (p.included_on && p.renewal_due_on && p.renewal_due_on <= p.included_on) problems.push('renewal before inclusion');
	if (p.consent_on && p.included_on && p.consent_on > p.included_on) problems.push('consent after inclusion');
	return problems;
}
