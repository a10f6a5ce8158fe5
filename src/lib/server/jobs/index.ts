// The durable job queue: pg-boss on the app's own PostgreSQL (or the embedded PGlite), started by
// the custom server (server/index.ts) and stopped with it. Jobs live in the database (schema
// `pgboss`), so they survive a restart or a kill -9, and pg-boss fetches them with
// `FOR UPDATE SKIP LOCKED`, so a job runs in one process at a time however many are started.
//
// Reminders use a transactional outbox: the booking's transaction writes appointment_reminder rows
// (booking/reminders.ts), whatever process books (a request, the seed, a test) and whether or not a
// queue runs there. The dispatcher, a pg-boss cron job (once a minute across all processes, plus
// once at each start to catch up after a restart), turns the rows falling due into `reminder-send`
// jobs timed to their due instant, one per reminder (an exclusive queue keyed by the reminder's
// id: a second dispatch of the same row adds nothing while one is waiting or running). The send
// itself claims the row in the sending transaction, so a reminder goes out once even if two jobs
// ever carried it, and never after a cancellation.
//
// Code here is loaded by the custom server: no `$lib`, `$env` or `$app`.
import { PgBoss, type Job } from 'pg-boss';
import type pg from 'pg';
import type { Db } from '../db/index.ts';
import { dueReminderIds, sendReminder } from '../booking/reminders.ts';
import { extendOccurrences, horizon } from '../booking/permanences.ts';
import { log } from '../log.ts';
import { dispatchUnreadEmails } from '../messaging/email.ts';
import { purgeExpiredMessages } from '../messaging/retention.ts';
import { detectAlerts } from '../cockpit/alerts.ts';

export const QUEUES = {
	reminderDispatch: 'reminder-dispatch',
	reminderSend: 'reminder-send',
	extendOccurrences: 'extend-occurrences',
	messageEmailDispatch: 'message-email-dispatch',
	messageRetention: 'message-retention',
	driftAlerts: 'drift-alerts'
} as const;

/** A dispatch enqueues the reminders falling due within this window, each timed to its instant. */
const LOOKAHEAD_MS = 2 * 60_000;

export interface JobsOptions {
	db: Db;
	/** The pool under `db`: pg-boss runs its statements on it (the embedded database has one connection). */
	pool: pg.Pool;
	/** How often an idle worker looks for work (seconds, pg-boss's minimum is 0.5). */
	pollingIntervalSeconds?: number;
	/** A send job left active this long (a process killed mid-send) is retried. */
	sendExpireSeconds?: number;
	/** Runs the daily upkeep jobs (occurrence extension); off in tests that only look at reminders. */
	upkeep?: boolean;
}

export interface Jobs {
	boss: PgBoss;
	/** Runs a dispatch now (through the queue) instead of waiting for the next minute. */
	dispatchNow(): Promise<void>;
	/** Runs the unread-messages e-mail dispatch now (through the queue). */
	unreadEmailsNow(): Promise<void>;
	stop(): Promise<void>;
}

/** pg-boss's statements through the app's pool, multi-statement results included. */
function adapter(pool: pg.Pool) {
	return {
		executeSql: (text: string, values?: unknown[]) => pool.query(text, values as unknown[] | undefined) as unknown as Promise<{ rows: unknown[] }>
	};
}

// Starts in one process run one after another: on the embedded database every instance shares one
// session, where pg-boss's advisory lock (which orders concurrent installs across processes) is
// re-entrant and so orders nothing; two installs interleaved there broke the connection.
let starting: Promise<unknown> = Promise.resolve();

export function startJobs(options: JobsOptions): Promise<Jobs> {
	const run = starting.then(() => start(options));
	starting = run.catch(() => {});
	return run;
}

