// Drift alerts (issue 14): the microstructures of a network that drift — no inclusion for weeks, no
// RCP, no referral to the social worker, an absence whose appointments nobody moved, renewals
// overdue, included patients still waiting for a first contact. The daily job (jobs/index.ts) and
// the page's "Vérifier maintenant" run `detectAlerts`; coordinators acknowledge alerts, and an alert
// resolves itself when its condition no longer holds.
//
// Idempotence: an alert row is unique per microstructure, kind and period_key, and the period_key
// names the occurrence by data that stays the same while the condition lasts (the day of the last
// inclusion, of the last closed RCP, the absence…), so a second run — here or in another process —
// finds the open row and only refreshes its numbers. A new occurrence after a resolution that would
// get the same key is told apart by a suffix (#2, #3…). Rows are inserted with ON CONFLICT DO
// NOTHING RETURNING and only the rows actually inserted are notified, in the same transaction; runs
// for one network are also serialised by an advisory lock, so resolution and raising never race.
//
// Details hold numbers and dates only (counts of patients, never who): they travel to the
// notifications and the cockpit, which are not patient-level reads.
//
// Code here is loaded by the job queue: no `$lib`, `$env` or `$app`.
import { sql } from 'kysely';
import { z } from 'zod';
import { inTransaction, type Db } from '../db/index.ts';
import type { RcpFrequency } from '../db/schema.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { notify } from '../notifications/notifications.ts';
import { absenceToMove } from '../booking/absences.ts';
import { addDays, daysBetween, parisToday } from '../patients/lifecycle.ts';
import { parisInstant } from '../rcp/schedule.ts';
import { alerts as fr } from '../../i18n/fr/alerts.ts';
import { fill } from '../../i18n/index.ts';
import { isUuid } from '../org/microstructures.ts';

export const ALERT_KINDS = ['no_inclusion', 'rcp_missing', 'no_social_orientation', 'absence_uncovered', 'renewals_overdue', 'first_contact_waiting'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Each threshold in days, with its default and the range a coordinator may set. */
export const THRESHOLDS = {
	noInclusionDays: { default: 60, min: 14, max: 365 },
	rcpDays: { default: 42, min: 7, max: 365 },
	socialOrientationDays: { default: 90, min: 30, max: 365 },
	absenceHorizonDays: { default: 30, min: 1, max: 120 },
	renewalGraceDays: { default: 0, min: 0, max: 180 },
	firstContactDays: { default: 30, min: 7, max: 180 }
} as const;
export type ThresholdKey = keyof typeof THRESHOLDS;
export type Thresholds = Record<ThresholdKey, number>;
export const THRESHOLD_KEYS = Object.keys(THRESHOLDS) as ThresholdKey[];
export const DEFAULT_THRESHOLDS = Object.fromEntries(THRESHOLD_KEYS.map((k) => [k, THRESHOLDS[k].default])) as Thresholds;

/** The template's minimum frequency as the longest gap between two closed RCPs (days). */
export const FREQUENCY_DAYS: Record<RcpFrequency, number> = { hebdomadaire: 7, bimensuelle: 14, mensuelle: 31, bimestrielle: 62, trimestrielle: 92 };

/**
 * The thresholds form: each field a whole number of days in its range. `message` gives the error
 * shown under a field (French or English), so "-3", "1e9", "12,5" or "" all say what is expected.
 */
export function thresholdSchema(message: (key: ThresholdKey) => string) {
	const field = (key: ThresholdKey) => {
		const { min, max } = THRESHOLDS[key];
		const error = message(key);
		return z
			.string({ error })
			.trim()
			.regex(/^\d{1,4}$/, { error })
			.transform(Number)
			.pipe(z.number().int({ error }).min(min, { error }).max(max, { error }));
	};
	return z.object(Object.fromEntries(THRESHOLD_KEYS.map((k) => [k, field(k)])) as Record<ThresholdKey, ReturnType<typeof field>>);
}

/** The stored settings over the defaults; a stored value out of range (an older rule) falls back to its default. */
export function thresholdsOf(settings: Record<string, unknown> | undefined): Thresholds {
	const out = { ...DEFAULT_THRESHOLDS };
	for (const key of THRESHOLD_KEYS) {
		const v = settings?.[key];
		const { min, max } = THRESHOLDS[key];
		if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) out[key] = v;
	}
	return out;
}

