// Free slots: a live permanence occurrence minus its live appointments, cut into slots of the
// kind's length (the permanence's first-contact or follow-up minutes) from the start of each free
// interval. One SQL statement (indexed on occurrence(microstructure_id, starts_at) and
// appointment(occurrence_id)) so that the search stays fast at generalisation scale.
//
// The grid is therefore defined by what is free now: after a 60-minute first contact at 14:00 on a
// 14:00–17:00 permanence, 45-minute follow-ups are offered at 15:00 and 15:45. `slotFits` accepts
// exactly the slots `freeSlots` would offer for that occurrence, so a booking can never leave an
// unusable sliver the search would not have produced.
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { AppointmentKind, Profession } from '../db/schema.ts';
import { isUuid } from '../org/microstructures.ts';

export interface FreeSlot {
	occurrenceId: string;
	professionalId: string;
	professionalName: string;
	profession: Profession;
	roomId: string | null;
	roomName: string | null;
	startsAt: Date;
	endsAt: Date;
	kind: AppointmentKind;
}

export interface SlotQuery {
	microstructureId: string;
	professionalIds?: string[];
	professions?: Profession[];
	kind: AppointmentKind;
	from: Date;
	to: Date;
	limit?: number;
	/** Restrict to one occurrence (slotFits). */
	occurrenceId?: string;
	/** "Now": slots starting before it are never offered (tests pass a fixed instant). */
	now?: Date;
}

const MAX_LIMIT = 2000;

interface Row {
	occurrence_id: string;
	professional_id: string;
	first_name: string;
	last_name: string;
	profession: Profession;
	room_id: string | null;
	room_name: string | null;
	slot_start: Date;
	slot_end: Date;
}

function query(db: Db, q: SlotQuery) {
	const minutes = q.kind === 'premier_contact' ? sql.ref('p.first_minutes') : sql.ref('p.followup_minutes');
	const now = q.now ?? new Date();
	const from = q.from > now ? q.from : now;
	const limit = Math.max(1, Math.min(q.limit ?? 200, MAX_LIMIT));
	const pros = q.professionalIds && q.professionalIds.length ? sql`and o.professional_id = any(${q.professionalIds}::uuid[])` : sql``;
	const professions = q.professions && q.professions.length ? sql`and u.profession = any(${q.professions}::text[])` : sql``;
	const one = q.occurrenceId ? sql`and o.id = ${q.occurrenceId}` : sql``;
	return sql<Row>`
		with occ as (
			select o.id, o.professional_id, o.room_id, o.starts_at, o.ends_at,
				make_interval(mins => ${minutes}) as len,
				u.first_name, u.last_name, u.profession
			from permanence_occurrence o
			join permanence p on p.id = o.permanence_id
			join app_user u on u.id = o.professional_id
			where o.microstructure_id = ${q.microstructureId}
				and o.cancelled_at is null
				and o.starts_at < ${q.to}
				and o.ends_at > ${from}
				-- An occurrence lies within one day: a lower bound for the (microstructure_id, starts_at) index.
				and o.starts_at > ${from}::timestamptz - interval '1 day'
				${pros} ${professions} ${one}
		),
		busy as (
			select a.occurrence_id, a.starts_at, a.ends_at
			from appointment a
			join occ on occ.id = a.occurrence_id
			where a.status not in ('annule', 'deplace')
		),
		-- Live appointments of one professional never overlap (exclusion constraint), so the gap
		-- before each one starts where the previous one ended.
		gaps as (
			select b.occurrence_id as id,
				coalesce(lag(b.ends_at) over (partition by b.occurrence_id order by b.starts_at), occ.starts_at) as gs,
				b.starts_at as ge
			from busy b join occ on occ.id = b.occurrence_id
			union all
			select occ.id, coalesce((select max(b.ends_at) from busy b where b.occurrence_id = occ.id), occ.starts_at), occ.ends_at
			from occ
		)
		select occ.id as occurrence_id, occ.professional_id, occ.first_name, occ.last_name, occ.profession,
			occ.room_id, r.name as room_name,
			g.gs + k * occ.len as slot_start, g.gs + (k + 1) * occ.len as slot_end
		from gaps g
		join occ on occ.id = g.id
		left join room r on r.id = occ.room_id
		cross join lateral generate_series(0, floor(extract(epoch from (g.ge - g.gs)) / extract(epoch from occ.len))::int - 1) k
		where g.ge > g.gs
			and g.gs + k * occ.len >= ${from}
			and g.gs + (k + 1) * occ.len <= ${q.to}
		order by slot_start, occ.last_name, occ.id
		limit ${limit}
	`.execute(db);
}