async function start(options: JobsOptions): Promise<Jobs> {
	const { db, pool } = options;
	const polling = options.pollingIntervalSeconds ?? 2;
	const boss = new PgBoss({
		db: adapter(pool),
		schema: 'pgboss',
		// The instance registry and queue statistics are for dashboards we do not run.
		registerInstance: false,
		persistQueueStats: false,
		persistWarnings: false
	});
	boss.on('error', (error: Error) => log('error', 'job queue error', { error: error.message }));
	await boss.start();

	await boss.createQueue(QUEUES.reminderDispatch, { policy: 'singleton', retryLimit: 0, expireInSeconds: 120 });
	await boss.createQueue(QUEUES.reminderSend, {
		policy: 'exclusive',
		retryLimit: 6,
		retryDelay: 30,
		retryBackoff: true,
		expireInSeconds: options.sendExpireSeconds ?? 120
	});

	async function dispatch(): Promise<void> {
		const horizon = new Date(Date.now() + LOOKAHEAD_MS);
		const due = await dueReminderIds(db, 500, horizon);
		if (due.length === 0) return;
		const rows = await db.selectFrom('appointment_reminder').select(['id', 'due_at']).where('id', 'in', due).execute();
		for (const row of rows)
			await boss.send(QUEUES.reminderSend, { reminderId: row.id }, { singletonKey: row.id, startAfter: row.due_at > new Date() ? row.due_at : undefined });
	}

	await boss.work(QUEUES.reminderDispatch, { pollingIntervalSeconds: polling }, async () => {
		await dispatch();
	});
	await boss.work<{ reminderId: string }>(QUEUES.reminderSend, { pollingIntervalSeconds: polling, batchSize: 5 }, async (jobs: Job<{ reminderId: string }>[]) => {
		for (const job of jobs) {
			const outcome = await sendReminder(db, job.data.reminderId);
			log('info', 'reminder', { reminder: job.data.reminderId, outcome });
		}
	});
	await boss.schedule(QUEUES.reminderDispatch, '* * * * *', null, { tz: 'Europe/Paris' });

	// The e-mails for messages still unread after each person's delay: one dispatch at a time
	// across processes (singleton); each row is claimed in its own transaction (messaging/email.ts).
	await boss.createQueue(QUEUES.messageEmailDispatch, { policy: 'singleton', retryLimit: 0, expireInSeconds: 300 });
	await boss.work(QUEUES.messageEmailDispatch, { pollingIntervalSeconds: polling }, async () => {
		const outcomes = await dispatchUnreadEmails(db);
		if (outcomes.length) log('info', 'unread e-mails', { outcomes: outcomes.join(',') });
	});
	await boss.schedule(QUEUES.messageEmailDispatch, '* * * * *', null, { tz: 'Europe/Paris' });

	if (options.upkeep !== false) {
		await boss.createQueue(QUEUES.extendOccurrences, { policy: 'singleton', retryLimit: 3, retryDelay: 300 });
		await boss.work(QUEUES.extendOccurrences, { pollingIntervalSeconds: Math.max(polling, 10) }, async () => {
			const created = await extendOccurrences(db, horizon());
			log('info', 'occurrences extended', { created });
		});
		// Every night at 03:15 Paris time, materialise the permanences' occurrences up to the horizon.
		await boss.schedule(QUEUES.extendOccurrences, '15 3 * * *', null, { tz: 'Europe/Paris' });

		// Every night at 03:45 Paris time, messages past MESSAGE_RETENTION_DAYS go (messaging/retention.ts).
		await boss.createQueue(QUEUES.messageRetention, { policy: 'singleton', retryLimit: 3, retryDelay: 300 });
		await boss.work(QUEUES.messageRetention, { pollingIntervalSeconds: Math.max(polling, 10) }, async () => {
			await purgeExpiredMessages(db);
		});
		await boss.schedule(QUEUES.messageRetention, '45 3 * * *', null, { tz: 'Europe/Paris' });

		// Every morning at 06:00 Paris time, the coordinators' drift alerts (cockpit/alerts.ts), and once
		// at each start to catch up after a restart. Exclusive: a start while a run waits or runs adds
		// nothing; the detection itself is idempotent and serialised per network, so a second run only
		// refreshes numbers and never notifies twice.
		await boss.createQueue(QUEUES.driftAlerts, { policy: 'exclusive', retryLimit: 3, retryDelay: 300, expireInSeconds: 900 });
		await boss.work(QUEUES.driftAlerts, { pollingIntervalSeconds: Math.max(polling, 10) }, async () => {
			const outcome = await detectAlerts(db);
			log('info', 'drift alerts', { ...outcome });
		});
		await boss.schedule(QUEUES.driftAlerts, '0 6 * * *', null, { tz: 'Europe/Paris' });
		await boss.send(QUEUES.driftAlerts, null);
	}

	const dispatchNow = async () => {
		await boss.send(QUEUES.reminderDispatch, null);
	};
	const unreadEmailsNow = async () => {
		await boss.send(QUEUES.messageEmailDispatch, null);
	};
	// Catch up at once after a restart: reminders fell due while no process ran.
	await dispatchNow();

	let stopped: Promise<void> | undefined;
	return {
		boss,
		dispatchNow,
		unreadEmailsNow,
		stop: () =>
			(stopped ??= (async () => {
				// Graceful: running handlers finish (a send in progress commits its claim); close: false,
				// the pool is the app's.
				await boss.stop({ graceful: true, close: false, timeout: 20_000 });
			})())
	};
}

/**
 * The process's queue on the process-wide database (the custom server and the dev server call it
 * after prepareDatabase). JOBS=off leaves it out, e.g. for a process that only serves pages while
 * another runs the jobs.
 */
export async function startProcessJobs(): Promise<Jobs | undefined> {
	if (process.env.JOBS === 'off') return undefined;
	const { getDb, getPool } = await import('../db/index.ts');
	const pool = await getPool();
	if (!pool) return undefined;
	const started = Date.now();
	const jobs = await startJobs({ db: getDb(), pool });
	log('info', 'job queue started', { ms: Date.now() - started });
	return jobs;
}
