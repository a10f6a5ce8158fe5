import { getDb } from '$lib/server/db';
import { audit } from '$lib/server/audit/audit';
import { cockpitNetwork } from '$lib/server/cockpit/guard';
import { auditContext, notFound } from '$lib/server/request';
import { parisToday } from '$lib/server/patients/lifecycle';
import { activityReport, reportYears } from '$lib/server/cockpit/activity-report';
import { renderResponse } from '$lib/server/render/http';
import { } from '$lib/i18n';
import { withCockpit } from '$lib/i18n/cockpit';
import { periodRefusal } from '../period';

// The yearly activity report: the figures are computed here (SQL), the PDF with its charts is laid
// out in a render worker, off the event loop. Audited.
export async function GET(event) {
	const { user, actor, network } = await cockpitNetwork(event, 'cockpit.reports');
	const db = getDb();
	const today = parisToday();
	const raw = event.url.searchParams.get('year') ?? '';
	const year = /^\d{4}$/.test(raw) ? Number(raw) : NaN;
	if (!(await reportYears(db, network.id, today)).includes(year)) return periodRefusal({ year: withCockpit(event.locals.locale).reports.activity.badYear });
	const report = await activityReport(db, actor, { id: network.id, name: network.name }, year, today);
	if (!report) notFound();
	await audit(db, { ...auditContext(event), actorId: user.id }, { action: 'report.activity', targetType: 'network', targetId: network.id, networkId: network.id, details: { year } });
	return renderResponse('activityReportPdf', { report, locale: event.locals.locale }, {
		locale: event.locals.locale,
		headers: {
			'content-type': 'application/pdf',
			'content-disposition': `attachment; filename="rapport-activite-${year}.pdf"`,
			'cache-control': 'no-store'
		}
	});
}