export async function getThresholds(db: Db, networkId: string): Promise<Thresholds> {
	const row = await db.selectFrom('alert_threshold').select('settings').where('network_id', '=', networkId).executeTakeFirst();
	return thresholdsOf(row?.settings);
}

/** Saves a network's thresholds (already validated by `thresholdSchema`) and audits the change. */
export async function saveThresholds(db: Db, ctx: AuditContext, networkId: string, thresholds: Thresholds): Promise<void> {
	const settings = thresholdsOf(thresholds);
	await inTransaction(db, async (trx) => {
		const before = await getThresholds(trx, networkId);
		await trx
			.insertInto('alert_threshold')
			.values({ network_id: networkId, settings: JSON.stringify(settings), updated_by: ctx.actorId })
			.onConflict((oc) => oc.column('network_id').doUpdateSet({ settings: JSON.stringify(settings), updated_by: ctx.actorId, updated_at: new Date() }))
			.execute();
		await audit(trx, ctx, { action: 'alert.thresholds_updated', targetType: 'network', targetId: networkId, networkId, details: { before, after: settings } });
	});
}

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

interface Condition {
	msId: string;
	msName: string;
	kind: AlertKind;
	/** Tells apart several alerts of one kind in one microstructure (the absence's id), '' otherwise. */
	subject: string;
	/** The occurrence's name while the condition lasts. */
	baseKey: string;
	details: Record<string, unknown>;
}

export interface DetectOptions {
	/** The Paris day the detection runs for (tests pin it). */
	today?: string;
	/** Only this network (the page's button); every network otherwise (the daily job). */
	networkId?: string;
	now?: Date;
}

export interface DetectOutcome {
	raised: number;
	resolved: number;
	open: number;
}

export async function detectAlerts(db: Db, options: DetectOptions = {}): Promise<DetectOutcome> {
	const today = options.today ?? parisToday();
	const now = options.now ?? new Date();
	const networks = options.networkId ? [options.networkId] : (await db.selectFrom('network').select('id').orderBy('id').execute()).map((n) => n.id);
	const total: DetectOutcome = { raised: 0, resolved: 0, open: 0 };
	for (const networkId of networks) {
		const r = await inTransaction(db, (trx) => detectNetwork(trx, networkId, today, now));
		total.raised += r.raised;
		total.resolved += r.resolved;
		total.open += r.open;
	}
	return total;
}

async function detectNetwork(trx: Db, networkId: string, today: string, now: Date): Promise<DetectOutcome> {
	// One run at a time per network, whatever the process: the second sees what the first wrote.
	await sql`select pg_advisory_xact_lock(hashtext('drift-alerts:' || ${networkId}))`.execute(trx);
	const thresholds = await getThresholds(trx, networkId);
	const conditions = await currentConditions(trx, networkId, thresholds, today);
	const open = await trx
		.selectFrom('drift_alert')
		.select(['id', 'microstructure_id', 'kind', 'details'])
		.where('network_id', '=', networkId)
		.where('resolved_at', 'is', null)
		.execute();
	const identity = (msId: string, kind: string, subject: string) => `${msId}|${kind}|${subject}`;
	const openBy = new Map(open.map((a) => [identity(a.microstructure_id, a.kind, String(a.details?.subject ?? '')), a]));
	const holding = new Set<string>();
	const recipients = await networkCoordinators(trx, networkId, today);
	let raised = 0;
	for (const c of conditions) {
		const id = identity(c.msId, c.kind, c.subject);
		holding.add(id);
		const details = { ...c.details, subject: c.subject };
		const existing = openBy.get(id);
		if (existing) {
			// The same occurrence: its numbers move (days, counts), its key and its acknowledgement stay.
			// (Compared key-sorted: jsonb hands keys back in its own order.) A run that finds nothing
			// new writes nothing.
			if (canonical(existing.details) !== canonical(details))
				await trx.updateTable('drift_alert').set({ details: JSON.stringify(details) }).where('id', '=', existing.id).execute();
			continue;
		}
		const key = await freshKey(trx, c);
		const inserted = await trx
			.insertInto('drift_alert')
			.values({ microstructure_id: c.msId, network_id: networkId, kind: c.kind, period_key: key, details: JSON.stringify(details), raised_at: now })
			.onConflict((oc) => oc.columns(['microstructure_id', 'kind', 'period_key']).doNothing())
			.returning('id')
			.executeTakeFirst();
		if (!inserted) continue;
		raised++;
		await notify(trx, recipients, { kind: 'alert', title: notificationTitle(c), body: fr.notify.body, link: `/pilotage/${networkId}/alertes` });
	}
	const gone = open.filter((a) => !holding.has(identity(a.microstructure_id, a.kind, String(a.details?.subject ?? '')))).map((a) => a.id);
	if (gone.length) await trx.updateTable('drift_alert').set({ resolved_at: now }).where('id', 'in', gone).where('resolved_at', 'is', null).execute();
	return { raised, resolved: gone.length, open: conditions.length };
}