/** Free slots of a microstructure's permanences in [from, to), earliest first, never in the past. */
export async function freeSlots(db: Db, q: SlotQuery): Promise<FreeSlot[]> {
	if (!isUuid(q.microstructureId) || !(q.to > q.from)) return [];
	if (q.professionalIds?.some((id) => !isUuid(id))) return [];
	const r = await query(db, q);
	return r.rows.map((row) => ({
		occurrenceId: row.occurrence_id,
		professionalId: row.professional_id,
		professionalName: `${row.first_name} ${row.last_name}`,
		profession: row.profession,
		roomId: row.room_id,
		roomName: row.room_name,
		startsAt: row.slot_start,
		endsAt: row.slot_end,
		kind: q.kind
	}));
}

export interface OccurrenceRow {
	id: string;
	permanence_id: string;
	microstructure_id: string;
	professional_id: string;
	room_id: string | null;
	on_date: string;
	starts_at: Date;
	ends_at: Date;
	first_minutes: number;
	followup_minutes: number;
}

export type SlotFit = { ok: true; occurrence: OccurrenceRow } | { ok: false; error: string };

/**
 * Inside a booking transaction: does [startsAt, endsAt) lie in a live occurrence of this
 * professional, last the kind's length and sit on the occurrence's grid (a slot `freeSlots` offers
 * now)? Takes a share lock on the occurrence row, so that an absence or a series edit (which lock
 * it for update) waits for the booking to commit, or the booking for them — and then sees the
 * occurrence cancelled.
 */
export async function slotFits(
	trx: Db,
	s: { occurrenceId: string; professionalId: string; startsAt: Date; endsAt: Date; kind: AppointmentKind; now?: Date }
): Promise<SlotFit> {
	if (!isUuid(s.occurrenceId) || !isUuid(s.professionalId)) return { ok: false, error: 'Créneau introuvable.' };
	const occurrence = await trx
		.selectFrom('permanence_occurrence as o')
		.innerJoin('permanence as p', 'p.id', 'o.permanence_id')
		.select(['o.id', 'o.permanence_id', 'o.microstructure_id', 'o.professional_id', 'o.room_id', 'o.on_date', 'o.starts_at', 'o.ends_at', 'o.cancelled_at', 'p.first_minutes', 'p.followup_minutes'])
		.where('o.id', '=', s.occurrenceId)
		.where('o.professional_id', '=', s.professionalId)
		.forShare('o')
		.executeTakeFirst();
	if (!occurrence) return { ok: false, error: 'Créneau introuvable.' };
	if (occurrence.cancelled_at) return { ok: false, error: 'Cette permanence a été annulée entre-temps (absence ou changement de série)\u00a0: choisissez un autre créneau.' };
	const now = s.now ?? new Date();
	if (s.startsAt < now) return { ok: false, error: 'Ce créneau est déjà passé.' };
	if (s.startsAt < occurrence.starts_at || s.endsAt > occurrence.ends_at) return { ok: false, error: 'Ce créneau sort des horaires de la permanence.' };
	const minutes = s.kind === 'premier_contact' ? occurrence.first_minutes : occurrence.followup_minutes;
	if (s.endsAt.getTime() - s.startsAt.getTime() !== minutes * 60_000) {
		return { ok: false, error: `Un ${s.kind === 'premier_contact' ? 'premier contact' : 'rendez-vous de suivi'} dure ${minutes}\u00a0minutes sur cette permanence.` };
	}
	const free = await query(trx, {
		microstructureId: occurrence.microstructure_id,
		occurrenceId: occurrence.id,
		kind: s.kind,
		from: occurrence.starts_at,
		to: occurrence.ends_at,
		limit: MAX_LIMIT,
		now
	});
	if (!free.rows.some((r) => r.slot_start.getTime() === s.startsAt.getTime())) {
		return { ok: false, error: 'Ce créneau n’est plus libre\u00a0: il vient d’être pris ou ne correspond pas à la grille de la permanence.' };
	}
	const { cancelled_at: _cancelled, ...row } = occurrence;
	return { ok: true, occurrence: row };
}
