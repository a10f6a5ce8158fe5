import { redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { formError, parseForm } from '$lib/server/forms';
import { rcpOf } from '$lib/server/rcp/guard';
import { seriesSchema, sessionSchema } from '$lib/server/rcp/forms';
import { createSeries, createSession, listClosedSessions, listSeries, listSessions, materialiseAll, rcpMicrostructures } from '$lib/server/rcp/sessions';
import { effectiveTemplate } from '$lib/server/rcp/templates';
import { describeRecurrence, findClashes, toRrule, type Nth } from '$lib/server/rcp/schedule';
import { parisToday, addDays } from '$lib/server/patients/lifecycle';
import { can } from '$lib/server/access/policy';
import { fill, messages } from '$lib/i18n';
import { requireActor } from '$lib/server/request';
import { getMicrostructure, getMicrostructureRef } from '$lib/server/org/microstructures';
import { rcpOverview } from '$lib/server/rcp/overview';
import type { PageServerLoadEvent } from './$types';

export async function load(event) {
	const schedule = await scheduleOnly(event);
	if (schedule) return schedule;
	const { ms, ref, actor } = await rcpOf(event);
	const db = getDb();
	await materialiseAll(db, [ms.id]);
	const now = new Date();
	const [sessions, series, closed, template, mine] = await Promise.all([
		listSessions(db, [ms.id], now, new Date(now.getTime() + 120 * 86400_000)),
		listSeries(db, ms.id),
		listClosedSessions(db, ms.id),
		effectiveTemplate(db, ref),
		rcpMicrostructures(db, actor)
	]);
	// Clashes with the actor's RCPs elsewhere (people in several microstructures).
	const elsewhere = await listSessions(db, mine.map((m) => m.id), now, new Date(now.getTime() + 120 * 86400_000));
	const clashes = findClashes(elsewhere.map((s) => ({ ...s, startsAt: s.starts_at, endsAt: s.ends_at })));
	return {
		ms: { id: ms.id, name: ms.name, programmes: ms.programmes, rooms: ms.sites.flatMap((s) => s.rooms.map((r) => ({ id: r.id, name: `${r.name} — ${s.name}` }))) },
		sessions: sessions.map((s) => ({ ...s, clashes: (clashes.get(s.id) ?? []).map((c) => `${c.microstructure_name} (${c.title})`) })),
		series: series.map((s) => ({ ...s, label: describeRecurrence(s.rrule, s.start_time.slice(0, 5), s.end_time.slice(0, 5)) })),
		closed,
		template: template.template,
		templateSource: template.source,
		canPlan: can(actor, 'rcp.organise', { microstructure: ref }),
		today: parisToday(),
		defaultUntil: addDays(parisToday(), 365),
		scheduleOnly: false as const,
		schedule: []
	};
}

/**
 * The secretariat reads the schedule (when, where, the visio link, the status) and nothing that
 * comes from the agendas: null for everyone who sees the RCPs themselves, and for everyone else
 * rcpOf answers 404.
 */
async function scheduleOnly(event: PageServerLoadEvent) {
	const { actor } = requireActor(event);
	const db = getDb();
	const ref = await getMicrostructureRef(db, event.params.msId);
	if (!ref || can(actor, 'rcp.view', { microstructure: ref }) || !can(actor, 'rcp.schedule.read', { microstructure: ref })) return null;
	const ms = await getMicrostructure(db, ref.id);
	if (!ms) return null;
	const now = new Date();
	const sessions = await rcpOverview(db, actor, now, new Date(now.getTime() + 120 * 86400_000));
	return {
		scheduleOnly: true as const,
		ms: { id: ms.id, name: ms.name, programmes: [], rooms: [] as { id: string; name: string }[] },
		schedule: sessions.filter((s) => s.microstructureId === ms.id)
	};
}

/** A room and a programme must be the microstructure's own. */
function slotProblem(ms: { sites: { rooms: { id: string }[] }[]; programmes: string[] }, d: { roomId: string; programme: string }, t: ReturnType<typeof messages>) {
	if (d.roomId && !ms.sites.some((s) => s.rooms.some((r) => r.id === d.roomId))) return formError(400, t.errors.choice, {}, { roomId: t.errors.choice });
	if (d.programme && !ms.programmes.includes(d.programme)) return formError(400, t.errors.choice, {}, { programme: t.errors.choice });
	return null;
}

export const actions = {
	series: async (event) => {
		const { ms, ref, ctx } = await rcpOf(event, 'rcp.organise');
		const t = messages(event.locals.locale);
		const parsed = parseForm(seriesSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		const wrong = slotProblem(ms, d, t);
		if (wrong) return wrong;
		const id = await createSeries(getDb(), ctx, ref, {
			title: d.title,
			rrule: toRrule({ pattern: d.pattern, weekday: d.weekday, nth: Number(d.nth) as Nth }),
			startsOn: d.startsOn,
			untilOn: d.untilOn || null,
			startTime: d.startTime,
			endTime: d.endTime,
			roomId: d.roomId || null,
			visioUrl: d.visioUrl || null,
			programme: d.programme || null
		});
		const count = await getDb().selectFrom('rcp_session').select((eb) => eb.fn.countAll<string>().as('n')).where('series_id', '=', id).executeTakeFirst();
		return { success: fill(t.rcp.seriesCreated, { n: Number(count?.n ?? 0) }) };
	},
	session: async (event) => {
		const { ms, ref, ctx } = await rcpOf(event, 'rcp.organise');
		const t = messages(event.locals.locale);
		const parsed = parseForm(sessionSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		const wrong = slotProblem(ms, d, t);
		if (wrong) return wrong;
		if (d.date < parisToday()) return formError(400, t.errors.date, {}, { date: 'La date est passée.' });
		const id = await createSession(getDb(), ctx, ref, {
			title: d.title,
			date: d.date,
			startTime: d.startTime,
			endTime: d.endTime,
			roomId: d.roomId || null,
			visioUrl: d.visioUrl || null,
			programme: d.programme || null
		});
		redirect(303, `/ms/${ms.id}/rcp/${id}`);
	}
};
