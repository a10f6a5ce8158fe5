// The cockpit's filters, read from the query string of a GET form (the page and its CSV export use
// the same parameters): period, programme, and the microstructures (or networks, on the national
// view) chosen among those the page offers. Anything wrong gives a French message per field and no
// filter, so that nothing is computed with it; nothing here can throw.
import { z } from 'zod';
import { type Locale } from '../../i18n/index.ts';
import { withCockpit } from '../../i18n/cockpit.ts';
import type { Programme } from '../db/schema.ts';
import { calendarDate } from '../input.ts';
import { addDays, addYears } from '../patients/lifecycle.ts';

/** Longest period: five years (the first day plus five years, exclusive). */
export const MAX_PERIOD_YEARS = 5;

/** What the form shows back (the values as typed, bounded). */
export interface FilterValues {
	from: string;
	to: string;
	programme: string;
	/** The chosen ids (microstructures, or networks on the national view). */
	ids: string[];
}

export type ParsedIndicatorQuery =
	| { ok: true; values: FilterValues; from: string; to: string; programme: Programme | null; ids: string[] }
	| { ok: false; values: FilterValues; errors: Partial<Record<'from' | 'to' | 'programme' | 'ids', string>> };

const date = calendarDate();
const uuid = z.uuid();

/**
 * Reads the filters. `idParam` is the name of the multi-valued parameter (`ms` or `reseau`); an empty
 * choice means every id of `allowedIds`, and each chosen id must be one of them.
 */
export function parseIndicatorQuery(
	params: URLSearchParams,
	options: { allowedIds: string[]; idParam: string; today: string; locale: Locale }
): ParsedIndicatorQuery {
	const t = withCockpit(options.locale).cockpit.errors;
	const year = options.today.slice(0, 4);
	// Checked as sent (bounded); shown back in the form well-formed and without control characters.
	const get = (name: string) => (params.get(name) ?? '').slice(0, 100).trim();
	const sent = { from: get('from') || `${year}-01-01`, to: get('to') || options.today, programme: get('programme') };
	// eslint-disable-next-line no-control-regex
	const clean = (v: string) => v.toWellFormed().replace(/[\u0000-\u001f\u007f]/g, '');
	const values: FilterValues = {
		from: clean(sent.from),
		to: clean(sent.to),
		programme: clean(sent.programme),
		ids: params.getAll(options.idParam).slice(0, 1001).map((v) => v.slice(0, 100))
	};
	const errors: Partial<Record<'from' | 'to' | 'programme' | 'ids', string>> = {};
	const from = date.safeParse(sent.from);
	const to = date.safeParse(sent.to);
	if (!from.success) errors.from = t.date;
	if (!to.success) errors.to = t.date;
	if (from.success && to.success) {
		if (to.data < from.data) errors.to = t.inverted;
		else if (to.data > addDays(addYears(from.data, MAX_PERIOD_YEARS), -1)) errors.to = t.tooLong;
	}
	const programme = sent.programme === '' ? null : sent.programme === 'MSMA' || sent.programme === 'MSPC' ? sent.programme : undefined;
	if (programme === undefined) errors.programme = t.programme;
	const allowed = new Set(options.allowedIds);
	const ids = [...new Set(values.ids)];
	if (ids.length > allowed.size || ids.some((id) => !uuid.safeParse(id).success || !allowed.has(id))) {
		errors.ids = options.idParam === 'ms' ? t.microstructure : t.network;
	}
	if (Object.keys(errors).length || !from.success || !to.success || programme === undefined) return { ok: false, values, errors };
	return { ok: true, values, from: from.data, to: to.data, programme, ids: ids.length ? ids : [...options.allowedIds] };
}
