// Appointment reminders through the real job queue (pg-boss on the test database) and a real SMTP
// server in the test process: sent once, never after a cancellation, still sent after a restart
// of the queue and after a kill -9 of the process that scheduled them; the text names no
// programme, motive, profession or professional.
process.env.LOG_LEVEL = 'silent';

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { config } from '../../src/lib/server/config.ts';
import { createDb, startEmbedded, type Db } from '../../src/lib/server/db/index.ts';
import { cancelReminders, reminderMessage, remindersOf, reminderTimes, scheduleReminders, sendReminder, setReminderConsent } from '../../src/lib/server/booking/reminders.ts';
import { registerSmsProvider, smsAvailable, SMS_UNAVAILABLE_REASON } from '../../src/lib/server/booking/sms.ts';
import { QUEUES, startJobs, type Jobs } from '../../src/lib/server/jobs/index.ts';
import { addDays, parisToday } from '../../src/lib/server/patients/lifecycle.ts';
import { parisInstant } from '../../src/lib/server/rcp/schedule.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { startMailbox, type Mailbox } from '../helpers/mailbox.ts';
import { cancelAppointment, createAppointment, createPatient, createPractice, createUser, SITE, type Practice } from '../helpers/booking-fixture.ts';
import { databaseUrlFor } from '../helpers/global-setup.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOUR = 3600_000;
/** Words a reminder must never carry: programmes, motives, professions. */
const FORBIDDEN = [/addict/i, /psycholog/i, /psychiatr/i, /social/i, /MSMA/i, /MSPC/i, /microstructure/i, /précarit/i, /santé mentale/i, /alcool/i, /tabac/i, /drogue/i, /sevrage/i];

let testDb: TestDb;
let db: Db;
let mailbox: Mailbox;
let practice: Practice;
let savedSmtp: string | undefined;
const running: Jobs[] = [];

beforeAll(async () => {
	testDb = await createTestDb();
	db = testDb.db;
	mailbox = await startMailbox();
	savedSmtp = config.smtpUrl;
	config.smtpUrl = mailbox.url;
	practice = await createPractice(db);
});

afterAll(async () => {
	for (const jobs of running) await jobs.stop().catch(() => {});
	config.smtpUrl = savedSmtp;
	await mailbox?.close();
	await testDb?.close();
});

async function queue(): Promise<Jobs> {
	const jobs = await startJobs({ db, pool: testDb.pool, pollingIntervalSeconds: 0.5, upkeep: false });
	running.push(jobs);
	return jobs;
}

let n = 0;
/** A patient who agreed to e-mail reminders, with an appointment `leadMs` after 48 h from now. */
async function appointmentWithReminder(leadMs: number, patient: { reminderSms?: boolean; phone?: string | null } = {}) {
	n += 1;
	const email = `patient${n}-${Date.now()}@example.test`;
	const pro = await createUser(db, 'psychologue', `Lefebvre${n}`, 'Hélène');
	const p = await createPatient(db, practice, { email, reminderEmail: true, reminderSms: patient.reminderSms, phone: patient.phone ?? null, lastName: `Martin${n}` });
	const startsAt = new Date(Date.now() + 48 * HOUR + leadMs);
	const appointment = await db.transaction().execute(async (trx) => {
		const a = await createAppointment(trx, practice, pro.id, p.id, startsAt);
		await scheduleReminders(trx, a.id);
		return a;
	});
	// The morning reminder exists only when 08:00 Paris comes before the appointment, which
	// depends on the hour this test runs at.
	const morning = reminderTimes(startsAt).find((t) => t.kind === 'matin')!.dueAt < startsAt;
	return { email, pro, patient: p, appointment, startsAt, morning };
}

const mailsTo = (to: string) => mailbox.received.filter((m) => m.to.includes(to.toLowerCase()));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000) {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(100);
	}
}

