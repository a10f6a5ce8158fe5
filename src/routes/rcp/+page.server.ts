import { getDb } from '$lib/server/db';
import { requireActor } from '$lib/server/request';
import { listSessions, materialiseAll, rcpMicrostructures } from '$lib/server/rcp/sessions';
import { findClashes } from '$lib/server/rcp/schedule';
import { livePresence } from '$lib/server/realtime/attach';
import { quorum } from '$lib/rcp/quorum';

// Every upcoming and live RCP of the microstructures the actor works in or coordinates: quorum,
// cases pending, clashes, and a one-click way in.
export async function load(event) {
	const { actor } = requireActor(event);
	const db = getDb();
	const mine = await rcpMicrostructures(db, actor);
	await materialiseAll(db, mine.map((m) => m.id));
	const now = new Date();
	const sessions = await listSessions(db, mine.map((m) => m.id), now, new Date(now.getTime() + 62 * 86400_000));
	const rsvps = sessions.length
		? await db
				.selectFrom('rcp_participant as p')
				.innerJoin('app_user as u', 'u.id', 'p.user_id')
				.select(['p.session_id', 'u.first_name', 'u.last_name', 'u.profession'])
				.where('p.session_id', 'in', sessions.map((s) => s.id))
				.where('p.rsvp', '=', 'oui')
				.execute()
		: [];
	const clashes = findClashes(sessions.map((s) => ({ ...s, startsAt: s.starts_at, endsAt: s.ends_at })));
	const rows = [];
	for (const s of sessions) {
		const live = s.status === 'en_cours';
		const present = live
			? (await livePresence(s.id)).filter((p) => p.mode === 'participant')
			: rsvps.filter((r) => r.session_id === s.id).map((r) => ({ name: `${r.first_name} ${r.last_name}`, profession: r.profession }));
		const q = quorum(s.template.quorumProfessions, present);
		rows.push({
			id: s.id,
			microstructureId: s.microstructure_id,
			microstructure: s.microstructure_name,
			title: s.title,
			startsAt: s.starts_at,
			endsAt: s.ends_at,
			status: s.status,
			cases: s.cases,
			pending: s.pending,
			live,
			quorumMet: q.met,
			missing: q.lines.filter((l) => !l.met).map((l) => l.profession),
			connected: live ? present.length : null,
			clashes: (clashes.get(s.id) ?? []).map((c) => c.microstructure_name)
		});
	}
	return { sessions: rows };
}
