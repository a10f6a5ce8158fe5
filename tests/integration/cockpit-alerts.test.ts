// Drift alerts against a real database, on fixed data with hand-computed expectations: each kind
// raised past its threshold, not raised on it, resolved when the situation is fixed; thresholds per
// network; a burst of concurrent detections raising and notifying once; acknowledgement; bad
// threshold input; and the daily job (schedule + run at start).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { createAppointment, createUser, type Practice } from '../helpers/booking-fixture.ts';
import type { Db } from '../../src/lib/server/db/index.ts';
import type { NetworkRole, Orientation, PatientState, RcpFrequency, RcpStatus } from '../../src/lib/server/db/schema.ts';
import {
	acknowledgeAlert,
	DEFAULT_THRESHOLDS,
	detectAlerts,
	getThresholds,
	listAlerts,
	openAlertCount,
	saveThresholds,
	thresholdSchema,
	thresholdsOf,
	THRESHOLDS,
} from '../../src/lib/server/cockpit/alerts.ts';
import { createAbsence } from '../../src/lib/server/booking/absences.ts';
import { addDays, parisToday } from '../../src/lib/server/patients/lifecycle.ts';
import { parisInstant } from '../../src/lib/server/rcp/schedule.ts';
import { parseForm } from '../../src/lib/server/forms.ts';
import { fill } from '../../src/lib/i18n/index.ts';
import { alerts as frAlerts } from '../../src/lib/i18n/fr/alerts.ts';
import { QUEUES, startJobs } from '../../src/lib/server/jobs/index.ts';

/** A Monday: every expectation below is counted from it. */
const TODAY = '2026-06-15';
const d = (n: number) => addDays(TODAY, n);

let t: TestDb;
let db: Db;

beforeAll(async () => {
	t = await createTestDb();
	db = t.db;
});
afterAll(async () => {
	await t?.close();
});

interface World extends Practice {
	coordinators: string[];
	/** A coordinator whose membership ended, and the network's admin: neither is told. */
	former: string;
	admin: string;
}

/** A network with one microstructure working since 2025-01-01, two coordinators, a former one and an admin. */
async function world(opts: { createdOn?: string } = {}): Promise<World> {
	const tag = randomUUID().slice(0, 8);
	const network = await db.insertInto('network').values({ name: `Réseau ${tag}` }).returning('id').executeTakeFirstOrThrow();
	const createdOn = opts.createdOn ?? '2025-01-01';
	const ms = await db
		.insertInto('microstructure')
		.values({ network_id: network.id, name: `MSP ${tag}`, programmes: ['MSMA'], created_at: parisInstant(createdOn, '09:00') } as never)
		.returning('id')
		.executeTakeFirstOrThrow();
	const site = await db.insertInto('site').values({ microstructure_id: ms.id, name: 'Site', address: '1 rue', postal_code: '67000', city: 'Strasbourg', phone: '03 88 00 00 00' }).returning('id').executeTakeFirstOrThrow();
	const room = await db.insertInto('room').values({ site_id: site.id, name: 'Bureau', archived_at: null }).returning('id').executeTakeFirstOrThrow();
	const member = async (role: NetworkRole, startsOn: string, endsOn: string | null = null) => {
		const user = await createUser(db, role === 'coordination_medicale' ? 'coordinateur_medical' : 'coordinateur_administratif', `Coord${tag}`);
		await db.insertInto('membership').values({ user_id: user.id, network_id: network.id, microstructure_id: null, role, starts_on: startsOn, ends_on: endsOn, created_by: null, ended_by: null }).execute();
		return user.id;
	};
	const medical = await member('coordination_medicale', createdOn);
	const administrative = await member('coordination_administrative', createdOn);
	const former = await member('coordination_medicale', createdOn, d(-10));
	const admin = await member('admin', createdOn);
	return { networkId: network.id, microstructureId: ms.id, siteId: site.id, roomId: room.id, coordinators: [medical, administrative], former, admin };
}