describe('scheduling', () => {
	test('writes the 48 h and morning reminders per consented channel, skips past ones, is idempotent, and cancels', async () => {
		const pro = await createUser(db, 'travailleur_social', 'Garnier');
		const both = await createPatient(db, practice, { email: 'a@example.test', phone: '06 00 00 00 01', reminderEmail: true, reminderSms: true });
		const noConsent = await createPatient(db, practice, { email: 'b@example.test', phone: '06 00 00 00 02' });
		// 2026-12-10 14:30 Paris, scheduled on 2026-12-01: both kinds are in the future.
		const startsAt = new Date('2026-12-10T13:30:00Z');
		const now = new Date('2026-12-01T09:00:00Z');
		const a = await createAppointment(db, practice, pro.id, both.id, startsAt);
		const planned = await scheduleReminders(db, a.id, now);
		expect(planned.map((r) => `${r.channel}/${r.kind}/${r.status}`).sort()).toEqual(['email/j_moins_2/prevu', 'email/matin/prevu', 'sms/j_moins_2/non_envoye', 'sms/matin/non_envoye']);
		const rows = await remindersOf(db, a.id);
		expect(rows).toHaveLength(4);
		expect(rows.find((r) => r.channel === 'email' && r.kind === 'j_moins_2')!.due_at.toISOString()).toBe('2026-12-08T13:30:00.000Z');
		// 08:00 Paris in winter is 07:00 UTC.
		expect(rows.find((r) => r.channel === 'email' && r.kind === 'matin')!.due_at.toISOString()).toBe('2026-12-10T07:00:00.000Z');
		expect(rows.filter((r) => r.channel === 'sms').every((r) => r.last_error === SMS_UNAVAILABLE_REASON)).toBe(true);
		expect(smsAvailable()).toBe(false);
		// Twice: nothing more.
		await scheduleReminders(db, a.id, now);
		expect(await remindersOf(db, a.id)).toHaveLength(4);
		// Cancelling marks the pending ones only.
		expect(await cancelReminders(db, a.id)).toBe(2);
		expect((await remindersOf(db, a.id)).map((r) => r.status).sort()).toEqual(['annule', 'annule', 'non_envoye', 'non_envoye']);

		// Summer time: 08:00 Paris is 06:00 UTC; a reminder already past is skipped.
		const summer = new Date('2026-07-02T08:00:00Z');
		const b = await createAppointment(db, practice, pro.id, both.id, summer);
		const late = await scheduleReminders(db, b.id, new Date('2026-07-01T06:30:00Z'));
		expect(late.filter((r) => r.channel === 'email').map((r) => [r.kind, r.dueAt.toISOString()])).toEqual([['matin', '2026-07-02T06:00:00.000Z']]);

		// No consent, no reminder.
		const c = await createAppointment(db, practice, pro.id, noConsent.id, new Date('2026-12-11T13:30:00Z'));
		expect(await scheduleReminders(db, c.id, now)).toEqual([]);
	});

	test('with an SMS provider registered, SMS reminders are planned', async () => {
		const sent: string[] = [];
		registerSmsProvider({ name: 'test', send: async (_to, text) => void sent.push(text) });
		try {
			expect(smsAvailable()).toBe(true);
			const pro = await createUser(db, 'psychologue', 'Roux');
			const p = await createPatient(db, practice, { phone: '06 00 00 00 03', reminderSms: true });
			const a = await createAppointment(db, practice, pro.id, p.id, new Date('2026-12-15T09:00:00Z'));
			const planned = await scheduleReminders(db, a.id, new Date('2026-12-01T09:00:00Z'));
			expect(planned.map((r) => `${r.channel}/${r.status}`)).toEqual(['sms/prevu', 'sms/prevu']);
		} finally {
			registerSmsProvider(undefined);
		}
	});

	test('the text: date, Paris time, address and phone; no programme, motive, profession or name', () => {
		for (const channel of ['email', 'sms'] as const) {
			// 30 March 2026 is after the spring change: 16:15 Paris = 14:15 UTC.
			const { subject, text } = reminderMessage({ startsAt: new Date('2026-03-30T14:15:00Z'), siteName: 'Centre d’addictologie', address: SITE.address, postalCode: SITE.postal_code, city: SITE.city, phone: SITE.phone }, channel);
			expect(text).toContain('lundi 30 mars 2026');
			expect(text).toContain('16\u00a0h\u00a015');
			expect(text).toContain(SITE.address);
			expect(text).toContain(SITE.phone);
			for (const word of FORBIDDEN) expect(`${subject} ${text}`).not.toMatch(word);
		}
	});
});

