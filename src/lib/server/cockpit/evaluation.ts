// The evaluation export of a network (policy 'cockpit.reports'): what external evaluators need to
// study the programme without being able to tell who the patients are.
//
// Rows are inclusion episodes (an inclusion or a re-inclusion, until its exit or transfer) that
// started in the period. Each holds only coded values: the pseudonymous code, sex, an age band at
// inclusion, programme, motif, orientation, microstructure, days counted from the inclusion (first
// contact, renewals, exit), counts (consultations per profession, missed appointments, RCP
// passages) and the coded exit reason. Never a name, a birth date, a NIR, a phone, an e-mail nor
// any free text (the "autre" exit detail stays in the record). Follow-up is observed up to the end
// of the period, so exporting a past period again gives the same file.
//
// The aggregate tables (inclusions per microstructure × sex, age band, motif, programme,
// orientation) apply the statistical secret: a count of 1 to 4 is not shown, and further cells are
// hidden wherever a total would let someone compute a hidden one back (secondary suppression; the
// microstructures' totals are shared by every table, so they are hidden alike in all of them).
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import type { ExitReason, Motif, Orientation, Profession, Programme } from '../db/schema.ts';
import { can, type Actor } from '../access/policy.ts';
import { parseForm } from '../forms.ts';
import { calendarDate } from '../input.ts';
import { type Locale } from '../../i18n/index.ts';
import { withCockpit } from '../../i18n/cockpit.ts';
import { csvDocument } from '../csv.ts';

// ---------------------------------------------------------------------------------------------
// Period
// ---------------------------------------------------------------------------------------------

export interface Period {
	from: string;
	to: string;
}

/** An evaluation covers at most ten years. */
export const MAX_PERIOD_DAYS = 3660;

const periodSchema = z.object({ from: calendarDate({ min: '2000-01-01' }), to: calendarDate({ min: '2000-01-01' }) });

/**
 * The period of a query string (?from=YYYY-MM-DD&to=YYYY-MM-DD): real calendar days, the end not
 * before the start. Errors are French (or English) field messages, never an exception.
 */
export function parsePeriod(params: URLSearchParams, locale: Locale): { ok: true; period: Period } | { ok: false; errors: Record<string, string>; values: Record<string, string> } {
	const form = new FormData();
	for (const key of ['from', 'to']) {
		const value = params.get(key);
		if (value !== null) form.append(key, value);
	}
	const values = { from: (params.get('from') ?? '').slice(0, 10), to: (params.get('to') ?? '').slice(0, 10) };
	const parsed = parseForm(periodSchema, form, locale);
	if (!parsed.ok) return { ok: false, errors: parsed.failure.data.errors, values };
	if (parsed.data.from > parsed.data.to) return { ok: false, errors: { to: withCockpit(locale).reports.period.inverted }, values };
	if (Date.parse(parsed.data.to) - Date.parse(parsed.data.from) > MAX_PERIOD_DAYS * 86_400_000) return { ok: false, errors: { to: withCockpit(locale).reports.period.tooLong }, values };
	return { ok: true, period: parsed.data };
}

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

export const AGE_BANDS = ['<25', '25-39', '40-54', '55-69', '70+', 'inconnu'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];

