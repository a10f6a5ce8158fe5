// The RCPs a person sees across their microstructures, for the /rcp overview and the home page:
// live ones first, quorum, cases pending, clashes and a way in for those who take part; for those
// who may only read the schedule (the secretariat), when, where and the visio link, and nothing
// that comes from the agenda (no patient, no count of cases).
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import { can, type Actor } from '../access/policy.ts';
import { listSessions, materialiseSeries, rcpMicrostructures, type SessionSummary } from './sessions.ts';
import { findClashes } from './schedule.ts';
import { livePresence } from '../live.ts';
import { quorum } from '../../rcp/quorum.ts';
import type { Common, OverviewSession } from '../../rcp/overview.ts';
import { addDays } from '../patients/lifecycle.ts';
import { NOT_DISCUSSED_DAYS } from './agenda.ts';

export type { OverviewSession };

/**
 * Series are materialised `SERIES_HORIZON_DAYS` ahead when someone plans or opens them; a page that
 * shows the next `days` only tops up the series that no longer reach that far (one query when all
 * do, instead of one insert per occurrence of every series on every view).
 */
export async function keepSeriesAhead(db: Db, msIds: string[], days: number): Promise<void> {
	if (msIds.length === 0) return;
	const until = new Date(Date.now() + days * 86400_000);
	const stale = await db
		.selectFrom('rcp_series as se')
		.select('se.id')
		.where('se.microstructure_id', 'in', msIds)
		.where('se.ended_at', 'is', null)
		.where((eb) => eb.or([eb('se.until_on', 'is', null), eb('se.until_on', '>=', sql<string>`current_date`)]))
		.where(({ not, exists, selectFrom }) =>
			not(exists(selectFrom('rcp_session as s').select('s.id').whereRef('s.series_id', '=', 'se.id').where('s.starts_at', '>=', until)))
		)
		.execute();
	for (const s of stale) await materialiseSeries(db, s.id);
}

/**
 * Live and upcoming RCPs from `from` to `to` of every microstructure whose schedule the actor may
 * read, soonest first; each says whether the actor takes part ('team') or sees the schedule only.
 */
export async function rcpOverview(db: Db, actor: Actor, from: Date, to: Date): Promise<OverviewSession[]> {
	const visible = await rcpMicrostructures(db, actor, 'rcp.schedule.read');
	const team = new Set(visible.filter((ms) => can(actor, 'rcp.view', { microstructure: ms })).map((ms) => ms.id));
	const days = Math.ceil((to.getTime() - Date.now()) / 86400_000);
	await keepSeriesAhead(db, visible.map((m) => m.id), days);
	const sessions = await listSessions(db, visible.map((m) => m.id), from, to);
	const mine = sessions.filter((s) => team.has(s.microstructure_id));
	const rsvps = mine.length
		? await db
				.selectFrom('rcp_participant as p')
				.innerJoin('app_user as u', 'u.id', 'p.user_id')
				.select(['p.session_id', 'u.first_name', 'u.last_name', 'u.profession'])
				.where('p.session_id', 'in', mine.map((s) => s.id))
				.where('p.rsvp', '=', 'oui')
				.execute()
		: [];
	const clashes = findClashes(mine.map((s) => ({ ...s, startsAt: s.starts_at, endsAt: s.ends_at })));
	// Presence is held in memory by the live layer: asking costs no query.
	const presence = new Map(await Promise.all(mine.filter((s) => s.status === 'en_cours').map(async (s) => [s.id, (await livePresence(s.id)).filter((p) => p.mode === 'participant')] as const)));
	const rows: OverviewSession[] = sessions.map((s) => {
		const common = commonOf(s);
		if (!team.has(s.microstructure_id)) return { ...common, access: 'schedule' };
		const present = presence.get(s.id) ?? rsvps.filter((r) => r.session_id === s.id).map((r) => ({ name: `${r.first_name} ${r.last_name}`, profession: r.profession }));
		const q = quorum(s.template.quorumProfessions, present);
		return {
			...common,
			access: 'team',
			cases: s.cases,
			pending: s.pending,
			quorumMet: q.met,
			missing: q.lines.filter((l) => !l.met).map((l) => l.profession),
			connected: common.live ? present.length : null,
			// One badge per other microstructure, however many of its sessions overlap this one.
			clashes: [...new Set((clashes.get(s.id) ?? []).map((c) => c.microstructure_name))]
		};
	});
	// Live sessions first, then by start.
	return rows.sort((a, b) => Number(b.live) - Number(a.live) || a.startsAt.getTime() - b.startsAt.getTime());
}

function commonOf(s: SessionSummary): Common {
	return {
		id: s.id,
		microstructureId: s.microstructure_id,
		microstructure: s.microstructure_name,
		title: s.title,
		startsAt: s.starts_at,
		endsAt: s.ends_at,
		status: s.status,
		live: s.status === 'en_cours',
		room: s.room_name,
		visioUrl: s.visio_url
	};
}

/**
 * Per microstructure, the active patients whose last RCP (or, never discussed, their inclusion) is
 * more than NOT_DISCUSSED_DAYS old: the quarterly rule the agenda proposes them for. Counts only.
 */
export async function rcpOverdueCounts(db: Db, msIds: string[], today: string): Promise<Map<string, number>> {
	if (msIds.length === 0) return new Map();
	const limit = addDays(today, -NOT_DISCUSSED_DAYS);
	const rows = await db
		.selectFrom('patient as p')
		.select(['p.microstructure_id', (eb) => eb.fn.countAll<string>().as('n')])
		.where('p.microstructure_id', 'in', msIds)
		.where('p.state', 'in', ['inclus', 'en_suivi'])
		.where(sql<boolean>`coalesce((select max(rp.on_date) from rcp_passage rp where rp.patient_id = p.id), p.included_on) < ${limit}::date`)
		.groupBy('p.microstructure_id')
		.execute();
	return new Map(rows.map((r) => [r.microstructure_id, Number(r.n)]));
}