describe('sending through the queue', () => {
	test('sent exactly once, even with two queues and repeated dispatches, with a discreet text', async () => {
		const { email, pro, patient, appointment, startsAt, morning } = await appointmentWithReminder(3_000, { reminderSms: true, phone: '06 11 22 33 44' });
		const [a, b] = await Promise.all([queue(), queue()]);
		const mail = await mailbox.waitFor(email, 0, 30_000);
		// More dispatches from both "processes" while the row is already sent.
		await Promise.all([a.dispatchNow(), b.dispatchNow(), a.dispatchNow(), b.dispatchNow()]);
		await sleep(3_000);
		expect(mailsTo(email)).toHaveLength(1);
		const rows = await remindersOf(db, appointment.id);
		const sent = rows.find((r) => r.channel === 'email' && r.kind === 'j_moins_2')!;
		expect(sent.status).toBe('envoye');
		expect(sent.attempts).toBe(1);
		expect(rows.find((r) => r.channel === 'email' && r.kind === 'matin')?.status).toBe(morning ? 'prevu' : undefined);
		expect(rows.filter((r) => r.channel === 'sms').map((r) => r.status)).toEqual(morning ? ['non_envoye', 'non_envoye'] : ['non_envoye']);

		expect(mail.subject).toBe('Rappel de rendez-vous');
		const time = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', hour: 'numeric', minute: '2-digit' }).format(startsAt).replace(':', '\u00a0h\u00a0');
		expect(mail.text).toContain(time);
		expect(mail.text).toContain(SITE.address);
		expect(mail.text).toContain(SITE.phone);
		for (const word of [...FORBIDDEN, new RegExp(pro.last_name), /Hélène/, new RegExp(patient.last_name!), new RegExp(patient.code)]) expect(`${mail.subject}\n${mail.text}`).not.toMatch(word);
		await Promise.all([a.stop(), b.stop()]);
	});

	test('never sent after a cancellation, including cancellations racing the sending', async () => {
		const jobs = await queue();
		// Cancelled before its time.
		const early = await appointmentWithReminder(2_000);
		await cancelAppointment(db, early.appointment.id, early.pro.id, cancelReminders);
		// A burst falling due together, half of them cancelled while the queue sends.
		const burst = await Promise.all(Array.from({ length: 12 }, () => appointmentWithReminder(1_500)));
		await sleep(1_000);
		await Promise.all(burst.filter((_, i) => i % 2 === 0).map((x) => cancelAppointment(db, x.appointment.id, x.pro.id, cancelReminders)));
		await jobs.dispatchNow();
		await waitUntil(async () => {
			const left = await db.selectFrom('appointment_reminder').select('id').where('appointment_id', 'in', burst.map((x) => x.appointment.id)).where('kind', '=', 'j_moins_2').where('status', '=', 'prevu').execute();
			return left.length === 0;
		}, 'every burst reminder sent or cancelled');
		await sleep(1_500);
		expect(mailsTo(early.email)).toHaveLength(0);
		expect((await remindersOf(db, early.appointment.id)).map((r) => r.status)).toEqual(early.morning ? ['annule', 'annule'] : ['annule']);
		for (const [i, x] of burst.entries()) {
			const row = (await remindersOf(db, x.appointment.id)).find((r) => r.kind === 'j_moins_2')!;
			// A reminder is mailed if and only if it is marked sent; a cancelled one never.
			expect(mailsTo(x.email)).toHaveLength(row.status === 'envoye' ? 1 : 0);
			if (i % 2 === 1) expect(row.status).toBe('envoye');
			else expect(['annule', 'envoye']).toContain(row.status);
		}
		await jobs.stop();
	});

	test('still sent after a restart of the queue (stopped after scheduling, a new one started)', async () => {
		const first = await queue();
		const x = await appointmentWithReminder(2_500);
		await first.stop();
		await sleep(3_500);
		expect(mailsTo(x.email)).toHaveLength(0);
		const second = await queue();
		await mailbox.waitFor(x.email, 0, 30_000);
		await sleep(1_500);
		expect(mailsTo(x.email)).toHaveLength(1);
		await second.stop();
	});

	test('a failing SMTP server: retried, not marked sent, then sent once when it answers', async () => {
		const x = await appointmentWithReminder(1_000);
		config.smtpUrl = 'smtp://127.0.0.1:1?connectionTimeout=500&greetingTimeout=500';
		await sleep(1_200);
		const id = (await remindersOf(db, x.appointment.id)).find((r) => r.kind === 'j_moins_2')!.id;
		await expect(sendReminder(db, id)).rejects.toThrow();
		let row = (await remindersOf(db, x.appointment.id)).find((r) => r.id === id)!;
		expect(row.status).toBe('prevu');
		expect(row.attempts).toBe(1);
		expect(row.last_error).toBeTruthy();
		config.smtpUrl = mailbox.url;
		expect(await sendReminder(db, id)).toBe('envoye');
		expect(await sendReminder(db, id)).toBe('deja_traite');
		row = (await remindersOf(db, x.appointment.id)).find((r) => r.id === id)!;
		expect(row.status).toBe('envoye');
		expect(mailsTo(x.email)).toHaveLength(1);
	});
});