/** Whole years between a birth date and a day (both 'YYYY-MM-DD'). */
export function ageOn(birth: string, on: string): number {
	const [by, bm, bd] = birth.split('-').map(Number);
	const [y, m, d] = on.split('-').map(Number);
	return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

export function ageBand(birth: string | null, on: string): AgeBand {
	if (!birth) return 'inconnu';
	const age = ageOn(birth, on);
	if (age < 0) return 'inconnu';
	if (age < 25) return '<25';
	if (age < 40) return '25-39';
	if (age < 55) return '40-54';
	if (age < 70) return '55-69';
	return '70+';
}

const SEXES = ['F', 'M', 'X', 'inconnu'] as const;
const MOTIFS = ['addiction', 'precarite', 'sante_mentale', 'inconnu'] as const satisfies readonly (Motif | 'inconnu')[];
const ORIENTATIONS = ['psychologue', 'travailleur_social', 'les_deux', 'inconnu'] as const satisfies readonly (Orientation | 'inconnu')[];
const PROGRAMMES = ['MSMA', 'MSPC'] as const satisfies readonly Programme[];
const EXIT_REASONS: readonly ExitReason[] = ['amelioration', 'souhait_patient', 'reorientation', 'perdu_de_vue', 'demenagement', 'deces', 'autre'];
/** Professions with a column of their own; any other counts under "autres". */
const CONSULTING: readonly Profession[] = ['medecin_generaliste', 'psychologue', 'travailleur_social', 'psychiatre'];

/** Only a value of the closed list, never what else a JSON detail could hold. */
const coded = <T extends string>(list: readonly T[], value: unknown, otherwise: T): T => (list.includes(value as T) ? (value as T) : otherwise);

export interface EvaluationRow {
	code: string;
	inclusionNumber: number;
	inclusionKind: 'inclusion' | 'reinclusion';
	microstructureId: string;
	microstructure: string;
	programme: Programme;
	sex: (typeof SEXES)[number];
	ageBand: AgeBand;
	motif: (typeof MOTIFS)[number];
	orientation: (typeof ORIENTATIONS)[number];
	firstContactDay: number | null;
	renewalDays: number[];
	exitDay: number | null;
	exitReason: ExitReason | 'transfert' | null;
	consultations: Record<Profession | 'autres', number>;
	noShows: number;
	excused: number;
	rcpPassages: number;
}

interface Episode {
	start: string;
	kind: 'include' | 'reinclude';
	number: number;
	orientation: unknown;
	firstContact: string | null;
	renewals: string[];
	end: string | null;
	exitReason: ExitReason | 'transfert' | null;
}

const days = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

/**
 * The pseudonymised rows of the network's inclusion episodes that started in the period, or null
 * when the actor may not export this network's data.
 */
export async function evaluationRows(db: Db, actor: Actor, networkId: string, period: Period): Promise<EvaluationRow[] | null> {
	if (!can(actor, 'cockpit.reports', { networkId })) return null;
	// Only coded columns are ever selected: nothing identifying can leak into a row by mistake.
	const cohort = await db
		.selectFrom('patient as p')
		.innerJoin('microstructure as m', 'm.id', 'p.microstructure_id')
		.select(['p.id', 'p.code', 'p.sex', 'p.birth_date', 'p.programme', 'p.motif', 'm.id as microstructure_id', 'm.name as microstructure'])
		.where('m.network_id', '=', networkId)
		.where((eb) =>
			eb.exists(
				eb
					.selectFrom('patient_event as e')
					.select('e.id')
					.whereRef('e.patient_id', '=', 'p.id')
					.where('e.kind', 'in', ['include', 'reinclude'])
					.where('e.occurred_on', '>=', period.from)
					.where('e.occurred_on', '<=', period.to)
			)
		)
		.orderBy('m.name')
		.orderBy('p.code')
		.execute();
	if (cohort.length === 0) return [];
	const ids = cohort.map((p) => p.id);
	const [events, appointments, passages] = await Promise.all([
		db
			.selectFrom('patient_event')
			.select(['patient_id', 'kind', 'occurred_on', sql<string | null>`details->>'orientation'`.as('orientation'), sql<string | null>`details->>'reason'`.as('reason')])
			.where('patient_id', 'in', ids)
			.where('kind', 'in', ['include', 'reinclude', 'first_contact', 'renew', 'exit', 'transfer'])
			.where('occurred_on', '<=', period.to)
			.orderBy('patient_id')
			.orderBy('occurred_on')
			.orderBy('recorded_at')
			.execute(),
		db
			.selectFrom('appointment')
			.select(['patient_id', 'profession', 'status', sql<string>`(starts_at at time zone 'Europe/Paris')::date`.as('day')])
			.where('patient_id', 'in', ids)
			.where('status', 'in', ['venu', 'absent', 'excuse'])
			.where(sql<boolean>`(starts_at at time zone 'Europe/Paris')::date <= ${period.to}::date`)
			.execute(),
		db.selectFrom('rcp_passage').select(['patient_id', 'on_date']).where('patient_id', 'in', ids).where('on_date', '<=', period.to).execute()
	]);

	const episodesOf = new Map<string, Episode[]>();
	for (const e of events) {
		let list = episodesOf.get(e.patient_id);
		if (!list) episodesOf.set(e.patient_id, (list = []));
		const current = list.at(-1);
		const open = current && current.end === null ? current : undefined;
		if (e.kind === 'include' || e.kind === 'reinclude') {
			list.push({ start: e.occurred_on, kind: e.kind, number: list.length + 1, orientation: e.orientation, firstContact: null, renewals: [], end: null, exitReason: null });
		} else if (open) {
			if (e.kind === 'first_contact') open.firstContact ??= e.occurred_on;
			else if (e.kind === 'renew') open.renewals.push(e.occurred_on);
			else {
				open.end = e.occurred_on;
				open.exitReason = e.kind === 'transfer' ? 'transfert' : coded(EXIT_REASONS, e.reason, 'autre');
			}
		}
	}
	const within = (ep: Episode, day: string) => day >= ep.start && (ep.end === null || day <= ep.end);
	const byPatient = <T extends { patient_id: string }>(list: T[]) => {
		const map = new Map<string, T[]>();
		for (const x of list) {
			const of = map.get(x.patient_id);
			if (of) of.push(x);
			else map.set(x.patient_id, [x]);
		}
		return map;
	};
	const appointmentsOf = byPatient(appointments);
	const passagesOf = byPatient(passages);

	const rows: EvaluationRow[] = [];
	for (const p of cohort) {
		for (const ep of episodesOf.get(p.id) ?? []) {
			if (ep.start < period.from || ep.start > period.to) continue;
			const consultations = Object.fromEntries([...CONSULTING, 'autres'].map((k) => [k, 0])) as EvaluationRow['consultations'];
			let noShows = 0;
			let excused = 0;
			for (const a of appointmentsOf.get(p.id) ?? []) {
				if (!within(ep, a.day)) continue;
				if (a.status === 'venu') consultations[CONSULTING.includes(a.profession) ? a.profession : 'autres']++;
				else if (a.status === 'absent') noShows++;
				else excused++;
			}
			rows.push({
				code: p.code,
				inclusionNumber: ep.number,
				inclusionKind: ep.kind === 'include' ? 'inclusion' : 'reinclusion',
				microstructureId: p.microstructure_id,
				microstructure: p.microstructure,
				programme: p.programme,
				sex: coded(SEXES, p.sex, 'inconnu'),
				ageBand: ageBand(p.birth_date, ep.start),
				motif: coded(MOTIFS, p.motif, 'inconnu'),
				orientation: coded(ORIENTATIONS, ep.orientation, 'inconnu'),
				firstContactDay: ep.firstContact ? days(ep.start, ep.firstContact) : null,
				renewalDays: ep.renewals.map((d) => days(ep.start, d)),
				exitDay: ep.end ? days(ep.start, ep.end) : null,
				exitReason: ep.exitReason,
				consultations,
				noShows,
				excused,
				rcpPassages: (passagesOf.get(p.id) ?? []).filter((r) => within(ep, r.on_date)).length
			});
		}
	}
	return rows;
}

export const EVALUATION_HEADER = [
	'code_pseudonyme',
	'numero_inclusion',
	'type_inclusion',
	'microstructure',
	'programme',
	'sexe',
	'tranche_age_inclusion',
	'motif',
	'orientation',
	'j_premier_contact',
	'nb_renouvellements',
	'j_renouvellements',
	'j_sortie',
	'motif_sortie',
	'consultations_medecin_generaliste',
	'consultations_psychologue',
	'consultations_travailleur_social',
	'consultations_psychiatre',
	'consultations_autres',
	'rdv_non_honores',
	'rdv_excuses',
	'passages_rcp'
];

export function evaluationCsv(rows: EvaluationRow[], period: Period, networkName: string, locale: Locale): string {
	const t = withCockpit(locale).reports.evaluation;
	return csvDocument(
		[`${t.csvTitle} — ${networkName} — ${period.from} → ${period.to}`, ...t.csvColumns],
		EVALUATION_HEADER,
		rows.map((r) => [
			r.code,
			r.inclusionNumber,
			r.inclusionKind,
			r.microstructure,
			r.programme,
			r.sex,
			r.ageBand,
			r.motif,
			r.orientation,
			r.firstContactDay,
			r.renewalDays.length,
			r.renewalDays.join(' '),
			r.exitDay,
			r.exitReason ?? '',
			r.consultations.medecin_generaliste,
			r.consultations.psychologue,
			r.consultations.travailleur_social,
			r.consultations.psychiatre,
			r.consultations.autres,
			r.noShows,
			r.excused,
			r.rcpPassages
		])
	);
}

// ---------------------------------------------------------------------------------------------
// Aggregates with the statistical secret
// ---------------------------------------------------------------------------------------------

/** Counts from 1 to this are never shown. */
export const SMALL_CELL_MAX = 4;

export type Suppression = null | 'small' | 'secondary';

export interface Cell {
	value: number;
	/** 'small': 1 to 4; 'secondary': hidden so that no total gives a small one back. */
	suppressed: Suppression;
	/** A margin's role, for the choice of which cell to hide next. */
	role: 'inner' | 'margin' | 'shared';
}

export interface AggregateTable {
	dimension: 'sexe' | 'tranche_age' | 'motif' | 'programme' | 'orientation';
	categories: string[];
	rows: { microstructureId: string; microstructure: string; cells: Cell[]; total: Cell }[];
	totals: Cell[];
	grand: Cell;
}

const cell = (value: number, role: Cell['role']): Cell => ({ value, role, suppressed: value >= 1 && value <= SMALL_CELL_MAX ? 'small' : null });

/**
 * Hides, in every line (cells that add up to a shown or hidden total) that has exactly one hidden
 * entry, one more: otherwise the hidden one is the total minus the others. Picks the smallest
 * non-zero inner cell, then a table's own non-zero total, then a zero, and a shared total (the
 * microstructures' totals and the grand total, hidden alike in every table) only when nothing
 * else is left. Returns whether anything was hidden.
 */
export function protectLines(lines: Cell[][]): boolean {
	let changed = false;
	for (let again = true; again; ) {
		again = false;
		for (const line of lines) {
			if (line.filter((c) => c.suppressed).length !== 1) continue;
			const open = line.filter((c) => !c.suppressed);
			// A zero hidden protects little (it is the first guess): positive counts first.
			const rank = (c: Cell) => (c.role === 'shared' ? 4 : 0) + (c.value > 0 ? 0 : 2) + (c.role === 'margin' ? 1 : 0);
			const pick = open.sort((a, b) => rank(a) - rank(b) || a.value - b.value)[0];
			if (!pick) continue;
			pick.suppressed = 'secondary';
			again = changed = true;
		}
	}
	return changed;
}

type Dimension = AggregateTable['dimension'];
const DIMENSIONS: { dimension: Dimension; categories: readonly string[]; of: (r: EvaluationRow) => string }[] = [
	{ dimension: 'sexe', categories: SEXES, of: (r) => r.sex },
	{ dimension: 'tranche_age', categories: AGE_BANDS, of: (r) => r.ageBand },
	{ dimension: 'motif', categories: MOTIFS, of: (r) => r.motif },
	{ dimension: 'programme', categories: PROGRAMMES, of: (r) => r.programme },
	{ dimension: 'orientation', categories: ORIENTATIONS, of: (r) => r.orientation }
];

/**
 * Inclusions per microstructure (every microstructure of the network, even without inclusions)
 * crossed with each dimension, small cells and what would reveal them hidden.
 */
export function aggregateTables(rows: EvaluationRow[], microstructures: { id: string; name: string }[]): AggregateTable[] {
	const all = [...microstructures];
	for (const r of rows) if (!all.some((m) => m.id === r.microstructureId)) all.push({ id: r.microstructureId, name: r.microstructure });
	const perMs = (id: string) => rows.filter((r) => r.microstructureId === id);
	// The microstructures' totals and the grand total are the same numbers in every table: one
	// cell object each, so that hiding one hides it everywhere.
	const shared = new Map(all.map((m) => [m.id, cell(perMs(m.id).length, 'shared')]));
	const grand = cell(rows.length, 'shared');
	const tables: AggregateTable[] = DIMENSIONS.map(({ dimension, categories, of }) => ({
		dimension,
		categories: [...categories],
		rows: all.map((m) => ({
			microstructureId: m.id,
			microstructure: m.name,
			cells: categories.map((c) => cell(perMs(m.id).filter((r) => of(r) === c).length, 'inner')),
			total: shared.get(m.id)!
		})),
		totals: categories.map((c) => cell(rows.filter((r) => of(r) === c).length, 'margin')),
		grand
	}));
	const linesOf = (t: AggregateTable): Cell[][] => [
		...t.rows.map((r) => [...r.cells, r.total]),
		...t.categories.map((_, j) => [...t.rows.map((r) => r.cells[j]), t.totals[j]]),
		[...t.totals, t.grand],
		[...t.rows.map((r) => r.total), t.grand]
	];
	// Until no table hides anything more: a shared total hidden for one table must be protected in
	// the tables already processed too.
	for (let changed = true; changed; ) {
		changed = false;
		for (const t of tables) if (protectLines(linesOf(t))) changed = true;
	}
	return tables;
}

/** The aggregate tables as one long CSV (table, microstructure, category, count): blank where hidden. */
export function aggregatesCsv(tables: AggregateTable[], period: Period, networkName: string, locale: Locale): string {
	const t = withCockpit(locale).reports.evaluation;
	const rows: (string | number | null)[][] = [];
	const value = (c: Cell) => (c.suppressed ? null : c.value);
	for (const table of tables) {
		for (const r of table.rows) {
			table.categories.forEach((c, j) => rows.push([table.dimension, r.microstructure, c, value(r.cells[j])]));
			rows.push([table.dimension, r.microstructure, 'total', value(r.total)]);
		}
		table.categories.forEach((c, j) => rows.push([table.dimension, 'total', c, value(table.totals[j])]));
		rows.push([table.dimension, 'total', 'total', value(table.grand)]);
	}
	return csvDocument([`${t.aggregatesTitle} — ${networkName} — ${period.from} → ${period.to}`, ...t.aggregatesColumns], ['tableau', 'microstructure', 'modalite', 'inclusions'], rows);
}

/** The network's microstructures (archived ones too: they may have had inclusions in the period). */
export function networkMicrostructures(db: Db, networkId: string) {
	return db.selectFrom('microstructure').select(['id', 'name', 'archived_at']).where('network_id', '=', networkId).orderBy('name').execute();
}
