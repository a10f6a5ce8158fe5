// Reports and exports of a network (policy 'cockpit.reports'): the evaluation export for a period
// (its aggregate tables shown here, the pseudonymised rows and the tables as CSV) and the yearly
// activity report as a PDF.
import { getDb } from '$lib/server/db';
import { cockpitNetwork } from '$lib/server/cockpit/guard';
import { notFound } from '$lib/server/request';
import { parisToday } from '$lib/server/patients/lifecycle';
import { aggregateTables, evaluationRows, networkMicrostructures, parsePeriod } from '$lib/server/cockpit/evaluation';
import { reportYears } from '$lib/server/cockpit/activity-report';

export async function load(event) {
	const { actor, network } = await cockpitNetwork(event, 'cockpit.reports');
	const db = getDb();
	const today = parisToday();
	const params = event.url.searchParams;
	// No period asked yet: this year so far.
	const asked = params.has('from') || params.has('to');
	const parsed = asked ? parsePeriod(params, event.locals.locale) : parsePeriod(new URLSearchParams({ from: `${today.slice(0, 4)}-01-01`, to: today }), event.locals.locale);
	const years = await reportYears(db, network.id, today);
	const currentYear = Number(today.slice(0, 4));
	const report = { years, selected: years.includes(currentYear - 1) ? currentYear - 1 : years[0] };
	if (!parsed.ok) return { period: parsed.values, periodErrors: parsed.errors, evaluation: null, report };
	const [rows, microstructures] = await Promise.all([evaluationRows(db, actor, network.id, parsed.period), networkMicrostructures(db, network.id)]);
	if (!rows) notFound();
	// Only counts leave the server for this page: no row, no code.
	const tables = aggregateTables(rows, microstructures.filter((m) => m.archived_at === null));
	return { period: parsed.period, periodErrors: {} as Record<string, string>, evaluation: { count: rows.length, tables }, report };
}