describe('consent and absences', () => {
	test('consent given, changed and withdrawn on the record brings the planned appointments’ reminders in line', async () => {
		const pro = await createUser(db, 'psychologue', 'Consent');
		const p = await createPatient(db, practice, {});
		const ms = { id: practice.microstructureId, networkId: practice.networkId };
		// 14:00 Paris in five days: both reminders are ahead whatever the hour now.
		const a = await createAppointment(db, practice, pro.id, p.id, parisInstant(addDays(parisToday(), 5), '14:00'));
		await scheduleReminders(db, a.id);
		expect(await remindersOf(db, a.id)).toEqual([]);
		// A consent without its contact is refused and changes nothing.
		expect(await setReminderConsent(db, { actorId: pro.id }, ms, p.id, { email: null, phone: null, reminderEmail: true, reminderSms: false })).toEqual({ ok: false, error: expect.stringContaining('adresse e-mail') });
		expect((await db.selectFrom('patient').select('reminder_email').where('id', '=', p.id).executeTakeFirstOrThrow()).reminder_email).toBe(false);
		expect(await setReminderConsent(db, { actorId: pro.id }, ms, p.id, { email: 'consent@example.test', phone: '06 00 00 00 09', reminderEmail: true, reminderSms: true })).toEqual({ ok: true });
		let rows = await remindersOf(db, a.id);
		expect(rows.map((r) => `${r.channel}/${r.status}`).sort()).toEqual(['email/prevu', 'email/prevu', 'sms/non_envoye', 'sms/non_envoye']);
		// Withdrawn by e-mail: those reminders go, the SMS ones stay.
		expect(await setReminderConsent(db, { actorId: pro.id }, ms, p.id, { email: 'consent@example.test', phone: '06 00 00 00 09', reminderEmail: false, reminderSms: true })).toEqual({ ok: true });
		rows = await remindersOf(db, a.id);
		expect(rows.map((r) => r.channel)).toEqual(['sms', 'sms']);
		const audited = await db.selectFrom('audit_event').select('action').where('target_id', '=', p.id).where('action', '=', 'patient.reminder_consent').execute();
		expect(audited).toHaveLength(2);
	});

	test('an appointment whose date an absence cancelled is not reminded (it is to be moved)', async () => {
		const x = await appointmentWithReminder(500);
		await db.updateTable('permanence_occurrence').set({ cancelled_at: new Date(), cancel_reason: 'absence' }).where('id', '=', x.appointment.occurrence_id).execute();
		await sleep(700);
		const id = (await remindersOf(db, x.appointment.id)).find((r) => r.kind === 'j_moins_2')!.id;
		expect(await sendReminder(db, id)).toBe('non_envoye');
		expect((await remindersOf(db, x.appointment.id)).find((r) => r.id === id)!.last_error).toMatch(/déplacer/);
		expect(mailsTo(x.email)).toHaveLength(0);
	});
});

describe('upkeep', () => {
	test('the nightly schedules are registered once, and extend-occurrences materialises a series', async () => {
		const jobs = await startJobs({ db, pool: testDb.pool, pollingIntervalSeconds: 0.5 });
		running.push(jobs);
		const again = await startJobs({ db, pool: testDb.pool, pollingIntervalSeconds: 0.5 });
		running.push(again);
		const schedules = await jobs.boss.getSchedules();
		expect(schedules.map((s) => `${s.name} ${s.cron} ${s.timezone}`).sort()).toEqual([
			`${QUEUES.driftAlerts} 0 6 * * * Europe/Paris`,
			`${QUEUES.extendOccurrences} 15 3 * * * Europe/Paris`,
			`${QUEUES.messageEmailDispatch} * * * * * Europe/Paris`,
			`${QUEUES.messageRetention} 45 3 * * * Europe/Paris`,
			`${QUEUES.reminderDispatch} * * * * * Europe/Paris`
		]);
		// A series written without its occurrences (as if created before the horizon moved on).
		const pro = await createUser(db, 'psychologue', 'Upkeep');
		const startsOn = addDays(parisToday(), 7);
		const weekday = ((new Date(`${startsOn}T12:00:00Z`).getUTCDay() + 6) % 7) + 1;
		const permanence = await db
			.insertInto('permanence')
			.values({ microstructure_id: practice.microstructureId, professional_id: pro.id, room_id: null, weekday, every_weeks: 2, starts_on: startsOn, ends_on: null, start_time: '09:00', end_time: '12:00', first_minutes: 60, followup_minutes: 45, previous_id: null, created_by: null })
			.returning('id')
			.executeTakeFirstOrThrow();
		await jobs.boss.send(QUEUES.extendOccurrences, null);
		await waitUntil(async () => (await db.selectFrom('permanence_occurrence').select('id').where('permanence_id', '=', permanence.id).execute()).length > 5, 'occurrences materialised');
		const occurrences = await db.selectFrom('permanence_occurrence').select(['on_date', 'starts_at']).where('permanence_id', '=', permanence.id).orderBy('on_date').execute();
		expect(occurrences[0].on_date).toBe(startsOn);
		expect(addDays(occurrences[0].on_date, 14)).toBe(occurrences[1].on_date);
		await Promise.all([jobs.stop(), again.stop()]);
	});
});