const canonical = (o: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

/** The base key, or base#n when an earlier (resolved) occurrence already had it. */
async function freshKey(trx: Db, c: Condition): Promise<string> {
	const taken = await trx
		.selectFrom('drift_alert')
		.select('period_key')
		.where('microstructure_id', '=', c.msId)
		.where('kind', '=', c.kind)
		.where((w) => w.or([w('period_key', '=', c.baseKey), w('period_key', 'like', `${c.baseKey}#%`)]))
		.execute();
	if (taken.length === 0) return c.baseKey;
	const used = new Set(taken.map((t) => t.period_key));
	let n = 2;
	while (used.has(`${c.baseKey}#${n}`)) n++;
	return `${c.baseKey}#${n}`;
}

/** The network's coordinators today: both coordination roles, memberships still running. */
export async function networkCoordinators(db: Db, networkId: string, today = parisToday()): Promise<string[]> {
	const rows = await db
		.selectFrom('membership')
		.select('user_id')
		.distinct()
		.where('network_id', '=', networkId)
		.where('role', 'in', ['coordination_medicale', 'coordination_administrative'])
		.where('starts_on', '<=', today)
		.where((w) => w.or([w('ends_on', 'is', null), w('ends_on', '>', today)]))
		.execute();
	return rows.map((r) => r.user_id);
}

function notificationTitle(c: Condition): string {
	const title = fr.notify.title[c.kind];
	const count = Number(c.details.patients ?? 0);
	return fill(typeof title === 'string' ? title : count === 1 ? title.one : title.many, { ms: c.msName, ...(c.details as Record<string, string | number>) });
}

const INCLUSION_KINDS = ['include', 'reinclude'];
const SOCIAL = ['travailleur_social', 'les_deux'];

/** Every condition holding today in the network's microstructures. */
async function currentConditions(db: Db, networkId: string, t: Thresholds, today: string): Promise<Condition[]> {
	const microstructures = await db
		.selectFrom('microstructure as ms')
		.select(['ms.id', 'ms.name'])
		.select(sql<string>`to_char((ms.created_at at time zone 'Europe/Paris')::date, 'YYYY-MM-DD')`.as('created_on'))
		.select((eb) => [
			// When the microstructure began working: its first member, its first patient, or its creation
			// (a microstructure moved onto the platform has a past older than its row).
			eb.selectFrom('membership as m').select(sql<string | null>`to_char(min(m.starts_on), 'YYYY-MM-DD')`.as('d')).whereRef('m.microstructure_id', '=', 'ms.id').as('first_member'),
			eb.selectFrom('patient as p').select(sql<string | null>`to_char(min(coalesce(p.included_on, p.oriented_on)), 'YYYY-MM-DD')`.as('d')).whereRef('p.microstructure_id', '=', 'ms.id').as('first_patient')
		])
		.where('ms.network_id', '=', networkId)
		.where('ms.archived_at', 'is', null)
		.orderBy('ms.name')
		.execute();
	if (microstructures.length === 0) return [];
	const msIds = microstructures.map((m) => m.id);

	// An inclusion referred to the social worker: the orientation recorded with the event (the
	// patient's current one for events written before it was recorded there).
	const social = sql<boolean>`coalesce(e.details->>'orientation', p.orientation) in (${sql.join(SOCIAL)})`;
	const windowStart = addDays(today, -t.socialOrientationDays);
	const [inclusions, rcp, templates, renewals, waiting] = await Promise.all([
		// Per microstructure: the last inclusion, the last one referred to the social worker, and the
		// inclusions (all, and towards the social worker) inside the social-orientation window.
		db
			.selectFrom('patient_event as e')
			.innerJoin('patient as p', 'p.id', 'e.patient_id')
			.select('p.microstructure_id')
			.select(sql<string | null>`to_char(max(e.occurred_on), 'YYYY-MM-DD')`.as('last'))
			.select(sql<string | null>`to_char(max(e.occurred_on) filter (where ${social}), 'YYYY-MM-DD')`.as('last_social'))
			.select(sql<number>`(count(*) filter (where e.occurred_on > ${windowStart}))::int`.as('in_window'))
			.select(sql<number>`(count(*) filter (where e.occurred_on > ${windowStart} and ${social}))::int`.as('social_in_window'))
			.where('p.microstructure_id', 'in', msIds)
			.where('e.kind', 'in', INCLUSION_KINDS)
			.where('e.occurred_on', '<=', today)
			.groupBy('p.microstructure_id')
			.execute(),
		db
			.selectFrom('rcp_session')
			.select('microstructure_id')
			.select(sql<string | null>`to_char(max((starts_at at time zone 'Europe/Paris')::date), 'YYYY-MM-DD')`.as('last'))
			.where('microstructure_id', 'in', msIds)
			.where('status', '=', 'cloturee')
			.where(sql<boolean>`(starts_at at time zone 'Europe/Paris')::date <= ${today}::date`)
			.groupBy('microstructure_id')
			.execute(),
		// The template of each microstructure's latest session (planned ones included: they carry the
		// template in force).
		db
			.selectFrom('rcp_session')
			.select(['microstructure_id', sql<string | null>`template->>'minFrequency'`.as('frequency')])
			.distinctOn('microstructure_id')
			.where('microstructure_id', 'in', msIds)
			.where('status', '<>', 'annulee')
			.orderBy('microstructure_id')
			.orderBy('starts_at', 'desc')
			.execute(),
		db
			.selectFrom('patient')
			.select('microstructure_id')
			.select(sql<number>`count(*)::int`.as('n'))
			.select(sql<string>`to_char(min(renewal_due_on), 'YYYY-MM-DD')`.as('oldest'))
			.where('microstructure_id', 'in', msIds)
			.where('state', 'in', ['inclus', 'en_suivi'])
			.where('renewal_due_on', '<', addDays(today, -t.renewalGraceDays))
			.groupBy('microstructure_id')
			.execute(),
		db
			.selectFrom('patient')
			.select('microstructure_id')
			.select(sql<number>`count(*)::int`.as('n'))
			.select(sql<string>`to_char(min(included_on), 'YYYY-MM-DD')`.as('oldest'))
			.where('microstructure_id', 'in', msIds)
			.where('state', '=', 'inclus')
			.where('first_contact_on', 'is', null)
			.where('included_on', '<', addDays(today, -t.firstContactDays))
			.groupBy('microstructure_id')
			.execute()
	]);
	const byMs = <T extends { microstructure_id: string }>(rows: T[]) => new Map(rows.map((r) => [r.microstructure_id, r]));
	const inclusionOf = byMs(inclusions);
	const rcpOf = byMs(rcp);
	const templateOf = byMs(templates);
	const renewalOf = byMs(renewals);
	const waitingOf = byMs(waiting);

	const out: Condition[] = [];
	for (const ms of microstructures) {
		const start = [ms.created_on, ms.first_member, ms.first_patient].filter((d): d is string => !!d).sort()[0];
		const age = daysBetween(start, today);
		const base = { msId: ms.id, msName: ms.name, subject: '' };

		// No inclusion for more than N days (a microstructure younger than that is left alone).
		const inc = inclusionOf.get(ms.id);
		const lastInclusion = inc?.last ?? null;
		const sinceInclusion = daysBetween(lastInclusion ?? start, today);
		if (sinceInclusion > t.noInclusionDays && age > t.noInclusionDays)
			out.push({ ...base, kind: 'no_inclusion', baseKey: `depuis-${lastInclusion ?? start}`, details: { last: lastInclusion, since: start, days: sinceInclusion, threshold: t.noInclusionDays } });

		// No closed RCP for more than six weeks, or for longer than the template's frequency allows.
		const lastRcp = rcpOf.get(ms.id)?.last ?? null;
		const frequency = (templateOf.get(ms.id)?.frequency ?? null) as RcpFrequency | null;
		const frequencyDays = frequency && frequency in FREQUENCY_DAYS ? FREQUENCY_DAYS[frequency] : null;
		const limit = Math.min(t.rcpDays, frequencyDays ?? Infinity);
		const sinceRcp = daysBetween(lastRcp ?? start, today);
		if (sinceRcp > limit && age > limit)
			out.push({
				...base,
				kind: 'rcp_missing',
				baseKey: `depuis-${lastRcp ?? start}`,
				details: { last: lastRcp, since: start, days: sinceRcp, limit, threshold: t.rcpDays, frequency: frequencyDays !== null && frequencyDays < t.rcpDays ? frequency : null }
			});

		// Inclusions in the window, none referred to the social worker.
		const inWindow = inc?.in_window ?? 0;
		if (inWindow > 0 && (inc?.social_in_window ?? 0) === 0 && age > t.socialOrientationDays)
			out.push({
				...base,
				kind: 'no_social_orientation',
				baseKey: `depuis-${inc?.last_social ?? start}`,
				details: { inclusions: inWindow, last: inc?.last_social ?? null, window: t.socialOrientationDays }
			});

		const overdue = renewalOf.get(ms.id);
		if (overdue) out.push({ ...base, kind: 'renewals_overdue', baseKey: `depuis-${overdue.oldest}`, details: { patients: overdue.n, oldest: overdue.oldest, grace: t.renewalGraceDays } });

		const pending = waitingOf.get(ms.id);
		if (pending) out.push({ ...base, kind: 'first_contact_waiting', baseKey: `depuis-${pending.oldest}`, details: { patients: pending.n, oldest: pending.oldest, threshold: t.firstContactDays } });
	}

	out.push(...(await uncoveredAbsences(db, microstructures, today, t.absenceHorizonDays)));
	return out;
}

/**
 * Absences overlapping the coming days whose cancelled permanences still hold planned appointments
 * (the booking module's "to move" list), one alert per absence and microstructure.
 */
async function uncoveredAbsences(db: Db, microstructures: { id: string; name: string }[], today: string, horizonDays: number): Promise<Condition[]> {
	const msIds = microstructures.map((m) => m.id);
	const absences = await db
		.selectFrom('absence as a')
		.innerJoin('app_user as u', 'u.id', 'a.professional_id')
		.select(['a.id', 'a.starts_on', 'a.ends_on', 'u.first_name', 'u.last_name', 'u.profession'])
		.where('a.cancelled_at', 'is', null)
		.where('a.ends_on', '>=', today)
		.where('a.starts_on', '<=', addDays(today, horizonDays))
		.where((w) => w.exists(w.selectFrom('permanence_occurrence as o').select('o.id').whereRef('o.absence_id', '=', 'a.id').where('o.microstructure_id', 'in', msIds)))
		.orderBy('a.starts_on')
		.execute();
	// Appointments of days already gone are history, not something left to move.
	const from = parisInstant(today, '00:00');
	const out: Condition[] = [];
	for (const a of absences) {
		const toMove = (await absenceToMove(db, a.id)).filter((x) => x.startsAt >= from);
		for (const ms of microstructures) {
			const n = toMove.filter((x) => x.microstructureId === ms.id).length;
			if (n === 0) continue;
			out.push({
				msId: ms.id,
				msName: ms.name,
				kind: 'absence_uncovered',
				subject: a.id,
				baseKey: `absence-${a.id}`,
				details: { absenceId: a.id, professional: `${a.first_name} ${a.last_name}`, profession: a.profession, from: a.starts_on, until: a.ends_on, appointments: n }
			});
		}
	}
	return out;
}

// ---------------------------------------------------------------------------------------------
// Reading and acknowledging
// ---------------------------------------------------------------------------------------------

/** Where to act on an alert: a page of the microstructure (or the absences page). */
export function alertLink(kind: string, msId: string, details: Record<string, unknown>): string {
	switch (kind) {
		case 'rcp_missing':
			return `/ms/${msId}/rcp`;
		case 'no_social_orientation':
			return `/ms/${msId}/permanences`;
		case 'absence_uncovered':
			return `/absences?absence=${String(details.absenceId ?? '')}`;
		case 'renewals_overdue':
			return `/ms/${msId}/patients?renouvellement=1`;
		case 'first_contact_waiting':
			return `/ms/${msId}/patients?sans_contact=1`;
		default:
			return `/ms/${msId}/patients?etat=tous`;
	}
}

export interface AlertView {
	id: string;
	microstructureId: string;
	microstructureName: string;
	kind: AlertKind;
	details: Record<string, unknown>;
	link: string;
	raisedAt: Date;
	resolvedAt: Date | null;
	acknowledgedAt: Date | null;
	acknowledgedBy: string | null;
}

/** The network's open alerts (to handle, and acknowledged) and those resolved in the last 30 days. */
export async function listAlerts(db: Db, networkId: string, now = new Date()) {
	const rows = await db
		.selectFrom('drift_alert as a')
		.innerJoin('microstructure as ms', 'ms.id', 'a.microstructure_id')
		.leftJoin('app_user as u', 'u.id', 'a.acknowledged_by')
		.select(['a.id', 'a.microstructure_id', 'ms.name', 'a.kind', 'a.details', 'a.raised_at', 'a.resolved_at', 'a.acknowledged_at', 'u.first_name', 'u.last_name'])
		.where('a.network_id', '=', networkId)
		.where((w) => w.or([w('a.resolved_at', 'is', null), w('a.resolved_at', '>', new Date(now.getTime() - 30 * 86_400_000))]))
		.orderBy('ms.name')
		.orderBy('a.raised_at')
		.limit(500)
		.execute();
	const views: AlertView[] = rows
		.filter((r) => (ALERT_KINDS as readonly string[]).includes(r.kind))
		.map((r) => ({
			id: r.id,
			microstructureId: r.microstructure_id,
			microstructureName: r.name,
			kind: r.kind as AlertKind,
			details: r.details ?? {},
			link: alertLink(r.kind, r.microstructure_id, r.details ?? {}),
			raisedAt: r.raised_at,
			resolvedAt: r.resolved_at,
			acknowledgedAt: r.acknowledged_at,
			acknowledgedBy: r.first_name || r.last_name ? `${r.first_name ?? ''} ${r.last_name ?? ''}`.trim() : null
		}));
	return {
		open: views.filter((v) => !v.resolvedAt && !v.acknowledgedAt),
		acknowledged: views.filter((v) => !v.resolvedAt && v.acknowledgedAt),
		resolved: views.filter((v) => v.resolvedAt).sort((a, b) => b.resolvedAt!.getTime() - a.resolvedAt!.getTime())
	};
}

/** Open alerts of a network nobody has acknowledged yet (the indicators page's badge). */
export async function openAlertCount(db: Db, networkId: string): Promise<number> {
	const r = await db
		.selectFrom('drift_alert')
		.select((eb) => eb.fn.countAll<string>().as('n'))
		.where('network_id', '=', networkId)
		.where('resolved_at', 'is', null)
		.where('acknowledged_at', 'is', null)
		.executeTakeFirst();
	return Number(r?.n ?? 0);
}

export type AcknowledgeResult = { ok: true } | { ok: false; reason: 'not_found' | 'already' };

/** A coordinator takes an open alert of their network into account (once; audited). */
export async function acknowledgeAlert(db: Db, ctx: AuditContext & { actorId: string }, networkId: string, alertId: string, now = new Date()): Promise<AcknowledgeResult> {
	if (!isUuid(alertId)) return { ok: false, reason: 'not_found' };
	return inTransaction(db, async (trx) => {
		const alert = await trx
			.selectFrom('drift_alert')
			.select(['id', 'microstructure_id', 'kind', 'period_key', 'acknowledged_at', 'resolved_at'])
			.where('id', '=', alertId)
			.where('network_id', '=', networkId)
			.forUpdate()
			.executeTakeFirst();
		if (!alert || alert.resolved_at) return { ok: false as const, reason: 'not_found' as const };
		if (alert.acknowledged_at) return { ok: false as const, reason: 'already' as const };
		await trx.updateTable('drift_alert').set({ acknowledged_at: now, acknowledged_by: ctx.actorId }).where('id', '=', alert.id).execute();
		await audit(trx, ctx, {
			action: 'alert.acknowledged',
			targetType: 'drift_alert',
			targetId: alert.id,
			microstructureId: alert.microstructure_id,
			networkId,
			details: { kind: alert.kind, periodKey: alert.period_key }
		});
		return { ok: true as const };
	});
}
