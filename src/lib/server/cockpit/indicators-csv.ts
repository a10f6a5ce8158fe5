// The cockpit's figures as a CSV file for French spreadsheets, through the app's one CSV writer
// (server/csv.ts: UTF-8 with a byte-order mark, ';', CRLF, no cell run as a formula); numbers with a
// decimal comma and no thousands separator. The header is the first line (no comment lines).
//
// Columns:
//   code         stable machine name of the indicator (e.g. file_active, exit_deces, age_a25_39,
//                inclusions_2026-03), for scripts that read the file;
//   indicateur   its French label;
//   one column per microstructure (or network, on the national view), named after it, in the
//   order of the page; then Total.
// Rows: the comparison table of the page (INDICATOR_ROWS: counts, shares in % with one decimal,
// per-patient ratios with two decimals, median days with one decimal; empty when there is no
// denominator), then exits by reason (exit_*), age bands at inclusion (age_*), orientations at
// inclusion (orientation_*), wait to first contact (wait_*) and inclusions by month (inclusions_YYYY-MM).
// No patient-level data: the overdue patients' codes stay on the page.
import { INDICATOR_ROWS, type RowKind } from '../../components/cockpit/rows.ts';
import type { WithCockpit as Messages } from '../../i18n/cockpit.ts';
import { csvDocument } from '../csv.ts';
import { AGE_BANDS, EXIT_REASONS, ORIENTATIONS, WAIT_BUCKETS, type Indicators, type UnitIndicators } from './indicators.ts';

const DIGITS: Record<RowKind, number> = { int: 0, percent: 1, decimal: 2, days: 1 };

function number(value: number | null, kind: RowKind): string {
	if (value === null || !Number.isFinite(value)) return '';
	const v = kind === 'percent' ? value * 100 : value;
	const factor = 10 ** DIGITS[kind];
	return String(Math.round(v * factor) / factor).replace('.', ',');
}

export function indicatorsCsv(indicators: Indicators, t: Messages['cockpit']): string {
	const units: UnitIndicators[] = [...indicators.units, indicators.total];
	const header = ['code', 'indicateur', ...indicators.units.map((u) => u.name), t.comparison.total];
	const lines: string[][] = [];
	const add = (code: string, label: string, kind: RowKind, value: (u: UnitIndicators) => number | null) =>
		lines.push([code, label, ...units.map((u) => number(value(u), kind))]);

	for (const row of INDICATOR_ROWS) add(row.code, t.rows[row.code], row.kind, row.value);
	for (const r of EXIT_REASONS) add(`exit_${r}`, `${t.charts.exitsByReason} — ${t.exitReasons[r]}`, 'int', (u) => u.exitsByReason[r]);
	for (const b of AGE_BANDS) add(`age_${b}`, `${t.charts.ageBands} — ${t.ageBands[b]}`, 'int', (u) => u.ageBands[b]);
	for (const o of ORIENTATIONS) add(`orientation_${o}`, `${t.charts.orientations} — ${t.orientations[o]}`, 'int', (u) => u.orientations[o]);
	for (const b of WAIT_BUCKETS) add(`wait_${b}`, `${t.charts.wait} — ${t.waitBuckets[b]}`, 'int', (u) => u.firstContact.buckets[b]);
	for (const m of indicators.inclusionsByMonth) {
		lines.push([`inclusions_${m.month}`, `${t.charts.inclusionsByMonth} — ${m.month}`, ...indicators.units.map((u) => String(m.byUnit[u.id] ?? 0)), String(m.total)]);
	}
	return csvDocument([], header, lines);
}