describe('kill -9', () => {
	let dataDir: string | undefined;
	let dbName: string | undefined;
	const base = process.env.DATABASE_URL;

	afterAll(async () => {
		if (dataDir) rmSync(dataDir, { recursive: true, force: true });
		if (dbName && base) {
			const admin = new pg.Client({ connectionString: base });
			await admin.connect();
			// pg's Pool.end() resolves before its clients have disconnected: wait for the server to see
			// them gone, or the forced drop kills a closing client (an uncaught error), as in helpers/db.ts.
			const deadline = Date.now() + 10_000;
			while (Date.now() < deadline) {
				const r = await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1', [dbName]);
				if (r.rows[0].n === 0) break;
				await sleep(20);
			}
			await admin.query(`drop database if exists ${dbName} with (force)`);
			await admin.end();
		}
	});

	test('a reminder scheduled by a process killed before sending it is sent once by the next one', async () => {
		const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', SMTP_URL: mailbox.url };
		let childDb: { db: Db; pool: pg.Pool; close(): Promise<void> };
		if (base) {
			dbName = `msh_remind_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
			const admin = new pg.Client({ connectionString: base });
			await admin.connect();
			await admin.query(`create database ${dbName}`);
			await admin.end();
			env.DATABASE_URL = databaseUrlFor(base, dbName);
		} else {
			dataDir = mkdtempSync(join(tmpdir(), 'msh-remind-'));
			delete env.DATABASE_URL;
			env.DATA_DIR = dataDir;
		}
		const child = spawn('npx', ['tsx', 'tests/integration/reminders-child.ts'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		let stdout = '';
		let stderr = '';
		child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
		const info = await new Promise<{ pid: number; email: string; appointmentId: string; dueAt: string }>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`child not ready\n${stdout}\n${stderr}`)), 90_000);
			child.stdout!.on('data', (c: Buffer) => {
				stdout += c.toString();
				const line = stdout.split('\n').find((l) => l.startsWith('SCHEDULED '));
				if (!line) return;
				clearTimeout(timer);
				resolve(JSON.parse(line.slice('SCHEDULED '.length)));
			});
			child.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal})\n${stdout}\n${stderr}`)));
		});
		// The scheduling committed and its queue runs; kill the whole process group before the due time.
		expect(new Date(info.dueAt).getTime()).toBeGreaterThan(Date.now());
		process.kill(-child.pid!, 'SIGKILL');
		await exited;
		await waitUntil(() => {
			try {
				process.kill(info.pid, 0);
				return false;
			} catch {
				return true;
			}
		}, 'the child to be gone');
		expect(mailsTo(info.email)).toHaveLength(0);

		if (base) {
			const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 5 });
			// A connection the final forced drop ends is expected, not a test failure.
			pool.on('error', () => {});
			const d = createDb(pool);
			childDb = { db: d, pool, close: () => d.destroy() };
		} else {
			const embedded = await startEmbedded(dataDir);
			const d = createDb(embedded.pool);
			childDb = { db: d, pool: embedded.pool, close: async () => { await d.destroy(); await embedded.close(); } };
		}
		try {
			const jobs = await startJobs({ db: childDb.db, pool: childDb.pool, pollingIntervalSeconds: 0.5, upkeep: false });
			try {
				await mailbox.waitFor(info.email, 0, 30_000);
				await jobs.dispatchNow();
				await sleep(2_000);
				expect(mailsTo(info.email)).toHaveLength(1);
				const rows = await remindersOf(childDb.db, info.appointmentId);
				expect(rows.find((r) => r.kind === 'j_moins_2')!.status).toBe('envoye');
			} finally {
				await jobs.stop();
			}
		} finally {
			await childDb.close();
		}
	}, 150_000);
});
