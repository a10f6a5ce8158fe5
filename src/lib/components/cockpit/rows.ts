// The indicators laid out as rows (one value per unit): the comparison table of the cockpit pages
// and the CSV export read this one list, so the screen and the file always show the same figures.
import type { UnitIndicators } from '../../server/cockpit/indicators.ts';
import type { WithCockpit as Messages } from '../../i18n/cockpit.ts';
import { dateFormat, localeTag, numberFormat } from '../../i18n/formatters.ts';

export type RowKind = 'int' | 'percent' | 'decimal' | 'days';
export type RowCode = keyof Messages['cockpit']['rows'];

export interface IndicatorRow {
	/** Stable machine name (the CSV's first column). */
	code: RowCode;
	kind: RowKind;
	value: (u: UnitIndicators) => number | null;
}

export const INDICATOR_ROWS: IndicatorRow[] = [
	{ code: 'file_active', kind: 'int', value: (u) => u.fileActive },
	{ code: 'inclusions', kind: 'int', value: (u) => u.inclusions },
	{ code: 'reinclusions', kind: 'int', value: (u) => u.reinclusions },
	{ code: 'renewals', kind: 'int', value: (u) => u.renewals },
	{ code: 'exits', kind: 'int', value: (u) => u.exits },
	{ code: 'transfers', kind: 'int', value: (u) => u.transfers },
	{ code: 'included_patients', kind: 'int', value: (u) => u.includedPatients },
	{ code: 'women_share', kind: 'percent', value: (u) => u.womenShare },
	{ code: 'precarite_share', kind: 'percent', value: (u) => u.precariteShare },
	{ code: 'consultations_psychologue', kind: 'int', value: (u) => u.consultations.psychologue },
	{ code: 'consultations_travailleur_social', kind: 'int', value: (u) => u.consultations.travailleur_social },
	{ code: 'consultations_psychiatre', kind: 'int', value: (u) => u.consultations.psychiatre },
	{ code: 'per_patient_psychologue', kind: 'decimal', value: (u) => u.consultationsPerPatient.psychologue },
	{ code: 'per_patient_travailleur_social', kind: 'decimal', value: (u) => u.consultationsPerPatient.travailleur_social },
	{ code: 'per_patient_psychiatre', kind: 'decimal', value: (u) => u.consultationsPerPatient.psychiatre },
	{ code: 'wait_median', kind: 'days', value: (u) => u.firstContact.medianDays },
	{ code: 'appointments_venu', kind: 'int', value: (u) => u.appointments.venu },
	{ code: 'appointments_absent', kind: 'int', value: (u) => u.appointments.absent },
	{ code: 'appointments_excuse', kind: 'int', value: (u) => u.appointments.excuse },
	{ code: 'no_show_rate', kind: 'percent', value: (u) => u.appointments.noShowRate },
	{ code: 'rcp_held', kind: 'int', value: (u) => u.rcp.held },
	{ code: 'rcp_expected', kind: 'int', value: (u) => u.rcp.expected },
	{ code: 'rcp_passages', kind: 'int', value: (u) => u.rcp.passages },
	{ code: 'rcp_passages_per_patient', kind: 'decimal', value: (u) => u.rcp.passagesPerPatient },
	{ code: 'rcp_overdue', kind: 'int', value: (u) => u.rcp.overdue },
	{ code: 'missing_psychologue', kind: 'int', value: (u) => u.missingMonths.psychologue },
	{ code: 'missing_travailleur_social', kind: 'int', value: (u) => u.missingMonths.travailleur_social }
];

const DIGITS: Record<RowKind, number> = { int: 0, percent: 1, decimal: 2, days: 1 };

/** A row's value as French (or English) text; '—' when there is no denominator. */
export function formatValue(value: number | null, kind: RowKind, locale: 'fr' | 'en', none = '—'): string {
	if (value === null || Number.isNaN(value)) return none;
	const v = kind === 'percent' ? value * 100 : value;
	const digits = DIGITS[kind];
	// French groups thousands with a narrow no-break space; plain no-break spaces read better in tables.
	return numberFormat(localeTag(locale), { minimumFractionDigits: 0, maximumFractionDigits: digits }).format(v).replace(/\u202f/g, '\u00a0');
}

/** A share as a percentage with its sign ("42,5 %"). */
export function formatPercent(value: number | null, locale: 'fr' | 'en', none = '—'): string {
	if (value === null) return none;
	return `${formatValue(value, 'percent', locale)}${locale === 'en' ? '%' : '\u00a0%'}`;
}

/** 'YYYY-MM' as a month in words ("mars 2026"). */
export function formatMonth(month: string, locale: 'fr' | 'en', style: 'long' | 'short' = 'long'): string {
	const date = new Date(`${month}-15T12:00:00Z`);
	return dateFormat(localeTag(locale), { month: style, year: 'numeric', timeZone: 'UTC' }).format(date);
}