/** A patient and the events of their pathway (inclusion with its orientation). */
async function patient(w: Practice, o: { includedOn: string; orientation?: Orientation; state?: PatientState; firstContactOn?: string | null; renewalDueOn?: string | null; event?: 'include' | 'reinclude' }) {
	const state = o.state ?? (o.firstContactOn === null ? 'inclus' : 'en_suivi');
	const firstContact = o.firstContactOn === undefined ? (state === 'inclus' ? null : addDays(o.includedOn, 7)) : o.firstContactOn;
	const p = await db
		.insertInto('patient')
		.values({
			microstructure_id: w.microstructureId,
			code: `T-${randomUUID().slice(0, 10)}`,
			last_name: 'Secret',
			first_name: 'Nom',
			birth_date: '1970-01-01',
			sex: 'F',
			phone: null,
			email: null,
			programme: 'MSMA',
			motif: 'addiction',
			orientation_origin: null,
			orientation: o.orientation ?? 'les_deux',
			medecin_traitant: null,
			state,
			oriented_on: o.includedOn,
			included_on: o.includedOn,
			renewal_due_on: o.renewalDueOn === undefined ? (state === 'inclus' || state === 'en_suivi' ? addDays(o.includedOn, 365) : null) : o.renewalDueOn,
			first_contact_on: firstContact,
			last_contact_on: firstContact,
			exited_on: state === 'sorti' ? d(-1) : null,
			exit_reason: state === 'sorti' ? 'amelioration' : null,
			consent_on: o.includedOn,
			consent_method: 'oral_atteste',
			consent_attested_by: null,
			transferred_from: null,
			created_by: null,
			anonymised_at: null
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	await db
		.insertInto('patient_event')
		.values({ patient_id: p.id, kind: o.event ?? 'include', occurred_on: o.includedOn, recorded_by: null, details: JSON.stringify({ orientation: o.orientation ?? 'les_deux' }) })
		.execute();
	return p.id;
}

async function rcp(w: Practice, on: string, o: { status?: RcpStatus; frequency?: RcpFrequency } = {}) {
	const template = { name: 'Trame', targetMinutes: 90, minFrequency: o.frequency ?? 'trimestrielle', sections: [], quorumProfessions: [], optionalInvitees: '' };
	const starts = parisInstant(on, '12:30');
	const row = await db
		.insertInto('rcp_session')
		.values({
			microstructure_id: w.microstructureId,
			series_id: null,
			title: 'RCP',
			starts_at: starts,
			ends_at: new Date(starts.getTime() + 90 * 60_000),
			room_id: null,
			visio_url: null,
			programme: null,
			status: o.status ?? 'cloturee',
			template: JSON.stringify(template),
			agenda_built_at: null,
			animator_id: null,
			pointer_item_id: null,
			pointer_since: null,
			started_at: null,
			closed_at: (o.status ?? 'cloturee') === 'cloturee' ? new Date(starts.getTime() + 90 * 60_000) : null,
			closed_by: null,
			created_by: null,
			occurrence_at: null
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	return row.id;
}

/** Nothing drifts: an inclusion towards both professionals ten days ago, an RCP a week ago. */
async function healthy(opts: { createdOn?: string } = {}) {
	const w = await world(opts);
	await patient(w, { includedOn: d(-10), orientation: 'les_deux' });
	await rcp(w, d(-7));
	return w;
}

const detect = (w: Practice, today = TODAY) => detectAlerts(db, { today, networkId: w.networkId });

async function alertsOf(w: Practice) {
	return db.selectFrom('drift_alert').selectAll().where('network_id', '=', w.networkId).orderBy('raised_at').orderBy('kind').execute();
}
const openKinds = async (w: Practice) => (await alertsOf(w)).filter((a) => !a.resolved_at).map((a) => a.kind).sort();

async function alertNotifications(userIds: string[]) {
	return db.selectFrom('notification').select(['user_id', 'title', 'body', 'link']).where('user_id', 'in', userIds).where('kind', '=', 'alert').execute();
}

describe('detection, kind by kind', () => {
	test('a healthy microstructure raises nothing', async () => {
		const w = await healthy();
		const r = await detect(w);
		expect(r).toEqual({ raised: 0, resolved: 0, open: 0 });
		expect(await alertsOf(w)).toEqual([]);
	});

	test('no inclusion for more than 60 days: raised at 61, not at 60, resolved by an inclusion; a young microstructure is left alone', async () => {
		const late = await world();
		await patient(late, { includedOn: d(-61) });
		await rcp(late, d(-7));
		const onTheDot = await world();
		await patient(onTheDot, { includedOn: d(-60) });
		await rcp(onTheDot, d(-7));
		await detect(late);
		await detect(onTheDot);
		const [alert] = await alertsOf(late);
		expect(alert.kind).toBe('no_inclusion');
		expect(alert.period_key).toBe(`depuis-${d(-61)}`);
		expect(alert.details).toMatchObject({ last: d(-61), days: 61, threshold: 60 });
		expect(await alertsOf(onTheDot)).toEqual([]);

		// The same condition the next day: the same row, its numbers moved.
		await detect(late, d(1));
		const [again] = await alertsOf(late);
		expect(again.id).toBe(alert.id);
		expect(again.details).toMatchObject({ days: 62 });

		await patient(late, { includedOn: TODAY });
		const r = await detect(late);
		expect(r.resolved).toBe(1);
		expect((await alertsOf(late))[0].resolved_at).not.toBeNull();

		// Created 59 days ago, no patient yet: too young for this alert.
		const young = await world({ createdOn: d(-59) });
		await rcp(young, d(-3));
		await detect(young);
		expect(await alertsOf(young)).toEqual([]);
		// Never any inclusion, working for 61 days: the alert counts from the start.
		const idle = await world({ createdOn: d(-61) });
		await rcp(idle, d(-3));
		await detect(idle);
		const [never] = await alertsOf(idle);
		expect(never.kind).toBe('no_inclusion');
		expect(never.details).toMatchObject({ last: null, since: d(-61), days: 61 });
	});

	test('no closed RCP for more than six weeks: raised at 43 days, not at 42; cancelled and planned sessions do not count; resolved by a closed session', async () => {
		const late = await world();
		await patient(late, { includedOn: d(-10) });
		await rcp(late, d(-43));
		await rcp(late, d(-5), { status: 'annulee' });
		await rcp(late, d(-2), { status: 'planifiee' });
		const onTheDot = await world();
		await patient(onTheDot, { includedOn: d(-10) });
		await rcp(onTheDot, d(-42));
		await detect(late);
		await detect(onTheDot);
		const [alert] = await alertsOf(late);
		expect(alert.kind).toBe('rcp_missing');
		expect(alert.details).toMatchObject({ last: d(-43), days: 43, limit: 42, frequency: null });
		expect(alert.period_key).toBe(`depuis-${d(-43)}`);
		expect(await alertsOf(onTheDot)).toEqual([]);

		await rcp(late, d(-1));
		await detect(late);
		expect(await openKinds(late)).toEqual([]);
	});

	test('below the template’s frequency: a weekly RCP missed for 8 days is raised, 7 days is not', async () => {
		const late = await world();
		await patient(late, { includedOn: d(-10) });
		await rcp(late, d(-8), { frequency: 'hebdomadaire' });
		const onTheDot = await world();
		await patient(onTheDot, { includedOn: d(-10) });
		await rcp(onTheDot, d(-7), { frequency: 'hebdomadaire' });
		// The template in force is the latest session's: a fortnightly one planned next week.
		const planned = await world();
		await patient(planned, { includedOn: d(-10) });
		await rcp(planned, d(-15), { frequency: 'hebdomadaire' });
		await rcp(planned, d(7), { status: 'planifiee', frequency: 'bimensuelle' });
		for (const w of [late, onTheDot, planned]) await detect(w);
		const [alert] = await alertsOf(late);
		expect(alert.kind).toBe('rcp_missing');
		expect(alert.details).toMatchObject({ last: d(-8), days: 8, limit: 7, frequency: 'hebdomadaire' });
		expect(await alertsOf(onTheDot)).toEqual([]);
		const [fortnight] = await alertsOf(planned);
		expect(fortnight.details).toMatchObject({ days: 15, limit: 14, frequency: 'bimensuelle' });
		// Monthly (31 days) is stricter than six weeks: 32 days without is late.
		const monthly = await world();
		await patient(monthly, { includedOn: d(-10) });
		await rcp(monthly, d(-32), { frequency: 'mensuelle' });
		await detect(monthly);
		expect((await alertsOf(monthly))[0].details).toMatchObject({ days: 32, limit: 31, frequency: 'mensuelle' });
		// Quarterly (92 days) is looser than six weeks: the six weeks apply.
		const quarterly = await world();
		await patient(quarterly, { includedOn: d(-10) });
		await rcp(quarterly, d(-40), { frequency: 'trimestrielle' });
		await detect(quarterly);
		expect(await alertsOf(quarterly)).toEqual([]);
	});

	test('no referral to the social worker in 90 days while there were inclusions; none in the window is no alert; resolved by one', async () => {
		const w = await world();
		await rcp(w, d(-7));
		await patient(w, { includedOn: d(-90), orientation: 'travailleur_social' });
		await patient(w, { includedOn: d(-20), orientation: 'psychologue' });
		await patient(w, { includedOn: d(-5), orientation: 'psychologue', event: 'reinclude' });
		const justIn = await world();
		await rcp(justIn, d(-7));
		await patient(justIn, { includedOn: d(-89), orientation: 'les_deux' });
		await patient(justIn, { includedOn: d(-5), orientation: 'psychologue' });
		await detect(w);
		await detect(justIn);
		const [alert] = await alertsOf(w);
		expect(alert.kind).toBe('no_social_orientation');
		expect(alert.details).toMatchObject({ inclusions: 2, last: d(-90), window: 90 });
		expect(alert.period_key).toBe(`depuis-${d(-90)}`);
		expect(await alertsOf(justIn)).toEqual([]);

		await patient(w, { includedOn: TODAY, orientation: 'les_deux' });
		await detect(w);
		expect(await openKinds(w)).toEqual([]);
	});

	test('renewals overdue: due yesterday is raised, due today is not, patients gone are ignored; resolved when renewed', async () => {
		const w = await healthy();
		const overdue = await patient(w, { includedOn: d(-366), renewalDueOn: d(-1) });
		await patient(w, { includedOn: d(-365), renewalDueOn: TODAY });
		await patient(w, { includedOn: d(-400), state: 'sorti', renewalDueOn: d(-30) });
		await detect(w);
		const [alert] = await alertsOf(w);
		expect(alert.kind).toBe('renewals_overdue');
		expect(alert.details).toMatchObject({ patients: 1, oldest: d(-1) });
		expect(JSON.stringify(alert.details)).not.toContain('Secret');
		const ms = await db.selectFrom('microstructure').select('name').where('id', '=', w.microstructureId).executeTakeFirstOrThrow();
		expect((await alertNotifications(w.coordinators)).map((n) => n.title)).toEqual([`Alerte — ${ms.name}\u00a0: un renouvellement en retard`, `Alerte — ${ms.name}\u00a0: un renouvellement en retard`]);

		await db.updateTable('patient').set({ renewal_due_on: d(364) }).where('id', '=', overdue).execute();
		await detect(w);
		expect(await openKinds(w)).toEqual([]);
	});

	test('first contacts waiting more than 30 days: raised at 31, not at 30; resolved by the first contact', async () => {
		const w = await healthy();
		const waiting = await patient(w, { includedOn: d(-31), firstContactOn: null });
		await patient(w, { includedOn: d(-30), firstContactOn: null });
		await detect(w);
		const [alert] = await alertsOf(w);
		expect(alert.kind).toBe('first_contact_waiting');
		expect(alert.details).toMatchObject({ patients: 1, oldest: d(-31), threshold: 30 });

		await db.updateTable('patient').set({ state: 'en_suivi', first_contact_on: TODAY }).where('id', '=', waiting).execute();
		await detect(w);
		expect(await openKinds(w)).toEqual([]);
	});

	test('an absence in the next 30 days with appointments still to move is raised per absence; one starting in 31 days is not; resolved once moved', async () => {
		const w = await healthy();
		const now = parisInstant(TODAY, '08:00');
		const psy = await createUser(db, 'psychologue', 'Absente', 'Camille');
		const pt = await patient(w, { includedOn: d(-10) });
		const soon = await createAppointment(db, w, psy.id, pt, parisInstant(d(5), '10:00'));
		const later = await createAppointment(db, w, psy.id, pt, parisInstant(d(31), '10:00'));
		const ctx = { actorId: w.coordinators[1] };
		const first = await createAbsence(db, ctx, { professionalId: psy.id, startsOn: d(4), endsOn: d(6), reason: 'conges', note: '' }, TODAY, now);
		const second = await createAbsence(db, ctx, { professionalId: psy.id, startsOn: d(31), endsOn: d(33), reason: 'formation', note: '' }, TODAY, now);
		expect(first.ok && second.ok).toBe(true);
		await detect(w);
		const [alert] = await alertsOf(w);
		expect(alert.kind).toBe('absence_uncovered');
		expect(alert.details).toMatchObject({ absenceId: first.ok ? first.id : '', appointments: 1, from: d(4), until: d(6), professional: 'Camille Absente' });
		expect(alert.period_key).toBe(`absence-${first.ok ? first.id : ''}`);
		// The next day the second absence enters the 30-day horizon: a second alert of the same kind.
		await detect(w, d(1));
		expect(await openKinds(w)).toEqual(['absence_uncovered', 'absence_uncovered']);

		await db.updateTable('appointment').set({ status: 'annule', cancelled_at: now, cancelled_by: psy.id, cancel_reason: 'professionnel' }).where('id', 'in', [soon.id, later.id]).execute();
		await detect(w, d(1));
		expect(await openKinds(w)).toEqual([]);
	});
});

describe('thresholds', () => {
	test('per network: the same data drifts in one network and not in the other; a change resolves, and a later occurrence is a new alert', async () => {
		const strict = await world();
		const lenient = await world();
		for (const w of [strict, lenient]) {
			await patient(w, { includedOn: d(-61) });
			await rcp(w, d(-7));
		}
		await saveThresholds(db, { actorId: lenient.coordinators[0] }, lenient.networkId, { ...DEFAULT_THRESHOLDS, noInclusionDays: 90 });
		expect(await getThresholds(db, lenient.networkId)).toEqual({ ...DEFAULT_THRESHOLDS, noInclusionDays: 90 });
		expect(await getThresholds(db, strict.networkId)).toEqual(DEFAULT_THRESHOLDS);
		await detect(strict);
		await detect(lenient);
		expect(await openKinds(strict)).toEqual(['no_inclusion']);
		expect(await openKinds(lenient)).toEqual([]);
		const audit = await db.selectFrom('audit_event').select(['action', 'details', 'network_id']).where('action', '=', 'alert.thresholds_updated').where('network_id', '=', lenient.networkId).execute();
		expect(audit).toHaveLength(1);
		expect(audit[0].details).toMatchObject({ after: { noInclusionDays: 90 } });

		// Raising the strict network's threshold resolves its alert; lowering it back raises a new one.
		await saveThresholds(db, { actorId: strict.coordinators[0] }, strict.networkId, { ...DEFAULT_THRESHOLDS, noInclusionDays: 90 });
		await detect(strict);
		expect(await openKinds(strict)).toEqual([]);
		await saveThresholds(db, { actorId: strict.coordinators[0] }, strict.networkId, DEFAULT_THRESHOLDS);
		await detect(strict);
		const rows = await alertsOf(strict);
		expect(rows.map((r) => [r.period_key, r.resolved_at === null])).toEqual([
			[`depuis-${d(-61)}`, false],
			[`depuis-${d(-61)}#2`, true]
		]);
		// Each occurrence was notified once to each coordinator.
		expect(await alertNotifications(strict.coordinators)).toHaveLength(4);
	});

	test('bad input is refused with a clear French message per field; stored values out of range fall back to the defaults', () => {
		const schema = thresholdSchema((key) => fill(frAlerts.thresholds.range, { min: THRESHOLDS[key].min, max: THRESHOLDS[key].max }));
		const good = { noInclusionDays: '45', rcpDays: ' 28 ', socialOrientationDays: '120', absenceHorizonDays: '14', renewalGraceDays: '0', firstContactDays: '21' };
		expect(schema.parse(good)).toEqual({ noInclusionDays: 45, rcpDays: 28, socialOrientationDays: 120, absenceHorizonDays: 14, renewalGraceDays: 0, firstContactDays: 21 });
		for (const bad of ['-5', '0', '13', '366', '1e9', '12.5', '12,5', 'abc', '', '99999', '１２']) {
			const r = schema.safeParse({ ...good, noInclusionDays: bad });
			expect(r.success, bad).toBe(false);
			expect(r.error!.issues[0].path).toEqual(['noInclusionDays']);
			expect(r.error!.issues[0].message).toBe('Indiquez un nombre entier de jours entre 14 et 365.');
		}
		// Through the form helper, as the page does: a 400 naming the field, nothing parsed.
		const form = new FormData();
		for (const [k, v] of Object.entries({ ...good, rcpDays: '-3', firstContactDays: '100000' })) form.set(k, v);
		const parsed = parseForm(schema, form, 'fr');
		expect(parsed.ok).toBe(false);
		if (!parsed.ok) {
			expect(parsed.failure.status).toBe(400);
			expect(parsed.failure.data.errors).toEqual({ rcpDays: 'Indiquez un nombre entier de jours entre 7 et 365.', firstContactDays: 'Indiquez un nombre entier de jours entre 7 et 180.' });
		}
		const missing = new FormData();
		missing.set('rcpDays', '42');
		const r2 = parseForm(schema, missing, 'fr');
		expect(r2.ok).toBe(false);
		expect(thresholdsOf({ noInclusionDays: -4, rcpDays: 'x', firstContactDays: 20, socialOrientationDays: 1e9 })).toEqual({ ...DEFAULT_THRESHOLDS, firstContactDays: 20 });
	});
});

describe('idempotence and notifications', () => {
	test('five concurrent detections: one row per condition, one notification per coordinator, none to a former coordinator or the admin', async () => {
		const w = await world();
		await patient(w, { includedOn: d(-61) });
		await rcp(w, d(-50));
		const results = await Promise.all(Array.from({ length: 5 }, () => detect(w)));
		expect(results.reduce((n, r) => n + r.raised, 0)).toBe(2);
		const rows = await alertsOf(w);
		expect(rows.map((r) => r.kind).sort()).toEqual(['no_inclusion', 'rcp_missing']);
		const sent = await alertNotifications([...w.coordinators, w.former, w.admin]);
		expect(sent).toHaveLength(4);
		for (const c of w.coordinators) expect(sent.filter((n) => n.user_id === c)).toHaveLength(2);
		const ms = await db.selectFrom('microstructure').select('name').where('id', '=', w.microstructureId).executeTakeFirstOrThrow();
		expect(sent.map((n) => n.title).sort()).toEqual(
			[`Alerte — ${ms.name}\u00a0: aucune RCP clôturée depuis 50\u00a0jours`, `Alerte — ${ms.name}\u00a0: aucune inclusion depuis 61\u00a0jours`].flatMap((x) => [x, x]).sort()
		);
		for (const n of sent) {
			expect(n.link).toBe(`/pilotage/${w.networkId}/alertes`);
			expect(`${n.title} ${n.body}`).not.toContain('Secret');
		}
		// Again the same day: nothing found new, nothing written (the rows keep their version).
		const xmins = async () => (await sql<{ x: string }>`select xmin::text as x from drift_alert where network_id = ${w.networkId} order by id`.execute(db)).rows.map((r) => r.x);
		const before = await xmins();
		await detect(w);
		expect(await xmins()).toEqual(before);
		// Again, and on the next days: nothing new to tell.
		await Promise.all([detect(w), detect(w, d(1)), detectAlerts(db, { today: d(2) })]);
		expect(await alertNotifications(w.coordinators)).toHaveLength(4);
		expect(await alertsOf(w)).toHaveLength(2);
	});
});

describe('reading and acknowledging', () => {
	test('acknowledged once, audited, kept apart and kept through re-detection; another network’s alert is not found', async () => {
		const w = await world();
		await patient(w, { includedOn: d(-61) });
		await rcp(w, d(-50));
		const other = await world();
		await patient(other, { includedOn: d(-70) });
		await rcp(other, d(-3));
		await detect(w);
		await detect(other);
		expect(await openAlertCount(db, w.networkId)).toBe(2);
		const [first] = await alertsOf(w);
		const [foreign] = await alertsOf(other);
		const ctx = { actorId: w.coordinators[1], ip: '127.0.0.1', userAgent: 'vitest' };
		expect(await acknowledgeAlert(db, ctx, w.networkId, foreign.id)).toEqual({ ok: false, reason: 'not_found' });
		expect(await acknowledgeAlert(db, ctx, w.networkId, 'not-a-uuid')).toEqual({ ok: false, reason: 'not_found' });
		expect(await acknowledgeAlert(db, ctx, w.networkId, first.id)).toEqual({ ok: true });
		expect(await acknowledgeAlert(db, ctx, w.networkId, first.id)).toEqual({ ok: false, reason: 'already' });
		expect(await openAlertCount(db, w.networkId)).toBe(1);
		const audit = await db.selectFrom('audit_event').selectAll().where('action', '=', 'alert.acknowledged').where('target_id', '=', first.id).execute();
		expect(audit).toHaveLength(1);
		expect(audit[0]).toMatchObject({ actor_id: w.coordinators[1], target_type: 'drift_alert', network_id: w.networkId, microstructure_id: w.microstructureId });

		await detect(w, d(1));
		const list = await listAlerts(db, w.networkId);
		expect(list.acknowledged.map((a) => a.id)).toEqual([first.id]);
		expect(list.acknowledged[0].acknowledgedBy).toMatch(/^Camille Coord/);
		expect(list.open).toHaveLength(1);
		expect(list.open[0].link).toMatch(new RegExp(`^/ms/${w.microstructureId}/`));

		// Resolved: out of the open lists, into the recently resolved; it cannot be acknowledged any more.
		await patient(w, { includedOn: d(1) });
		await rcp(w, d(1));
		await detect(w, d(1));
		const after = await listAlerts(db, w.networkId);
		expect(after.open).toEqual([]);
		expect(after.acknowledged).toEqual([]);
		expect(after.resolved).toHaveLength(2);
		expect(await acknowledgeAlert(db, ctx, w.networkId, after.resolved.find((a) => a.id !== first.id)!.id)).toEqual({ ok: false, reason: 'not_found' });
		expect(await openAlertCount(db, w.networkId)).toBe(0);
	});
});

describe('the daily job', () => {
	test('scheduled at 06:00 Paris, run once at start, and a second process adds nothing', async () => {
		const today = parisToday();
		const w = await world({ createdOn: addDays(today, -400) });
		await patient(w, { includedOn: addDays(today, -100) });
		await rcp(w, addDays(today, -3));
		const jobs = await startJobs({ db, pool: t.pool, pollingIntervalSeconds: 0.5 });
		const again = await startJobs({ db, pool: t.pool, pollingIntervalSeconds: 0.5 });
		try {
			const schedules = await jobs.boss.getSchedules();
			expect(schedules.map((s) => `${s.name} ${s.cron} ${s.timezone}`)).toContain(`${QUEUES.driftAlerts} 0 6 * * * Europe/Paris`);
			const deadline = Date.now() + 30_000;
			while ((await openKinds(w)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
			expect(await openKinds(w)).toEqual(['no_inclusion']);
			await new Promise((r) => setTimeout(r, 1_500));
			expect(await alertNotifications(w.coordinators)).toHaveLength(2);
		} finally {
			await Promise.all([jobs.stop(), again.stop()]);
		}
	}, 60_000);
});
